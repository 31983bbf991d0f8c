import type Router from '@koa/router';
import { notFound } from '../../../domain/errors.js';
import { ACCOUNT_CLIENT_ID } from '../../../oidc/account-client.js';
import type { AccountKit } from './account-kit.js';

/**
 * "Sign out" of one session and "Remove access" of one app. Both only take something away, so
 * neither needs a recent sign-in (a person who finds a stranger's session should end it at
 * once); both need the form's CSRF token and emit a domain event.
 */
export function sessionRoutes(router: Router, kit: AccountKit): void {
  const { deps, forms } = kit;

  /** Ends one browser session: its next request (or prompt=none) finds no one signed in. */
  router.post('/account/sessions/:uid/sign-out', async (ctx) => {
    const { session, user } = kit.signedIn(ctx);
    forms.check(session, 'session', ctx.request.body as Record<string, string>);
    const uid = String(ctx.params.uid);
    await deps.userSessions.revokeSession(user.id, uid);
    deps.events.emit({ type: 'session.revoked', accountId: user.id, sessionId: uid, by: 'user' }, kit.origin(ctx));
    if (uid !== session.uid) return kit.done(ctx, 'session-ended');
    kit.send(ctx, 200, 'logged-out', 'Signed out', {
      clientSuffix: '',
      onwardsHref: '/account',
      onwardsLabel: 'Sign in again',
    });
  });

  /** Revokes every grant the person gave the app (one per browser it was used in) and their tokens. */
  router.post('/account/apps/:clientId/remove-access', async (ctx) => {
    const { session, user } = kit.signedIn(ctx);
    forms.check(session, 'app', ctx.request.body as Record<string, string>);
    const clientId = String(ctx.params.clientId);
    const grants = clientId === ACCOUNT_CLIENT_ID ? [] : await deps.userSessions.listGrants(user.id);
    const mine = grants.filter((g) => g.clientId === clientId);
    if (!mine.length) throw notFound('app');
    for (const grant of mine) await deps.userSessions.revokeGrant(user.id, grant.id);
    deps.events.emit({ type: 'grant.revoked_by_user', accountId: user.id, clientId }, kit.origin(ctx));
    kit.done(ctx, 'access-removed');
  });
}
