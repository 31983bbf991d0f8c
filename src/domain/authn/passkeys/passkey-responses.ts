import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import { z } from 'zod';

/**
 * The browser's answer arrives as JSON in one form field. Its shape is checked here, at the
 * edge of the domain, so the verifier only ever sees well-formed input; anything else is a
 * failed attempt, never an exception.
 */

/** A WebAuthn response is a few hundred bytes to a few KiB (attestation certificates); the form limit is 16 KiB. */
export const RESPONSE_MAX_CHARS = 12_000;

const b64url = z
  .string()
  .regex(/^[A-Za-z0-9_-]*$/)
  .max(RESPONSE_MAX_CHARS);
const common = {
  id: b64url.min(1),
  rawId: b64url.min(1),
  type: z.literal('public-key'),
  authenticatorAttachment: z.enum(['platform', 'cross-platform']).optional(),
  clientExtensionResults: z.record(z.string(), z.unknown()).default({}),
};

const authentication = z.object({
  ...common,
  response: z.object({
    clientDataJSON: b64url,
    authenticatorData: b64url,
    signature: b64url,
    userHandle: b64url.optional(),
  }),
});

const registration = z.object({
  ...common,
  response: z.object({
    clientDataJSON: b64url,
    attestationObject: b64url,
    authenticatorData: b64url.optional(),
    transports: z.array(z.string().max(32)).max(10).optional(),
    publicKeyAlgorithm: z.number().int().optional(),
    publicKey: b64url.optional(),
  }),
});

function parse<T>(schema: z.ZodType<T>, json: string): T | undefined {
  if (!json || json.length > RESPONSE_MAX_CHARS) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return undefined;
  }
  const parsed = schema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}

export const parseAuthenticationResponse = (json: string) =>
  parse(authentication, json) as AuthenticationResponseJSON | undefined;

export const parseRegistrationResponse = (json: string) =>
  parse(registration, json) as RegistrationResponseJSON | undefined;
