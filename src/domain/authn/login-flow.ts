/**
 * A login is an ordered sequence of steps: identify → authenticate → (second factor) → consent.
 * Each authentication method is one step behind the same interface; MFA, passkeys and
 * federation join by adding steps, not by rewriting the flow.
 */
export interface StepResult {
  /** The account this step established (identify/authenticate steps). */
  accountId?: string;
  /** Authentication method references this step contributes (RFC 8176): pwd, otp, hwk, … */
  amr?: string[];
}

export interface LoginState {
  accountId?: string;
  amr: string[];
  completed: string[];
}

export interface LoginStep {
  readonly id: string;
  /** Whether this step still has to run for the current state. */
  required(state: LoginState): boolean;
}

export function nextStep<S extends LoginStep>(steps: readonly S[], state: LoginState): S | undefined {
  return steps.find((s) => !state.completed.includes(s.id) && s.required(state));
}

export function applyStep(state: LoginState, stepId: string, result: StepResult): LoginState {
  if (state.accountId && result.accountId && state.accountId !== result.accountId) {
    throw new Error('a login step established a different account');
  }
  return {
    accountId: result.accountId ?? state.accountId,
    amr: [...new Set([...state.amr, ...(result.amr ?? [])])],
    completed: [...state.completed, stepId],
  };
}
