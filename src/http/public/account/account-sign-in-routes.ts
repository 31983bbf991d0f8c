import type Router from '@koa/router';
import { GatehouseError } from '../../../domain/errors.js';
import { renderErrorPage } from '../pages.js';
import type { AccountKit, SignedIn } from './account-kit.js';
import { type AccountSignIn, safeReturnTo } from './account-sign-in.js';
import { RECENT_SIGN_IN_SECONDS } from './recent-sign-in.js';

/**
 * Who is on the account page: the callback of its sign-in through the provider, "Confirm it is
 * you" and "Sign in again" (a fresh sign-in before a change), and the guard every later route
 * sits behind (it sets `ctx.state.account`).
 */
export function signInRoutes(router: Router, kit: AccountKit, signIn: AccountSignIn): void {
  /** The provider sends the browser back here after the sign-in `signIn.start` began. */
  router.get('/account/callback', async (ctx) => {
    const pending = signIn.take(ctx);
    if (!pending || typeof ctx.query.state !== 'string' || ctx.query.state !== pending.state)
      throw new GatehouseError('invalid_request', 'this sign-in expired or was started in another window');
    if (ctx.query.error === 'access_denied')
      return renderErrorPage(kit.deps.views, ctx, 403, 'access_denied', 'you cancelled the sign-in');
    if (typeof ctx.query.error === 'string') throw new GatehouseError('invalid_request', 'the sign-in did not finish');
    const session = await kit.deps.accountSessions.current(ctx);
    const code = ctx.query.code;
    if (
      !session ||
      typeof code !== 'string' ||
      !(await kit.deps.accountSessions.redeemCode(code, pending.verifier, session))
    )
      throw new GatehouseError('invalid_request', 'this sign-in expired or was started in another window');
    ctx.status = 303;
    ctx.redirect(pending.returnTo);
  });

  /** "Sign in again" (from the "Confirm it is you" page): a fresh sign-in, then back to `return`. */
  router.get('/account/sign-in', async (ctx) => {
    const session = await kit.deps.accountSessions.current(ctx);
    const user = session && (await kit.deps.users.findActive(session.accountId));
    signIn.start(ctx, { returnTo: safeReturnTo(ctx.query.return), reauth: true, loginHint: user?.email });
  });

  router.get('/account/reauthenticate', (ctx) => {
    const returnTo = safeReturnTo(ctx.query.return);
    kit.send(ctx, 200, 'account-reauth', 'Confirm it is you', {
      minutes: RECENT_SIGN_IN_SECONDS / 60,
      signInHref: `/account/sign-in?${new URLSearchParams({ return: returnTo })}`,
      backHref: '/account',
    });
  });

  /** Every route below needs the person signed in; a GET starts the sign-in and comes back. */
  router.use(async (ctx, next) => {
    const session = await kit.deps.accountSessions.current(ctx);
    const user = session && (await kit.deps.users.findActive(session.accountId));
    if (!session || !user) {
      if (ctx.method === 'GET' || ctx.method === 'HEAD') return signIn.start(ctx, { returnTo: ctx.path });
      ctx.status = 303;
      ctx.redirect('/account');
      return;
    }
    ctx.state.account = { session, user } satisfies SignedIn;
    await next();
  });
}
