import type Router from '@koa/router';
import type { Users } from '../../../domain/accounts/users.js';
import { type Factors, factorSummary } from '../../../domain/authn/factors.js';
import type { DomainEvents } from '../../../domain/events/domain-events.js';
import { adminActor, auditContext } from '../../middleware/audit-context.js';

/**
 * /admin/users/:id/factors: a user's second factors (authenticator app, passkeys, recovery
 * codes; never the password), and their removal — one, or all of them when a person lost their
 * device. Removals are domain events (`factor.removed`, by the admin), audited by the bus.
 */
export function userFactorsRoutes(r: Router, users: Users, factors: Factors, events: DomainEvents): void {
  r.get('/users/:id/factors', async (ctx) => {
    const user = await users.get(ctx.params.id!);
    // A bare array, as issue 13 fixes it (the other admin lists wrap theirs in `items` for paging; a user has few factors).
    ctx.body = (await factors.list(user.id)).map(factorSummary);
  });

  r.delete('/users/:id/factors/:factorId', async (ctx) => {
    const user = await users.get(ctx.params.id!);
    const removed = await factors.remove(user.id, ctx.params.factorId!);
    events.emit(
      {
        type: 'factor.removed',
        accountId: user.id,
        factor: removed.type,
        credentialId: removed.id,
        by: adminActor(ctx),
      },
      auditContext(ctx),
    );
    ctx.status = 204;
  });

  /** Resets the account to password only: 200 with how many factors went (0 when there were none). */
  r.delete('/users/:id/factors', async (ctx) => {
    const user = await users.get(ctx.params.id!);
    const listed = await factors.list(user.id);
    const removed = await factors.removeAll(user.id);
    for (const f of listed)
      events.emit(
        { type: 'factor.removed', accountId: user.id, factor: f.type, credentialId: f.id, by: adminActor(ctx) },
        auditContext(ctx),
      );
    ctx.body = { removed };
  });
}
