import type { z } from 'zod';
import type { RequestOrigin } from '../events/domain-events.js';
import type { PendingLink, Proof, SignInState } from './sign-in-state.js';
import type { StrategyId } from './strategy-id.js';

export type { StrategyId };

/**
 * Every way to sign in is one strategy behind this interface (Kratos' login strategies,
 * openauth's providers): the generic controller (http/public/interactions/sign-in-routes.ts)
 * parses the input with the strategy's schema, asks the authentication policy what is still
 * needed, and renders the strategy's view model. A strategy knows nothing of HTTP.
 *
 * Ids: `password`, `totp`, `recovery_code`, `passkey`, `email_code`; `oidc:<slug>`, `oauth2:<slug>` (one
 * per enabled connection, FederationStrategy, looked up when named), `saml:<slug>`.
 */

/** Where in a sign-in a strategy can be used. */
export type StrategyStage = 'first' | 'second' | 'first_or_second';

export interface StrategyContext {
  /** The interaction this sign-in belongs to: challenges and attempts are bound to it. */
  interactionUid: string;
  clientId: string;
  /** What earlier steps established (the account after the first factor). */
  state: SignInState;
  /**
   * The assurance the policy requires of this sign-in (0 one factor, 1 MFA, 2 phishing-resistant),
   * when known: a passkey asked for as the only way to reach 2 must verify the person.
   */
  requiredLevel?: 0 | 1 | 2;
  origin: RequestOrigin;
}

export type FailureReason =
  | 'missing_credentials'
  | 'input_too_long'
  | 'unknown_email'
  | 'wrong_password'
  | 'no_password'
  | 'disabled'
  | 'invalid_code'
  | 'code_replayed'
  | 'invalid_passkey'
  | 'unknown_passkey'
  | 'counter_regression'
  | 'challenge_expired'
  | 'user_not_verified'
  | 'rate_limited'
  /** Federation: the upstream sign-in failed (the reason is in the `federation.failed` event). */
  | 'federation_failed'
  /** Federation: a local account has the upstream's email; signing in to it links the identity. */
  | 'link_required';

export type Completion =
  /** The strategy proved who this is (or, as a second factor, that it is still them). */
  | { kind: 'authenticated'; accountId: string; proof: Proof; credentialId?: string }
  /**
   * Nothing proved. `message` is what the person reads (never whether an account exists);
   * `accountId` is for the audit log only; `values` refill the form (never secrets).
   */
  | {
      kind: 'failed';
      reason: FailureReason;
      status: 400 | 401 | 429;
      message: string;
      accountId?: string;
      retryAfterSeconds?: number;
      values?: Record<string, string>;
      /** A federated identity to link once the person signs in to the account with its email. */
      pendingLink?: PendingLink;
    }
  /** Continue elsewhere first (an upstream identity provider). */
  | { kind: 'redirect'; location: string };

/**
 * A random value the controller sets as an HttpOnly, SameSite=Lax cookie on `path` with the
 * redirect: the answer that comes back there must arrive in the browser that began (federation
 * callbacks; without it a victim could complete an attacker's sign-in).
 */
export interface BrowserBinding {
  name: string;
  value: string;
  path: string;
  maxAgeSeconds: number;
}

/** What `begin` leads to: on elsewhere (an upstream provider, the page waiting for an email), or a refusal. */
export type BeginResult =
  | { kind: 'redirect'; location: string; bindBrowser?: BrowserBinding }
  | Extract<Completion, { kind: 'failed' }>;

export interface AuthenticationStrategy<Input = unknown> {
  readonly id: StrategyId;
  readonly stage: StrategyStage;
  /** The form fields this strategy reads, validated before `complete`. */
  readonly input: z.ZodType<Input>;
  /** Whether it can be offered now (for this account, after what is done so far, in this deployment). */
  available(ctx: StrategyContext): Promise<boolean>;
  /**
   * Starts a method that needs a step before `complete`: a redirect (federation) or a message sent
   * (an emailed code, with the form's `email`). Challenge-based ones issue theirs in `view`.
   */
  begin?(ctx: StrategyContext, form?: Record<string, string>): Promise<BeginResult>;
  complete(input: Input, ctx: StrategyContext): Promise<Completion>;
  /**
   * For a proof that arrives out of band (a sign-in link opened on another device): asked when
   * the page waiting for it is shown again; undefined while there is nothing yet.
   */
  poll?(ctx: StrategyContext): Promise<Completion | undefined>;
  /** The data its part of the page needs (a WebAuthn challenge, whether to show a link); never markup. */
  view(ctx: StrategyContext): Promise<Record<string, unknown>>;
}
