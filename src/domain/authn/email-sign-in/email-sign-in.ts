import { randomUUID } from 'node:crypto';
import { normalizeEmail } from '../../accounts/users.js';
import type { UserRepository } from '../../accounts/user.js';
import type { DomainEvents, RequestOrigin } from '../../events/domain-events.js';
import type { EmailTokens } from '../../mail/email-tokens.js';
import type { Mailer } from '../../mail/mail.js';
import type { SendLimiter } from '../../mail/send-limiter.js';
import type { OneTimeValues } from '../one-time-values.js';
import type { AttemptCounter } from '../sign-in-throttle.js';
import {
  EMAIL_CODE_ATTEMPTS,
  EMAIL_SIGN_IN_TTL_SECONDS,
  newSignInCode,
  type SignInCodeHasher,
} from './sign-in-codes.js';

export type EmailSignInVia = 'code' | 'link';

/**
 * One interaction's pending email sign-in, in the short-lived store under its interaction uid
 * (a new request replaces it). For an address with no active account it is stored all the
 * same, without an account or a code, so every answer looks alike and nothing can match.
 */
interface PendingSignIn {
  /** Names this request's attempt counter and binds its link (a replaced request's link stops working). */
  id: string;
  via: EmailSignInVia;
  /** As typed (trimmed), shown back on the page. */
  email: string;
  accountId?: string;
  /** SignInCodeHasher output (code requests of known addresses only). */
  codeHash?: string;
  /** Epoch ms, by the injected clock: the lifetime is checked here as well as by the store's TTL. */
  issuedAt: number;
}

/** What the link's token points at (EmailTokens payload). */
interface LinkPayload {
  uid: string;
  id: string;
  /** Where the request came from, shown on the confirm page so a person can spot a request they did not make. */
  ip?: string;
  at: number;
}

export type RequestResult = { sent: true } | { sent: false; retryAfterSeconds: number };

export type CodeCheck =
  | { ok: true; accountId: string }
  | {
      ok: false;
      reason: 'challenge_expired' | 'invalid_code' | 'code_replayed';
      accountId?: string;
      attemptsLeft: number;
    };

export type LinkState =
  | { state: 'none' }
  | { state: 'waiting' }
  | { state: 'expired'; accountId?: string }
  | { state: 'approved'; accountId: string };

export interface EmailSignInDeps {
  /** Short-lived, shared by instances (Redis, or SQL when embedded). */
  store: OneTimeValues;
  /** Atomic counters shared by instances: attempts per code. */
  attempts: AttemptCounter;
  /** Link tokens (hashed, single use, durable SQL). */
  tokens: EmailTokens;
  mailer: Mailer;
  sendLimiter: SendLimiter;
  events: DomainEvents;
  users: Pick<UserRepository, 'findByEmail'>;
  hasher: SignInCodeHasher;
  /** EMAIL_SIGN_IN, EMAIL_SIGN_IN_LINK. */
  offer: { code: boolean; link: boolean };
  /** Epoch ms; tests move it to expire a code. @default Date.now */
  clock?: () => number;
}

const EMAIL_MAX = 320;
const pendingKey = (uid: string) => `email-sign-in:${uid}`;
const approvalKey = (uid: string, id: string) => `email-sign-in-approved:${uid}:${id}`;

/**
 * Sign-in by email (EMAIL_SIGN_IN / EMAIL_SIGN_IN_LINK): a 6-digit code typed on the page that
 * asked, or a link opened anywhere that approves the sign-in of the browser that asked (which
 * polls). Both prove the person can read the mailbox; neither hands anything to the device
 * that opens the email. Single use by the store's atomic take; attempts by an atomic counter.
 */
export class EmailSignIn {
  readonly offer: { code: boolean; link: boolean };
  readonly #clock: () => number;

  constructor(private readonly deps: EmailSignInDeps) {
    this.offer = deps.offer;
    this.#clock = deps.clock ?? Date.now;
  }

  /** "Email me a sign-in code/link": the same outcome for every address; mail only to an active account. */
  async request(uid: string, via: EmailSignInVia, typedEmail: string, origin: RequestOrigin): Promise<RequestResult> {
    const email = normalizeEmail(typedEmail).slice(0, EMAIL_MAX);
    const kind = via === 'code' ? 'sign_in_code' : 'sign_in_link';
    const user = await this.deps.users.findByEmail(email);
    const account = user && !user.disabled ? user : undefined;
    const verdict = await this.deps.sendLimiter.consume(kind, email, origin.ip ?? '');
    if (!verdict.allowed) {
      this.deps.events.emit(
        { type: 'email.send_throttled', kind, accountId: account?.id, retryAfterSeconds: verdict.retryAfterSeconds },
        origin,
      );
      return { sent: false, retryAfterSeconds: verdict.retryAfterSeconds };
    }
    const now = this.#clock();
    const pending: PendingSignIn = { id: randomUUID(), via, email, issuedAt: now };
    const code = account && via === 'code' ? newSignInCode() : undefined;
    if (account) pending.accountId = account.id;
    if (code) pending.codeHash = this.deps.hasher.hash(uid, email, code);
    await this.deps.store.put(pendingKey(uid), pending, EMAIL_SIGN_IN_TTL_SECONDS);
    if (!account) return { sent: true };
    const minutes = EMAIL_SIGN_IN_TTL_SECONDS / 60;
    if (code) {
      await this.deps.mailer.send(account.email, 'sign-in-code', { code, minutes });
    } else {
      const payload: LinkPayload = { uid, id: pending.id, at: now, ...(origin.ip ? { ip: origin.ip } : {}) };
      const token = await this.deps.tokens.issue('sign_in_link', payload, EMAIL_SIGN_IN_TTL_SECONDS);
      const link = this.deps.mailer.link(`/sign-in-link?token=${encodeURIComponent(token)}`);
      await this.deps.mailer.send(account.email, 'sign-in-link', { link, minutes });
    }
    return { sent: true };
  }

