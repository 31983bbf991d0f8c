import Router from '@koa/router';
import { GatehouseError } from '../../../domain/errors.js';
import { formBody } from '../../middleware/body-parsers.js';
import { renderErrorPage } from '../pages.js';
import { AccountForms } from './account-forms.js';
import { type AccountDeps, accountKit, BACK_TO_ACCOUNT, type SignedIn } from './account-kit.js';
import { accountPageModel, NOTICES, type Notice } from './account-page.js';
import { AccountSignIn, safeReturnTo } from './account-sign-in.js';
import { factorRoutes } from './factor-routes.js';
import { RECENT_SIGN_IN_SECONDS } from './recent-sign-in.js';
import { sessionRoutes } from './session-routes.js';

export type { AccountDeps } from './account-kit.js';

/** Passkey registration responses are a few kilobytes; nothing else here is more than a token. */
const FORM_LIMIT_BYTES = 64 * 1024;

/**
 * The self-service account page, `/account` on the public port. Who is signed in comes from the
 * provider's own session; without one, the page signs the person in through the provider as the
 * built-in `gatehouse-account` client (account-sign-in.ts), so the MFA policy applies as for any app.
 */
export function accountRoutes(deps: AccountDeps): Router {
  const now = deps.now ?? Date.now;
  const forms = new AccountForms(deps.csrf);
  const signIn = new AccountSignIn(deps.issuer, deps.csrf, now);
  const router = new Router();
  router.use(async (ctx, next) => {
    ctx.state.wayOut = BACK_TO_ACCOUNT;
    await next();
  });
  router.use(formBody(FORM_LIMIT_BYTES));

  const kit = accountKit(deps, forms, now);

  /** The provider sends the browser back here after the sign-in `signIn.start` began. */
  router.get('/account/callback', async (ctx) => {
    const pending = signIn.take(ctx);
    if (!pending || typeof ctx.query.state !== 'string' || ctx.query.state !== pending.state)
      throw new GatehouseError('invalid_request', 'this sign-in expired or was started in another window');
    if (ctx.query.error === 'access_denied')
      return renderErrorPage(deps.views, ctx, 403, 'access_denied', 'you cancelled the sign-in');
    if (typeof ctx.query.error === 'string') throw new GatehouseError('invalid_request', 'the sign-in did not finish');
    const session = await deps.accountSessions.current(ctx);
    const code = ctx.query.code;
    if (
      !session ||
      typeof code !== 'string' ||
      !(await deps.accountSessions.redeemCode(code, pending.verifier, session))
    )
      throw new GatehouseError('invalid_request', 'this sign-in expired or was started in another window');
    ctx.status = 303;
    ctx.redirect(pending.returnTo);
  });

  /** "Sign in again" (from the "Confirm it is you" page): a fresh sign-in, then back to `return`. */
  router.get('/account/sign-in', async (ctx) => {
    const session = await deps.accountSessions.current(ctx);
    const user = session && (await deps.users.findActive(session.accountId));
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
    const session = await deps.accountSessions.current(ctx);
    const user = session && (await deps.users.findActive(session.accountId));
    if (!session || !user) {
      if (ctx.method === 'GET' || ctx.method === 'HEAD') return signIn.start(ctx, { returnTo: ctx.path });
      ctx.status = 303;
      ctx.redirect('/account');
      return;
    }
    ctx.state.account = { session, user } satisfies SignedIn;
    await next();
  });

  router.get('/account', async (ctx) => {
    const { session, user } = kit.signedIn(ctx);
    const done = String(ctx.query.done ?? '');
    const notice = Object.hasOwn(NOTICES, done) ? NOTICES[done as Notice] : undefined;
    kit.send(ctx, 200, 'account', 'Your account', await accountPageModel(deps, forms, session, user.email, notice));
  });

  factorRoutes(router, kit);
  sessionRoutes(router, kit);
  return router;
}
