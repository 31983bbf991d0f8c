import type { Context } from 'koa';
import type { AuditEventInput } from '../../domain/audit/audit-event.js';
import type { AuditLog } from '../../domain/audit/audit-log.js';
import { adminActor, auditContext } from '../middleware/audit-context.js';

type AdminChange = Pick<AuditEventInput, 'type' | 'subject' | 'clientId' | 'data'>;

/**
 * Records an admin change with who made it and from where. Routes pass `before`/`after` as the
 * public shapes (no client secret, no password hash); the log's scrubber is the second line.
 */
export function recordAdminChange(audit: AuditLog | undefined, ctx: Context, change: AdminChange): void {
  audit?.record({ ...change, actor: adminActor(ctx), ...auditContext(ctx) });
}