  /** The request waiting on this interaction (for its page), if any and still alive. */
  async pending(uid: string): Promise<{ via: EmailSignInVia; email: string } | undefined> {
    const pending = await this.deps.store.peek<PendingSignIn>(pendingKey(uid));
    if (!pending || this.expired(pending)) return undefined;
    return { via: pending.via, email: pending.email };
  }

  /**
   * Checks a typed code. Every try is counted first (one atomic increment shared by instances),
   * so parallel guesses cannot exceed the limit; the last wrong try removes the code. A right
   * code is taken from the store in one step: it works once.
   */
  async verifyCode(uid: string, typed: string): Promise<CodeCheck> {
    const pending = await this.deps.store.peek<PendingSignIn>(pendingKey(uid));
    if (pending?.via !== 'code' || this.expired(pending))
      return { ok: false, reason: 'challenge_expired', attemptsLeft: 0 };
    const { accountId } = pending;
    const windowStart = Math.floor(pending.issuedAt / 1000);
    const tries = await this.deps.attempts.hit(`email-code:${pending.id}`, windowStart, EMAIL_SIGN_IN_TTL_SECONDS);
    const attemptsLeft = Math.max(0, EMAIL_CODE_ATTEMPTS - tries);
    if (tries > EMAIL_CODE_ATTEMPTS) {
      await this.discard(uid, pending.id);
      return { ok: false, reason: 'challenge_expired', accountId, attemptsLeft: 0 };
    }
    if (!accountId || !this.deps.hasher.matches(pending.codeHash, uid, pending.email, typed)) {
      if (attemptsLeft === 0) await this.discard(uid, pending.id);
      return { ok: false, reason: 'invalid_code', accountId, attemptsLeft };
    }
    const taken = await this.deps.store.take<PendingSignIn>(pendingKey(uid));
    if (taken?.id !== pending.id) return { ok: false, reason: 'code_replayed', accountId, attemptsLeft };
    return { ok: true, accountId };
  }

  /** The asking browser's poll: has the link been opened (and confirmed) anywhere? Approval is taken once. */
  async linkState(uid: string): Promise<LinkState> {
    const pending = await this.deps.store.peek<PendingSignIn>(pendingKey(uid));
    if (pending?.via !== 'link') return { state: 'none' };
    if (this.expired(pending)) {
      await this.discard(uid, pending.id);
      return { state: 'expired', accountId: pending.accountId };
    }
    if (!pending.accountId) return { state: 'waiting' };
    if (!(await this.deps.store.take(approvalKey(uid, pending.id)))) return { state: 'waiting' };
    const taken = await this.deps.store.take<PendingSignIn>(pendingKey(uid));
    if (taken?.id !== pending.id) return { state: 'none' };
    return { state: 'approved', accountId: pending.accountId };
  }

  /** The link's confirm page (GET): whether it still works, without using it (mail scanners fetch links). */
  async peekLink(token: string): Promise<{ requestedAt: Date; ip?: string } | undefined> {
    const payload = await this.deps.tokens.peek<LinkPayload>('sign_in_link', token);
    if (!payload) return undefined;
    return { requestedAt: new Date(payload.at), ...(payload.ip ? { ip: payload.ip } : {}) };
  }

  /**
   * The link confirmed (POST): the token is used up and the asking interaction's request is
   * marked approved in shared storage. Nothing is returned that could sign this browser in.
   */
  async approveLink(token: string): Promise<boolean> {
    const payload = await this.deps.tokens.redeem<LinkPayload>('sign_in_link', token);
    if (!payload || this.#clock() - payload.at > EMAIL_SIGN_IN_TTL_SECONDS * 1000) return false;
    await this.deps.store.put(approvalKey(payload.uid, payload.id), { at: this.#clock() }, EMAIL_SIGN_IN_TTL_SECONDS);
    return true;
  }

  private expired(pending: PendingSignIn): boolean {
    return this.#clock() - pending.issuedAt > EMAIL_SIGN_IN_TTL_SECONDS * 1000;
  }

  /** Removes the request unless a newer one replaced it meanwhile (then that one is put back). */
  private async discard(uid: string, id: string): Promise<void> {
    const taken = await this.deps.store.take<PendingSignIn>(pendingKey(uid));
    if (taken && taken.id !== id) {
      const left = EMAIL_SIGN_IN_TTL_SECONDS - Math.floor((this.#clock() - taken.issuedAt) / 1000);
      if (left > 0) await this.deps.store.put(pendingKey(uid), taken, left);
    }
  }
}
