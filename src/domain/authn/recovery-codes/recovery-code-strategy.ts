import { z } from 'zod';
import type { DomainEvents } from '../../events/domain-events.js';
import type { Proof } from '../sign-in-state.js';
import type { AuthenticationStrategy, Completion, StrategyContext } from '../strategy.js';
import type { RecoveryCodes } from './recovery-codes.js';

/** Longer input is not a code: refused without being looked at. */
const INPUT_MAX = 64;

const input = z.object({ code: z.string().max(INPUT_MAX).default('') });

/**
 * RFC 8176 has no value for recovery codes. `otp` is the closest true one: each code is a
 * one-time password, issued ahead of time instead of computed; the saved list is something the
 * person has (possession), like the phone it stands in for. Relying parties that need to tell
 * them apart see `recovery_code` in the audit log, not in the token.
 */
export const RECOVERY_CODE_PROOF: Proof = { amr: ['otp'], factors: ['possession'], phishingResistant: false };

/**
 * A saved recovery code instead of the usual second factor (a lost phone). Each code works once:
 * the repository marks it used in one conditional write, so two instances given the same code
 * at once let only one through. Every use is an event with the count left (audit, logs).
 */
export class RecoveryCodeStrategy implements AuthenticationStrategy<z.infer<typeof input>> {
  readonly id = 'recovery_code' as const;
  readonly stage = 'second' as const;
  readonly input = input;

  constructor(
    private readonly codes: RecoveryCodes,
    private readonly events: DomainEvents,
  ) {}

  async available(ctx: StrategyContext): Promise<boolean> {
    return ctx.state.accountId !== undefined && (await this.codes.remaining(ctx.state.accountId)) > 0;
  }

  async view(): Promise<Record<string, unknown>> {
    return {};
  }

  async complete(form: z.infer<typeof input>, ctx: StrategyContext): Promise<Completion> {
    const accountId = ctx.state.accountId;
    if (!form.code.trim())
      return {
        kind: 'failed',
        reason: 'missing_credentials',
        status: 400,
        message: 'Enter one of your recovery codes.',
        accountId,
      };
    if (!accountId || !(await this.codes.consume(accountId, form.code)))
      return {
        kind: 'failed',
        reason: 'invalid_code',
        status: 401,
        message: 'That recovery code is not right, or it was already used. Each code works once.',
        accountId,
      };
    const remaining = await this.codes.remaining(accountId);
    this.events.emit({ type: 'recovery_code.used', accountId, remaining }, ctx.origin);
    return { kind: 'authenticated', accountId, proof: RECOVERY_CODE_PROOF };
  }
}
