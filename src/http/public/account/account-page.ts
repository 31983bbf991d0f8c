import type { User } from '../../../domain/accounts/user.js';
import type { UserGrant, UserSessions } from '../../../domain/accounts/user-sessions.js';
import type { EnrolmentMethod, RecoveryCodeIssuer } from '../../../domain/authn/enrolment.js';
import type { Factors } from '../../../domain/authn/factors.js';
import type { LinkedIdentities } from '../../../domain/federation/linked-identities.js';
import { ACCOUNT_CLIENT_ID } from '../../../oidc/account-client.js';
import type { AccountSession } from '../../../oidc/account-session.js';
import type { ViewModel } from '../../views.js';
import { consentView, type ResourceNames } from '../interactions/consent-view.js';
import type { AccountForms } from './account-forms.js';

/** What the account page shows, and where each of its forms posts. */
export interface AccountPageDeps {
  factors: Factors;
  enrolments: EnrolmentMethod[];
  recoveryCodes?: RecoveryCodeIssuer;
  userSessions: UserSessions;
  /** An application's display name (its client_name), for sessions and connected apps. */
  clientName(clientId: string): Promise<string | undefined>;
  resources?: ResourceNames;
  /** "Linked accounts" (upstream identities); the section is left out when omitted. */
  linkedIdentities?: LinkedIdentities;
}

/** Confirmations after a change (`/account?done=…`): a fixed set, never text from the request. */
export const NOTICES = {
  'totp-on': 'Authenticator app is on.',
  'totp-off': 'Authenticator app is off.',
  'passkey-added': 'Passkey added.',
  'passkey-removed': 'Passkey removed.',
  'session-ended': 'That session is signed out.',
  'access-removed': 'Access removed. The app has to ask you again before it can use your account.',
  'password-changed': 'Password changed.',
  'password-changed-signed-out': 'Password changed. Your other sessions are signed out.',
  'password-set': 'Password set. You can now sign in with it.',
  'identity-unlinked': 'Account unlinked. You can no longer sign in with it.',
} as const;
export type Notice = keyof typeof NOTICES;

const DATE = new Intl.DateTimeFormat('en-GB', { dateStyle: 'medium', timeStyle: 'short', timeZone: 'UTC' });
const when = (d: Date | null) => (d ? `${DATE.format(d)} UTC` : 'never');
const iso = (d: Date | null) => (d ? d.toISOString() : '');

/** The /account view model for the signed-in person. */
export async function accountPageModel(
  deps: AccountPageDeps,
  forms: AccountForms,
  session: AccountSession,
  user: Pick<User, 'email' | 'emailVerified'> & { hasPassword: boolean },
  notice?: string,
): Promise<ViewModel> {
  const userId = session.accountId;
  const factors = await deps.factors.list(userId);
  const totp = factors.find((f) => f.type === 'totp');
  const passkeys = factors.filter((f) => f.type === 'passkey');
  const canEnrol = (id: string) => deps.enrolments.some((m) => m.id === id);
  const hasSecondFactor = totp !== undefined || passkeys.length > 0;
  return {
    email: user.email,
    emailVerified: user.emailVerified,
    notice,
    signOutHref: '/logout',
    changeEmailHref: forms.emailAction,
    changePasswordHref: forms.passwordAction,
    hasPassword: user.hasPassword,
    deleteHref: forms.deleteAction,
    totp: totp && {
      created: when(totp.createdAt),
      createdIso: iso(totp.createdAt),
      removeAction: forms.removeFactorAction(totp.id),
      csrf: forms.token(session, 'factor'),
    },
    totpSetupHref: canEnrol('totp') ? forms.enrolHref('totp') : undefined,
    passkeys: passkeys.map((p) => ({
      name: p.name ?? 'Passkey',
      created: when(p.createdAt),
      createdIso: iso(p.createdAt),
      lastUsed: when(p.lastUsedAt),
      removeAction: forms.removeFactorAction(p.id),
      csrf: forms.token(session, 'factor'),
    })),
    passkeyAddAction: canEnrol('passkey') ? forms.enrolHref('passkey') : undefined,
    recovery:
      deps.recoveryCodes && hasSecondFactor
        ? {
            status: await recoveryStatus(
              deps,
              userId,
              factors.some((f) => f.type === 'recovery_codes'),
            ),
            action: forms.recoveryCodesAction,
            csrf: forms.token(session, 'recovery'),
          }
        : undefined,
    sessions: await sessionsModel(deps, forms, session),
    apps: await appsModel(deps, forms, session),
    linked: deps.linkedIdentities && { items: await linkedModel(deps.linkedIdentities, forms, session) },
  };
}

