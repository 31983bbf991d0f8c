import Router from '@koa/router';
import { AccountChanges } from '../../../domain/accounts/account-changes.js';
import { formBody } from '../../middleware/body-parsers.js';
import { AccountForms } from './account-forms.js';
import { type AccountDeps, accountKit, BACK_TO_ACCOUNT } from './account-kit.js';
import { accountPageModel, NOTICES, type Notice } from './account-page.js';
import { AccountSignIn } from './account-sign-in.js';
import { signInRoutes } from './account-sign-in-routes.js';
import { deleteRoutes } from './delete-routes.js';
import { emailChangeRoutes, emailLinkRoutes } from './email-change-routes.js';
import { factorRoutes } from './factor-routes.js';
import { linkedIdentitiesRoutes } from './linked-identities-routes.js';
import { passwordRoutes } from './password-routes.js';
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
  const router = new Router();
  router.use(async (ctx, next) => {
    ctx.state.wayOut = BACK_TO_ACCOUNT;
    await next();
  });
  router.use(formBody(FORM_LIMIT_BYTES));

  const changes = new AccountChanges({ ...deps, now });
  const kit = accountKit(deps, forms, now, changes);

  // Before the sign-in guard: the change-of-address link works in any browser, signed in or not.
  emailLinkRoutes(router, kit);
  signInRoutes(router, kit, new AccountSignIn(deps.issuer, deps.csrf, now));

  router.get('/account', async (ctx) => {
    const { session, user } = kit.signedIn(ctx);
    const done = String(ctx.query.done ?? '');
    const notice = Object.hasOwn(NOTICES, done) ? NOTICES[done as Notice] : undefined;
    const hasPassword = await deps.users.hasPassword(user.id);
    kit.send(
      ctx,
      200,
      'account',
      'Your account',
      await accountPageModel(deps, forms, session, { ...user, hasPassword }, notice),
    );
  });

  factorRoutes(router, kit);
  sessionRoutes(router, kit);
  passwordRoutes(router, kit);
  emailChangeRoutes(router, kit);
  deleteRoutes(router, kit);
  linkedIdentitiesRoutes(router, kit);
  return router;
}
