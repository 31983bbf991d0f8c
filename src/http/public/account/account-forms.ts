import { GatehouseError } from '../../../domain/errors.js';
import type { AccountSession } from '../../../oidc/account-session.js';
import type { CsrfTokens } from '../interactions/csrf.js';

/** The account page's forms, by what they change (each has its own CSRF token). */
export type AccountForm =
  | 'factor'
  | 'recovery'
  | 'session'
  | 'app'
  | 'enrol-totp'
  | 'enrol-passkey'
  | 'password'
  | 'email'
  | 'delete'
  | 'identity';

/**
 * The account page's form addresses and CSRF tokens. A token is an HMAC of the provider
 * session's uid (CsrfTokens): the session is bound to the browser by its signed cookie, so a
 * form posted from another site carries neither; a token from another session (or from before
 * a "Sign out") does not match this one.
 */
export class AccountForms {
  constructor(private readonly csrf: CsrfTokens) {}

  /** What a pending setup (EnrolmentMethod `binding`) is tied to: this browser's session. */
  binding(session: AccountSession): string {
    return `account:${session.uid}`;
  }

  token(session: AccountSession, form: AccountForm): string {
    return this.csrf.issue(this.binding(session), form);
  }

  /** Throws 403 unless `body` carries this session's token for `form`. */
  check(session: AccountSession, form: AccountForm, body: Record<string, string>): void {
    if (!this.csrf.valid(this.binding(session), form, body.csrf))
      throw new GatehouseError('forbidden', 'the form expired or did not come from this site; go back and try again');
  }

  enrolHref(method: 'totp' | 'passkey'): string {
    return `/account/enrol/${method}`;
  }

  removeFactorAction(id: string): string {
    return `/account/factors/${encodeURIComponent(id)}/remove`;
  }

  readonly recoveryCodesAction = '/account/recovery-codes';

  signOutSessionAction(uid: string): string {
    return `/account/sessions/${encodeURIComponent(uid)}/sign-out`;
  }

  readonly passwordAction = '/account/password';
  readonly emailAction = '/account/email';
  readonly emailVerifyAction = '/account/email/verify';
  readonly deleteAction = '/account/delete';

  unlinkAction(identityId: string): string {
    return `/account/linked/${encodeURIComponent(identityId)}/unlink`;
  }

  removeAccessAction(clientId: string): string {
    return `/account/apps/${encodeURIComponent(clientId)}/remove-access`;
  }
}
