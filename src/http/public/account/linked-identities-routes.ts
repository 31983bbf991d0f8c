import type Router from '@koa/router';
import { notFound } from '../../../domain/errors.js';
import type { AccountKit } from './account-kit.js';

/**
 * "Unlink" of a linked account (an upstream identity). It takes a way to sign in away, so like
 * the other changes it needs a recent sign-in and the form's CSRF token; the domain service
 * refuses to unlink the last way in (UnlinkRefused: a page saying what to do, with a way back).
 */
export function linkedIdentitiesRoutes(router: Router, kit: AccountKit): void {
  const { deps, forms } = kit;

  router.post(
    '/account/linked/:id/unlink',
    kit.recent(() => '/account'),
    async (ctx) => {
      const who = kit.signedIn(ctx);
      forms.check(who.session, 'identity', ctx.request.body as Record<string, string>);
      if (!deps.linkedIdentities) throw notFound('linked account');
      await deps.linkedIdentities.unlink(who.user.id, String(ctx.params.id), 'user', kit.origin(ctx));
      kit.done(ctx, 'identity-unlinked');
    },
  );
}
