import type Router from '@koa/router';
import type { Context } from 'koa';
import type { AccountKit } from './account-kit.js';

/**
 * "Delete account": a recent sign-in and a ticked confirmation. Deleting ends every session,
 * grant and token of the account (Users.delete), is audited, and is told to the address.
 */
export function deleteRoutes(router: Router, kit: AccountKit): void {
  const { forms } = kit;

  const showForm = (ctx: Context, status = 200, error?: string) => {
    const { session, user } = kit.signedIn(ctx);
    kit.send(ctx, status, 'account-delete', 'Delete account', {
      email: user.email,
      error,
      action: forms.deleteAction,
      csrf: forms.token(session, 'delete'),
    });
  };

  router.get(
    '/account/delete',
    kit.recent(() => '/account/delete'),
    (ctx) => showForm(ctx),
  );

  router.post(
    '/account/delete',
    kit.recent(() => '/account/delete'),
    async (ctx) => {
      const { session, user } = kit.signedIn(ctx);
      const form = ctx.request.body as Record<string, string>;
      forms.check(session, 'delete', form);
      if (form.confirm !== 'yes')
        return showForm(ctx, 400, 'Tick the box to confirm that you want to delete your account.');
      await kit.changes.deleteAccount(user, kit.origin(ctx));
      kit.send(ctx, 200, 'account-message', 'Account deleted', {
        heading: 'Your account was deleted',
        message: `Your account ${user.email} and everything in it are gone, and you are signed out everywhere.`,
        linkHref: '/',
        linkLabel: 'Go to the home page',
      });
    },
  );
}
