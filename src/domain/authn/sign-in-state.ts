import { GatehouseError } from '../errors.js';
import type { StrategyId } from './strategy-id.js';

/** NIST's factor kinds: two kinds make a multi-factor sign-in. */
export type FactorKind = 'knowledge' | 'possession' | 'inherence';

/** What one successful strategy proved. */
export interface Proof {
  /**
   * RFC 8176 values: pwd, otp, hwk, swk, user, … and our `email` (an emailed code or link);
   * `mfa` is added by the policy, never by a strategy.
   */
  amr: string[];
  factors: FactorKind[];
  /** A passkey with user verification: origin-bound, so it cannot be phished, and it is two factors in one. */
  phishingResistant: boolean;
  /** A federated sign-in: the connection and the upstream's own amr/acr (for the audit log only). */
  upstream?: UpstreamAssertion;
}

export interface UpstreamAssertion {
  connectionId: string;
  amr?: string[];
  acr?: string;
}

/** What a sign-in has established so far; kept on the interaction between requests. */
export interface SignInState {
  accountId?: string;
  /** Strategies that succeeded, in order. */
  methods: StrategyId[];
  amr: string[];
  factors: FactorKind[];
  phishingResistant: boolean;
  /**
   * "Stay signed in", as ticked on the first factor's form: a persistent session cookie (true) or
   * one that ends with the browser session (false). Unset when no such form was shown (a step-up
   * keeps the session's earlier choice).
   */
  staySignedIn?: boolean;
  /** Recovery codes to show once before the sign-in finishes (right after a first second factor is set up). */
  pendingRecoveryCodes?: string[];
  /** An upstream identity to link when the sign-in finishes on the account with its email. */
  pendingLink?: PendingLink;
  upstream?: UpstreamAssertion;
}

/** An upstream identity waiting for the person to sign in to the local account with its email. */
export interface PendingLink {
  connectionId: string;
  connectionName: string;
  subject: string;
  email: string;
}

export const EMPTY_SIGN_IN: SignInState = { methods: [], amr: [], factors: [], phishingResistant: false };

/** Adds a strategy's proof; a later step can never switch the account. */
export function applyProof(state: SignInState, method: StrategyId, accountId: string, proof: Proof): SignInState {
  if (state.accountId && state.accountId !== accountId)
    throw new GatehouseError('invalid_request', 'a sign-in step established a different account');
  return {
    ...state,
    accountId,
    methods: [...state.methods, method],
    amr: [...new Set([...state.amr, ...proof.amr])],
    factors: [...new Set([...state.factors, ...proof.factors])],
    phishingResistant: state.phishingResistant || proof.phishingResistant,
    ...(proof.upstream ? { upstream: proof.upstream } : {}),
  };
}

/** The factors an earlier session's amr stands for (a step-up starts from them). */
export function stateFromSession(accountId: string, amr: readonly string[] = []): SignInState {
  const factors = new Set<FactorKind>();
  // An emailed code or link counts as knowledge (email-code-strategy.ts says why).
  // A federated sign-in (`fed`) counts as one factor (federated-sign-in.ts).
  if (amr.includes('pwd') || amr.includes('email') || amr.includes('fed')) factors.add('knowledge');
  if (amr.some((v) => v === 'otp' || v === 'hwk' || v === 'swk')) factors.add('possession');
  const phishingResistant = amr.includes('user') && (amr.includes('hwk') || amr.includes('swk'));
  if (phishingResistant) factors.add('inherence');
  return {
    accountId,
    methods: [],
    amr: amr.filter((v) => v !== 'mfa'),
    factors: [...factors],
    phishingResistant,
  };
}
