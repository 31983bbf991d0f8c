import { generateSecret, generateURI, verify } from 'otplib';

/**
 * RFC 6238 as every authenticator app implements it: HMAC-SHA-1, 6 digits, 30-second steps
 * (the otpauth URI leaves them out because apps assume them). Other choices are not shown by
 * the common apps, so they would only produce codes that never match.
 */
export const TOTP_PERIOD_SECONDS = 30;
export const TOTP_DIGITS = 6;
/**
 * One step either side of now (RFC 6238 §5.2 allows a transmission delay): a phone clock up
 * to ~30 s off, or a code typed as it changes, still works. otplib counts tolerance in seconds.
 */
export const TOTP_TOLERANCE_STEPS = 1;
/** 20 bytes = 160 bits, RFC 4226 §4's recommended secret length (otplib's default too). */
const SECRET_BYTES = 20;

const CODE = /^\d{6}$/;

/** A new shared secret, base32 as the apps take it. */
export const newTotpSecret = (): string => generateSecret({ length: SECRET_BYTES });

/** What the person typed, without the spaces some apps show between the digits. */
export const normaliseTotpCode = (typed: string): string => typed.replace(/\s+/g, '');

export const isTotpCodeShaped = (code: string): boolean => CODE.test(code);

/** The time step a moment falls in (epoch milliseconds). */
export const totpStepAt = (nowMs: number): number => Math.floor(nowMs / 1000 / TOTP_PERIOD_SECONDS);

/**
 * The time step `code` belongs to when it is one of the accepted steps around `nowMs` (epoch
 * milliseconds), else undefined. The comparison is otplib's constant-time one. Whether this
 * step was used already is the caller's conditional write (CredentialRepository.advanceCounter).
 */
export async function verifyTotp(secret: string, code: string, nowMs: number): Promise<number | undefined> {
  if (!isTotpCodeShaped(code)) return undefined;
  const result = await verify({
    secret,
    token: code,
    epoch: Math.floor(nowMs / 1000),
    period: TOTP_PERIOD_SECONDS,
    digits: TOTP_DIGITS,
    algorithm: 'sha1',
    epochTolerance: TOTP_TOLERANCE_STEPS * TOTP_PERIOD_SECONDS,
  });
  return result.valid && 'timeStep' in result ? result.timeStep : undefined;
}

/** The otpauth URI the app reads from the QR code: the issuer and account it lists the code under. */
export const otpauthUri = (issuer: string, accountName: string, secret: string): string =>
  generateURI({ issuer, label: accountName, secret });

/** The setup key as people read and type it: groups of four (apps ignore the spaces). */
export const formatSetupKey = (secret: string): string => secret.match(/.{1,4}/g)?.join(' ') ?? secret;

/** Sealing contexts (AES-GCM associated data): a sealed secret cannot be moved to another row or setup. */
export const totpSecretContext = (credentialId: string) => `totp:${credentialId}`;
export const pendingTotpContext = (accountId: string, binding: string) => `totp-setup:${accountId}:${binding}`;
