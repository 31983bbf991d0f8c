import type Router from '@koa/router';
import { publicUser, type User } from '../../../domain/accounts/user.js';
import type { Users } from '../../../domain/accounts/users.js';
import type { AccountLockout } from '../../../domain/authn/account-lockout.js';
import type { DomainEvents } from '../../../domain/events/domain-events.js';
import { adminActor, auditContext } from '../../middleware/audit-context.js';

/**
 * The per-account password limit as the admin API shows it: `failed_attempts` (consecutive),
 * `locked_until` (null when not held now; `9999-12-31T23:59:59.000Z`: locked until a password
 * reset or an unlock).
 */
export async function lockoutFields(lockout: AccountLockout, user: User) {
  const status = await lockout.status(user.email);
  return {
    failed_attempts: status.failedAttempts,
    locked_until: status.lockedUntil ? status.lockedUntil.toISOString() : null,
  };
}

/**
 * POST /admin/users/:id/unlock: clears the account's failed-password count and any wait or lock
 * (200 with the user as GET /admin/users/:id shows it). Always audited (`account.unlocked`, by
 * the admin actor), even when nothing was held: the operator's action is what is recorded.
 */
export function userLockoutRoutes(r: Router, users: Users, lockout: AccountLockout, events: DomainEvents): void {
  r.post('/users/:id/unlock', async (ctx) => {
    const user = await users.get(ctx.params.id!);
    await lockout.unlock(user.email);
    events.emit({ type: 'account.unlocked', accountId: user.id, by: adminActor(ctx) }, auditContext(ctx));
    ctx.body = { ...publicUser(user), ...(await lockoutFields(lockout, user)) };
  });
}