/** Each linked account with "Unlink", or why it cannot be unlinked (it is the last way in). */
async function linkedModel(linked: LinkedIdentities, forms: AccountForms, session: AccountSession) {
  return (await linked.listWithVerdicts(session.accountId)).map((i) => ({
    name: i.connectionName,
    linked: when(i.linkedAt),
    linkedIso: iso(i.linkedAt),
    // Present even when absent: a section's lookup must not fall through to an outer scope.
    action: i.unlink.allowed ? forms.unlinkAction(i.id) : undefined,
    csrf: forms.token(session, 'identity'),
    refusal: i.unlink.allowed ? undefined : i.unlink.message,
    setPasswordHref: !i.unlink.allowed && i.unlink.reason === 'set_password_first' ? forms.passwordAction : undefined,
  }));
}

async function recoveryStatus(deps: AccountPageDeps, userId: string, hasSet: boolean): Promise<string> {
  if (!hasSet) return 'You have no recovery codes yet.';
  return (await deps.factors.enrolled(userId)).recoveryCodes
    ? 'You have unused recovery codes.'
    : 'You have used all your recovery codes.';
}

async function names(deps: AccountPageDeps, clientIds: string[]): Promise<Map<string, string>> {
  const unique = [...new Set(clientIds)];
  const named = await Promise.all(unique.map(async (id) => [id, (await deps.clientName(id)) ?? id] as const));
  return new Map(named);
}

/** This browser's session first (marked), then the others, newest first. */
async function sessionsModel(deps: AccountPageDeps, forms: AccountForms, session: AccountSession) {
  const sessions = await deps.userSessions.listSessions(session.accountId);
  sessions.sort((a, b) => Number(b.uid === session.uid) - Number(a.uid === session.uid));
  const apps = (ids: string[]) => ids.filter((id) => id !== ACCOUNT_CLIENT_ID);
  const named = await names(
    deps,
    sessions.flatMap((s) => apps(s.clientIds)),
  );
  return sessions.map((s) => ({
    current: s.uid === session.uid,
    signedIn: when(s.loginAt ?? s.createdAt),
    signedInIso: iso(s.loginAt ?? s.createdAt),
    // Present even when empty: a section's lookup must not fall through to an outer scope.
    usedWith:
      apps(s.clientIds)
        .map((id) => named.get(id))
        .join(', ') || undefined,
    action: forms.signOutSessionAction(s.uid),
    csrf: forms.token(session, 'session'),
  }));
}

/** One entry per application (a person may have granted it in several browsers), with what it may do. */
async function appsModel(deps: AccountPageDeps, forms: AccountForms, session: AccountSession) {
  const byClient = new Map<string, UserGrant[]>();
  for (const g of await deps.userSessions.listGrants(session.accountId)) {
    if (g.clientId === ACCOUNT_CLIENT_ID) continue;
    byClient.set(g.clientId, [...(byClient.get(g.clientId) ?? []), g]);
  }
  const named = await names(deps, [...byClient.keys()]);
  return Promise.all(
    [...byClient].map(async ([clientId, grants]) => {
      const scopes = [...new Set(grants.flatMap((g) => g.scopes))];
      const apis: Record<string, string[]> = {};
      for (const r of grants.flatMap((g) => g.resources))
        apis[r.indicator] = [...new Set([...(apis[r.indicator] ?? []), ...r.scopes])];
      return {
        name: named.get(clientId),
        can: await consentView({ missingOIDCScope: scopes, missingResourceScopes: apis }, deps.resources),
        action: forms.removeAccessAction(clientId),
        csrf: forms.token(session, 'app'),
      };
    }),
  );
}
