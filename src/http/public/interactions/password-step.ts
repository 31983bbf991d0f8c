import type { Users } from '../../../domain/accounts/users.js';
import type { LoginState, LoginStep, StepResult } from '../../../domain/authn/login-flow.js';
import type { Logger } from '../../../observability/logger.js';

/** Where failed sign-ins are counted (the metrics object; kept to the one method this step needs). */
export interface LoginFailureCounter {
  loginFailed(reason: string): void;
}

/** Identify + authenticate with email and password (amr "pwd"). */
export class PasswordStep implements LoginStep {
  readonly id = 'password';
  constructor(
    private readonly users: Users,
    private readonly failures?: LoginFailureCounter,
  ) {}

  required(state: LoginState): boolean {
    return !state.accountId;
  }

  async submit(
    form: Record<string, string>,
    log: Logger,
  ): Promise<
    | { ok: true; result: StepResult }
    | { ok: false; status: number; message: string; email: string; reason: string; userId?: string }
  > {
    const email = (form.email ?? '').trim();
    const password = form.password ?? '';
    if (!email || !password)
      return {
        ok: false,
        status: 400,
        message: 'Enter your email and password.',
        email,
        reason: 'missing_credentials',
      };
    if (email.length > 320 || password.length > 4096)
      return {
        ok: false,
        status: 401,
        message: 'Email or password is incorrect.',
        email: email.slice(0, 320),
        reason: 'input_too_long',
      };
    const outcome = await this.users.authenticate(email, password);
    if (!outcome.ok) {
      log.info({ event: 'login.failed', reason: outcome.reason }, 'sign-in failed');
      this.failures?.loginFailed(outcome.reason);
      // One message for every failure: whether the account exists is not revealed.
      return {
        ok: false,
        status: 401,
        message: 'Email or password is incorrect.',
        email,
        reason: outcome.reason,
        userId: outcome.userId,
      };
    }
    log.info({ event: 'login.succeeded', userId: outcome.user.id }, 'sign-in succeeded');
    return { ok: true, result: { accountId: outcome.user.id, amr: ['pwd'] } };
  }
}
