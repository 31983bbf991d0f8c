import { z } from 'zod';
import type { Users } from '../../accounts/users.js';
import type { Proof } from '../sign-in-state.js';
import type { AuthenticationStrategy, BeginResult, Completion, StrategyContext } from '../strategy.js';
import type { EmailSignIn, EmailSignInVia } from './email-sign-in.js';
import { EMAIL_SIGN_IN_TTL_SECONDS } from './sign-in-codes.js';

/**
 * The amr value of a sign-in by emailed code or link. Not RFC 8176's `otp`, which names a
 * one-time password from a device or app the person holds; an emailed code proves access to a
 * mailbox (reachable from anywhere with its own credentials), not possession of a device.
 */
export const EMAIL_AMR = 'email';

/**
 * One factor, counted as knowledge: NIST SP 800-63B-4 rules out email for proving possession
 * (an inbox is not a device), and what it does prove is that the person can get into the
 * mailbox, i.e. knows its credentials. So it stands in for the password: alone it is a
 * one-factor sign-in, and an authenticator app or passkey after it makes two kinds.
 */
export const EMAIL_PROOF: Proof = { amr: [EMAIL_AMR], factors: ['knowledge'], phishingResistant: false };

const input = z.object({ code: z.string().max(64).default('') });

const WRONG = 'That code is not right. Check the email and try again.';
const DEAD = 'This code no longer works. Ask for a new one.';
/** How often the waiting page asks whether the link was opened (meta refresh; works without JavaScript). */
export const LINK_POLL_SECONDS = 4;

/** Email sign-in code and link (`email_code`): a first factor for an account whose mailbox the person can read. */
export class EmailCodeStrategy implements AuthenticationStrategy<z.infer<typeof input>> {
  readonly id = 'email_code' as const;
  readonly stage = 'first' as const;
  readonly input = input;

  constructor(
    private readonly emailSignIn: EmailSignIn,
    private readonly users: Users,
  ) {}

  async available(ctx: StrategyContext): Promise<boolean> {
    return !ctx.state.accountId && (this.emailSignIn.offer.code || this.emailSignIn.offer.link);
  }

  /** The buttons on the sign-in page; while a request is pending, its own page (`page`). */
  async view(ctx: StrategyContext): Promise<Record<string, unknown>> {
    const { offer } = this.emailSignIn;
    const pending = await this.emailSignIn.pending(ctx.interactionUid);
    const base = { offerCode: offer.code, offerLink: offer.link };
    if (!pending) return base;
    const again = `/interaction/${ctx.interactionUid}?method=email_code`;
    return {
      ...base,
      page: 'email-sign-in',
      title: 'Check your email',
      sentTo: pending.email,
      via: pending.via,
      isCode: pending.via === 'code',
      isLink: pending.via === 'link',
      minutes: EMAIL_SIGN_IN_TTL_SECONDS / 60,
      ...(pending.via === 'link' ? { refresh: `${LINK_POLL_SECONDS}; url=${again}`, checkHref: again } : {}),
    };
  }

  /** "Email me a sign-in code/link" with the Email field: the same answer whether or not the account exists. */
  async begin(ctx: StrategyContext, form: Record<string, string> = {}): Promise<BeginResult> {
    const via: EmailSignInVia | undefined = form.via === 'link' ? 'link' : form.via === 'code' ? 'code' : undefined;
    const email = String(form.email ?? '').trim();
    if (!via || !this.emailSignIn.offer[via])
      return { kind: 'failed', reason: 'missing_credentials', status: 400, message: 'Choose how to sign in.' };
    if (!email || email.length > 320 || !/^[^\s@]+@[^\s@]+$/.test(email))
      return {
        kind: 'failed',
        reason: 'missing_credentials',
        status: 400,
        message: 'Enter your email address, then choose to get an email.',
        values: { email: email.slice(0, 320) },
      };
    const sent = await this.emailSignIn.request(ctx.interactionUid, via, email, ctx.origin);
    if (!sent.sent) {
      const minutes = Math.ceil(sent.retryAfterSeconds / 60);
      return {
        kind: 'failed',
        reason: 'rate_limited',
        status: 429,
        message: `Too many emails asked for. Try again in ${minutes} minute${minutes === 1 ? '' : 's'}.`,
        retryAfterSeconds: sent.retryAfterSeconds,
        values: { email },
      };
    }
    return { kind: 'redirect', location: `/interaction/${ctx.interactionUid}?method=email_code` };
  }

  async complete(form: z.infer<typeof input>, ctx: StrategyContext): Promise<Completion> {
    const check = await this.emailSignIn.verifyCode(ctx.interactionUid, form.code);
    if (!check.ok) {
      const dead = check.reason !== 'invalid_code' || check.attemptsLeft === 0;
      return {
        kind: 'failed',
        reason: check.reason,
        status: 401,
        message: dead ? DEAD : WRONG,
        accountId: check.accountId,
      };
    }
    return this.signedIn(check.accountId);
  }

  /** The waiting page's poll: the link was confirmed on some device, so this browser is signed in. */
  async poll(ctx: StrategyContext): Promise<Completion | undefined> {
    const link = await this.emailSignIn.linkState(ctx.interactionUid);
    if (link.state === 'approved') return this.signedIn(link.accountId);
    if (link.state === 'expired')
      return {
        kind: 'failed',
        reason: 'challenge_expired',
        status: 400,
        message: 'The sign-in link expired. Ask for a new one.',
        accountId: link.accountId,
      };
    return undefined;
  }

  /** The account may have been disabled since the email went out. */
  private async signedIn(accountId: string): Promise<Completion> {
    if (!(await this.users.findActive(accountId)))
      return { kind: 'failed', reason: 'disabled', status: 401, message: DEAD, accountId };
    return { kind: 'authenticated', accountId, proof: EMAIL_PROOF };
  }
}
