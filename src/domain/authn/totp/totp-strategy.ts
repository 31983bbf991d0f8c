import { z } from 'zod';
import type { KeyEncryption } from '../../keys/key-encryption.js';
import type { CredentialRepository } from '../credentials.js';
import type { Proof } from '../sign-in-state.js';
import type { AuthenticationStrategy, Completion, StrategyContext } from '../strategy.js';
import { isTotpCodeShaped, normaliseTotpCode, totpSecretContext, verifyTotp } from './totp-codes.js';

/** Longer input is not a code: it is refused without being looked at. */
const INPUT_MAX = 64;

const input = z.object({
  code: z
    .string()
    .max(INPUT_MAX)
    .default('')
    .transform((s) => normaliseTotpCode(s)),
});

/** RFC 8176 `otp`; the phone holding the secret is something the person has. */
export const TOTP_PROOF: Proof = { amr: ['otp'], factors: ['possession'], phishingResistant: false };

const WRONG = 'That code is not right. Enter the 6-digit code your authenticator app shows now.';
const REPLAYED = 'That code was already used. Wait for the next code in your app and enter it.';

/**
 * A code from an authenticator app, as a second factor (RFC 6238; see totp-codes.ts). Each time
 * step is accepted once per account: the credential's counter holds the last accepted step and
 * moves forward only in one conditional write, so a code seen over a shoulder, or submitted to
 * two instances at once, works at most once, and an older code after a newer one never does.
 * `clock` returns epoch milliseconds.
 */
export class TotpStrategy implements AuthenticationStrategy<z.infer<typeof input>> {
  readonly id = 'totp' as const;
  readonly stage = 'second' as const;
  readonly input = input;

  constructor(
    private readonly credentials: CredentialRepository,
    private readonly kek: KeyEncryption,
    private readonly clock: () => number = Date.now,
  ) {}

  private async credentialOf(accountId: string | undefined) {
    if (!accountId) return undefined;
    return (await this.credentials.listFor(accountId, 'totp'))[0];
  }

  async available(ctx: StrategyContext): Promise<boolean> {
    return (await this.credentialOf(ctx.state.accountId)) !== undefined;
  }

  async view(): Promise<Record<string, unknown>> {
    return {};
  }

  async complete(form: z.infer<typeof input>, ctx: StrategyContext): Promise<Completion> {
    const accountId = ctx.state.accountId;
    if (!form.code)
      return {
        kind: 'failed',
        reason: 'missing_credentials',
        status: 400,
        message: 'Enter the 6-digit code from your authenticator app.',
        accountId,
      };
    const credential = await this.credentialOf(accountId);
    const failed = (reason: 'invalid_code' | 'code_replayed', message: string): Completion => ({
      kind: 'failed',
      reason,
      status: 401,
      message,
      accountId,
    });
    if (!accountId || !credential?.secretSealed || !isTotpCodeShaped(form.code)) return failed('invalid_code', WRONG);
    const secret = this.kek.decrypt(credential.secretSealed, totpSecretContext(credential.id));
    const step = await verifyTotp(secret, form.code, this.clock());
    if (step === undefined) return failed('invalid_code', WRONG);
    if (!(await this.credentials.advanceCounter(credential.id, step))) return failed('code_replayed', REPLAYED);
    return { kind: 'authenticated', accountId, proof: TOTP_PROOF, credentialId: credential.id };
  }
}
