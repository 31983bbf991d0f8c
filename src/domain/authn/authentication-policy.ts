import type { SignInState } from './sign-in-state.js';
import type { StrategyId } from './strategy.js';

/** The `acr` values Gatehouse issues (discovery `acr_values_supported`), weakest first. */
export const ACR = {
  password: 'urn:gatehouse:acr:password',
  mfa: 'urn:gatehouse:acr:mfa',
  phishingResistant: 'urn:gatehouse:acr:phishing-resistant',
} as const;
export const ACR_VALUES: readonly string[] = [ACR.password, ACR.mfa, ACR.phishingResistant];

/** 0: one factor; 1: two independent factors; 2: a phishing-resistant authenticator with user verification. */
export type AssuranceLevel = 0 | 1 | 2;

export const acrOf = (level: AssuranceLevel): string => ACR_VALUES[level]!;

/** Why a second factor is needed (for the page and the audit log). */
export type RequirementSource = 'account' | 'client' | 'deployment' | 'request';

export interface Requirement {
  level: AssuranceLevel;
  because: RequirementSource[];
}

export interface RequirementInput {
  /** The account has a second factor (authenticator app or passkey) turned on. */
  accountHasSecondFactor: boolean;
  /** Client metadata `require_mfa` / `require_phishing_resistant`. */
  client: { requireMfa?: boolean; requirePhishingResistant?: boolean };
  /** MFA_REQUIRED. */
  deploymentRequiresMfa: boolean;
  /**
   * `acr_values` (space-separated, in order of preference) and the values of an essential `acr`
   * claim. Any one of them satisfies the request (RFC 9470), so the weakest one we know is needed;
   * values we do not issue are ignored (acr_values is a voluntary request).
   */
  requestedAcr: readonly string[];
}

/** The assurance this sign-in must reach before it can finish. */
export function requiredAssurance(input: RequirementInput): Requirement {
  const needs: Array<[AssuranceLevel, RequirementSource]> = [];
  if (input.accountHasSecondFactor) needs.push([1, 'account']);
  if (input.client.requireMfa) needs.push([1, 'client']);
  if (input.client.requirePhishingResistant) needs.push([2, 'client']);
  if (input.deploymentRequiresMfa) needs.push([1, 'deployment']);
  const known = input.requestedAcr.map((v) => ACR_VALUES.indexOf(v)).filter((i): i is AssuranceLevel => i >= 0);
  if (known.length) needs.push([Math.min(...known) as AssuranceLevel, 'request']);
  const level = Math.max(0, ...needs.map(([l]) => l)) as AssuranceLevel;
  return { level, because: [...new Set(needs.filter(([l]) => l > 0).map(([, s]) => s))] };
}

/** What the state proves: a phishing-resistant authenticator, two kinds of factor, or one. */
export function achievedAssurance(state: SignInState): AssuranceLevel {
  if (state.phishingResistant) return 2;
  return new Set(state.factors).size >= 2 ? 1 : 0;
}

/** The account's second factors that can be offered. */
export interface EnrolledFactors {
  totp: boolean;
  passkey: boolean;
  /** Unused recovery codes remain. */
  recoveryCodes: boolean;
}

export type NextStep =
  | { next: 'first_factor' }
  | { next: 'second_factor'; methods: StrategyId[]; requirement: Requirement }
  /** Nothing enrolled can reach the requirement: set one up before the sign-in finishes. */
  | { next: 'enrol'; methods: Array<'totp' | 'passkey'>; requirement: Requirement }
  | { next: 'done'; accountId: string; acr: string; amr: string[] };

/**
 * What a sign-in still needs. Pure: the controller supplies the requirement (requiredAssurance)
 * and what the account has enrolled, and records the result as the interaction's `acr`/`amr`.
 */
export function nextStep(state: SignInState, requirement: Requirement, enrolled: EnrolledFactors): NextStep {
  if (!state.accountId) return { next: 'first_factor' };
  const achieved = achievedAssurance(state);
  if (achieved >= requirement.level) {
    const amr = achieved >= 1 ? [...new Set([...state.amr, 'mfa'])] : state.amr;
    return { next: 'done', accountId: state.accountId, acr: acrOf(achieved), amr };
  }
  if (requirement.level === 2) {
    if (enrolled.passkey) return { next: 'second_factor', methods: ['passkey'], requirement };
    return { next: 'enrol', methods: ['passkey'], requirement };
  }
  const used = new Set(state.methods);
  const methods: StrategyId[] = [];
  if (enrolled.totp && !used.has('totp')) methods.push('totp');
  if (enrolled.passkey && !used.has('passkey')) methods.push('passkey');
  if (enrolled.recoveryCodes && (enrolled.totp || enrolled.passkey) && !used.has('recovery_code'))
    methods.push('recovery_code');
  if (methods.length) return { next: 'second_factor', methods, requirement };
  return { next: 'enrol', methods: ['totp', 'passkey'], requirement };
}
