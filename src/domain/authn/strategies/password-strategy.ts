import { z } from 'zod';
import type { Users } from '../../accounts/users.js';
import type { AccountLockout, LockoutVerdict } from '../account-lockout.js';
import type { AuthenticationStrategy, Completion, StrategyContext } from '../strategy.js';

/** Longest email (RFC 5321 path) and password we look at; longer input fails like a wrong password. */
const EMAIL_MAX = 320;
const PASSWORD_MAX = 4096;

const input = z.object({
  email: z.string().default(''),
  password: z.string().default(''),
});

/** One message for every failure: whether the account exists is never revealed. */
const INCORRECT = 'Email or password is incorrect.';

/** Locked or slowed down: the same words for an account and an unknown email. */
function refused(verdict: Extract<LockoutVerdict, { allowed: false }>, email: string): Completion {
  const s = verdict.retryAfterSeconds;
  const wait = s < 60 ? `${s} second${s === 1 ? '' : 's'}` : `${Math.ceil(s / 60)} minutes`;
  return {
    kind: 'failed',
    reason: 'rate_limited',
    status: 429,
    retryAfterSeconds: s,
    message: verdict.hardLocked
      ? 'Too many attempts: password sign-in is locked for this email. Reset your password to unlock it, ' +
        'or sign in another way.'
      : `Too many attempts. Try again in ${wait}.`,
    values: { email },
  };
}

/** Identify and authenticate with email and password (amr `pwd`, a knowledge factor). */
export class PasswordStrategy implements AuthenticationStrategy<z.infer<typeof input>> {
  readonly id = 'password' as const;
  readonly stage = 'first' as const;
  readonly input = input;

  /** `lockout`: per-account slow-down and lock (no limit when omitted). */
  constructor(
    private readonly users: Users,
    private readonly lockout?: AccountLockout,
  ) {}

  async available(ctx: StrategyContext): Promise<boolean> {
    return !ctx.state.accountId;
  }

  async view(): Promise<Record<string, unknown>> {
    return {};
  }

  async complete(form: z.infer<typeof input>): Promise<Completion> {
    const email = form.email.trim();
    const { password } = form;
    if (!email || !password)
      return {
        kind: 'failed',
        reason: 'missing_credentials',
        status: 400,
        message: 'Enter your email and password.',
        values: { email: email.slice(0, EMAIL_MAX) },
      };
    if (email.length > EMAIL_MAX || password.length > PASSWORD_MAX)
      return {
        kind: 'failed',
        reason: 'input_too_long',
        status: 401,
        message: INCORRECT,
        values: { email: email.slice(0, EMAIL_MAX) },
      };
    // Before any hashing: an attempt inside a wait costs one conditional upsert and nothing else.
    const attempt = await this.lockout?.attempt(email);
    if (attempt && !attempt.allowed) return refused(attempt, email);
    const outcome = await this.users.authenticate(email, password);
    if (!outcome.ok) {
      // Every failure counts, a disabled account's too: the count must not hint at the password.
      if (attempt) await this.lockout?.failed(attempt, outcome.userId);
      return {
        kind: 'failed',
        reason: outcome.reason,
        status: 401,
        message: INCORRECT,
        accountId: outcome.userId,
        values: { email },
      };
    }
    await this.lockout?.succeeded(email);
    return {
      kind: 'authenticated',
      accountId: outcome.user.id,
      proof: { amr: ['pwd'], factors: ['knowledge'], phishingResistant: false },
    };
  }
}
