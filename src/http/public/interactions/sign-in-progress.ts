import { EMPTY_SIGN_IN, type SignInState, stateFromSession } from '../../../domain/authn/sign-in-state.js';
import type { Details } from './interaction-kit.js';

/** Interaction result key holding the sign-in so far (between the first and the second factor). */
export const STATE_KEY = 'gatehouseSignIn';

/** Prompt reasons that ask only for more assurance from the person already signed in (a step-up). */
const STEP_UP_REASONS = new Set(['acr_step_up', 'essential_acr', 'essential_acrs']);

/** Set on the interaction by "Not you? Switch account": the login page is shown again before consent. */
export const switchingAccount = (d: Details) =>
  (d.result as { gatehouseSwitchAccount?: boolean } | undefined)?.gatehouseSwitchAccount === true;

/** The sign-in so far: saved on the interaction, or (step-up) what the current session already proved. */
export function signInState(d: Details): SignInState {
  const saved = (d.result as Record<string, unknown> | undefined)?.[STATE_KEY] as SignInState | undefined;
  if (saved) return saved;
  const session = d.session as { accountId?: string; amr?: string[] } | undefined;
  const reasons = (d.prompt.reasons ?? []) as string[];
  if (session?.accountId && reasons.length && reasons.every((r) => STEP_UP_REASONS.has(r)) && !switchingAccount(d))
    return stateFromSession(session.accountId, session.amr);
  return EMPTY_SIGN_IN;
}

/** The first factor's "Stay signed in" checkbox (`remember=yes`; an unticked box sends nothing). */
export const withStaySignedIn = (state: SignInState, form: Record<string, string>): SignInState => ({
  ...state,
  staySignedIn: form.remember === 'yes',
});
