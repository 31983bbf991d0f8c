import type Router from '@koa/router';
import type { Users } from '../../../domain/accounts/users.js';
import type { LinkedIdentities, LinkedIdentity } from '../../../domain/federation/linked-identities.js';
import { adminActor, auditContext } from '../../middleware/audit-context.js';

export const identityResponse = (i: LinkedIdentity) => ({
  id: i.id,
  connection_id: i.connectionId,
  connection_slug: i.connectionSlug,
  connection_name: i.connectionName,
  subject: i.subject,
  email: i.email,
  linked_at: i.linkedAt.toISOString(),
  last_used_at: i.lastUsedAt ? i.lastUsedAt.toISOString() : null,
});

/**
 * /admin/users/:id/identities: a user's linked upstream identities, and unlinking one. Unlike the
 * person, an admin may unlink the last way in (they can set a password or send a reset next);
 * the unlink is the domain event `identity.unlinked` by the admin, audited by the bus.
 */
export function userIdentitiesRoutes(r: Router, users: Users, linked: LinkedIdentities): void {
  r.get('/users/:id/identities', async (ctx) => {
    const user = await users.get(ctx.params.id!);
    // A bare array, like the factors: a user has few linked identities.
    ctx.body = (await linked.list(user.id)).map(identityResponse);
  });

  r.delete('/users/:id/identities/:identityId', async (ctx) => {
    const user = await users.get(ctx.params.id!);
    await linked.unlink(user.id, ctx.params.identityId!, adminActor(ctx), auditContext(ctx), { force: true });
    ctx.status = 204;
  });
}
