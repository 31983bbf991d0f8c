import { z } from 'zod';
import type { DomainEvents } from '../../events/domain-events.js';
import type { Credential, CredentialRepository } from '../credentials.js';
import type { OneTimeValues } from '../one-time-values.js';
import type { AuthenticationStrategy, Completion, FailureReason, StrategyContext } from '../strategy.js';
import { passkeyProof } from './passkey-proof.js';
import { parseAuthenticationResponse, RESPONSE_MAX_CHARS } from './passkey-responses.js';
import {
  CHALLENGE_TTL_SECONDS,
  PASSKEY_SCRIPTS,
  type PasskeyRelyingParty,
  signInChallengeKey,
} from './relying-party.js';
import { descriptors, userHandleOf, webAuthnCredential } from './stored-passkey.js';
import { toBase64Url, webAuthnLibrary } from './webauthn-library.js';

const input = z.object({ credential: z.string().max(RESPONSE_MAX_CHARS).default('') });
type Input = z.infer<typeof input>;

/** The accounts a passkey may sign in to: only an active one (the password strategy refuses a disabled one too). */
export interface PasskeyAccounts {
  get(id: string): Promise<{ disabled: boolean }>;
}

/** What was issued with the page; only the challenge is needed back. */
interface IssuedChallenge {
  challenge: string;
}

const failed = (reason: FailureReason, status: 400 | 401, message: string, accountId?: string): Completion => ({
  kind: 'failed',
  reason,
  status,
  message,
  ...(accountId ? { accountId } : {}),
});

const EXPIRED = 'The passkey request expired. Try again.';
const NOT_VERIFIED = 'Your passkey could not be verified. Try again, or sign in another way.';

/**
 * A passkey (WebAuthn), in two roles: passwordless sign-in with a discoverable credential (the
 * browser offers the person's passkeys for this site; user verification is required, so the
 * passkey alone is two factors), or a second factor after a password (only the account's own
 * passkeys are asked for). The challenge is issued with the page (`view`), bound to the
 * interaction, and taken once: a response answers one page, one time.
 */
/** Passwordless, or the step that must make the sign-in phishing-resistant: the person must be verified. */
const mustVerify = (ctx: StrategyContext) => !ctx.state.accountId || ctx.requiredLevel === 2;

export class PasskeyStrategy implements AuthenticationStrategy<Input> {
  readonly id = 'passkey' as const;
  readonly stage = 'first_or_second' as const;
  readonly input = input;

  constructor(
    private readonly rp: PasskeyRelyingParty,
    private readonly credentials: CredentialRepository,
    private readonly challenges: OneTimeValues,
    private readonly accounts: PasskeyAccounts,
    private readonly events: DomainEvents,
  ) {}

  /** Always as the first step; as a second one when the account has a passkey. */
  async available(ctx: StrategyContext): Promise<boolean> {
    const accountId = ctx.state.accountId;
    return !accountId || (await this.credentials.listFor(accountId, 'passkey')).length > 0;
  }

  async view(ctx: StrategyContext): Promise<Record<string, unknown>> {
    const accountId = ctx.state.accountId;
    const options = await (await webAuthnLibrary()).generateAuthenticationOptions({
      rpID: this.rp.rpId,
      // Passwordless: any passkey of this site (discoverable), and the person must be verified.
      allowCredentials: accountId ? descriptors(await this.credentials.listFor(accountId, 'passkey')) : [],
      userVerification: mustVerify(ctx) ? 'required' : 'preferred',
    });
    const issued: IssuedChallenge = { challenge: options.challenge };
    await this.challenges.put(signInChallengeKey(ctx.interactionUid), issued, CHALLENGE_TTL_SECONDS);
    return { optionsJson: JSON.stringify(options), scripts: PASSKEY_SCRIPTS };
  }

  async complete(form: Input, ctx: StrategyContext): Promise<Completion> {
    // Taken before anything else: a failed answer uses the challenge up as well.
    const issued = await this.challenges.take<IssuedChallenge>(signInChallengeKey(ctx.interactionUid));
    if (!issued) return failed('challenge_expired', 400, EXPIRED);
    const response = parseAuthenticationResponse(form.credential);
    if (!response) return failed('invalid_passkey', 400, NOT_VERIFIED);

    const signedIn = ctx.state.accountId;
    const stored = await this.credentials.findByExternalId('passkey', response.id);
    if (!stored || (signedIn && stored.userId !== signedIn))
      return failed('unknown_passkey', 401, 'This passkey is not registered for an account here.', signedIn);
    const handle = response.response.userHandle;
    if (handle && handle !== toBase64Url(userHandleOf(stored.userId)))
      return failed('invalid_passkey', 401, NOT_VERIFIED, stored.userId);
    if (!signedIn && (await this.accounts.get(stored.userId)).disabled)
      return failed('disabled', 401, NOT_VERIFIED, stored.userId);

    const info = await this.verify(response, issued, stored);
    if (!info) return failed('invalid_passkey', 401, NOT_VERIFIED, stored.userId);
    if (mustVerify(ctx) && !info.userVerified)
      return failed('user_not_verified', 401, 'Your device did not confirm it is you. Try again.', stored.userId);
    if (!(await this.credentials.advanceCounter(stored.id, info.newCounter))) {
      this.events.emit(
        { type: 'passkey.counter_regression', accountId: stored.userId, credentialId: stored.id },
        ctx.origin,
      );
      return failed('counter_regression', 401, NOT_VERIFIED, stored.userId);
    }
    return {
      kind: 'authenticated',
      accountId: stored.userId,
      credentialId: stored.id,
      proof: passkeyProof({ backedUp: info.credentialBackedUp, userVerified: info.userVerified }),
    };
  }

  /** The library's checks (challenge, origin, RP id, signature, presence); undefined when any fails. */
  private async verify(
    response: NonNullable<ReturnType<typeof parseAuthenticationResponse>>,
    issued: IssuedChallenge,
    stored: Credential,
  ) {
    try {
      const result = await (await webAuthnLibrary()).verifyAuthenticationResponse({
        response,
        expectedChallenge: issued.challenge,
        expectedOrigin: [...this.rp.origins],
        expectedRPID: this.rp.rpId,
        credential: webAuthnCredential(stored),
        // Checked above by role (required only when the passkey is the whole sign-in), for its own reason.
        requireUserVerification: false,
      });
      return result.verified ? result.authenticationInfo : undefined;
    } catch {
      return undefined;
    }
  }
}
