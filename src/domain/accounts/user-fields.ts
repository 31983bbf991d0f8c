import { z } from 'zod';

/**
 * The rules for a user's fields, shared by every way an account is made or changed (the admin
 * API, self-service registration), so a name or email one path refuses cannot come in through
 * the other. The password policy (length, blocklist: password-policy.ts) is the domain's own check in
 * `Users`, applied to both.
 */

/** Longest email (RFC 5321: 64 + 1 + 255). */
export const EMAIL_MAX_LENGTH = 320;
/** Longest display name: enough for any real name, short enough for every page and token. */
export const NAME_MAX_LENGTH = 200;
/** Longest password accepted before hashing (the policy's maximum is lower; this bounds the work). */
export const PASSWORD_INPUT_MAX_LENGTH = 4096;

export const emailField = z
  .string()
  .trim()
  .max(EMAIL_MAX_LENGTH)
  .regex(/^[^\s@]+@[^\s@]+$/, 'must be an email address')
  .describe('Email address; unique, compared case-insensitively.');
export const nameField = z
  .string()
  .max(NAME_MAX_LENGTH)
  .nullable()
  .describe(`Display name (at most ${NAME_MAX_LENGTH} characters).`);
export const passwordField = z
  .string()
  .max(PASSWORD_INPUT_MAX_LENGTH)
  .describe(
    'Password (write-only); PASSWORD_MIN_LENGTH–PASSWORD_MAX_LENGTH characters, not common or breached, ' +
      'not containing the service name or the user’s email or name, not repetitive or sequential: ' +
      '400 invalid_password names the rule that failed.',
  );

/** A self-service registration form. */
export const registrationSchema = z.object({
  email: emailField,
  name: z
    .string()
    .trim()
    .max(NAME_MAX_LENGTH)
    .optional()
    .transform((v) => v || null),
  password: passwordField,
});
