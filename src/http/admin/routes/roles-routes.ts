import type Router from '@koa/router';
import type { Authorization } from '../../../domain/authorization/authorization.js';
import {
  permissionSchema,
  roleInputSchema,
  rolePatchSchema,
  type RoleHolder,
} from '../../../domain/authorization/roles.js';
import type { AuditLog } from '../../../domain/audit/audit-log.js';
import { recordAdminChange } from '../admin-audit.js';
import { parseBody } from '../validate.js';

/** The audit event's subject (user) or client for a role holder. */
const holderRef = (holder: RoleHolder, id: string) => (holder === 'user' ? { subject: id } : { clientId: id });

/**
 * /admin/roles and role assignments: named sets of API scopes, assigned to users and clients;
 * users may also hold scopes directly. Tokens for an API that any role or grant names carry only
 * the scopes their subject holds (src/oidc/rbac-scopes.ts).
 */
export function rolesRoutes(r: Router, authorization: Authorization, audit?: AuditLog): void {
  r.post('/roles', async (ctx) => {
    const role = await authorization.createRole(parseBody(roleInputSchema, ctx.request.body));
    recordAdminChange(audit, ctx, { type: 'role.created', data: { role: role.name, after: role } });
    ctx.status = 201;
    ctx.set('Location', `/admin/roles/${encodeURIComponent(role.name)}`);
    ctx.body = role;
  });
  r.get('/roles', async (ctx) => {
    ctx.body = { items: await authorization.listRoles() };
  });
  r.get('/roles/:role', async (ctx) => {
    ctx.body = await authorization.getRole(ctx.params.role!);
  });
  r.patch('/roles/:role', async (ctx) => {
    const changes = parseBody(rolePatchSchema, ctx.request.body);
    const before = await authorization.getRole(ctx.params.role!);
    const after = await authorization.updateRole(ctx.params.role!, changes);
    recordAdminChange(audit, ctx, {
      type: 'role.updated',
      data: { role: after.name, before, after, changed: Object.keys(changes) },
    });
    ctx.body = after;
  });
  r.delete('/roles/:role', async (ctx) => {
    const before = await authorization.deleteRole(ctx.params.role!);
    recordAdminChange(audit, ctx, { type: 'role.deleted', data: { role: before.name, before } });
    ctx.status = 204;
  });

  for (const [holder, path] of [
    ['user', '/users/:id/roles'],
    ['client', '/clients/:id/roles'],
  ] as const) {
    r.get(path, async (ctx) => {
      ctx.body = { items: await authorization.rolesOf(holder, ctx.params.id!) };
    });
    r.put(`${path}/:role`, async (ctx) => {
      const role = await authorization.assignRole(holder, ctx.params.id!, ctx.params.role!);
      recordAdminChange(audit, ctx, {
        type: 'role.assigned',
        ...holderRef(holder, ctx.params.id!),
        data: { role: role.name, holder },
      });
      ctx.status = 204;
    });
    r.delete(`${path}/:role`, async (ctx) => {
      const role = await authorization.unassignRole(holder, ctx.params.id!, ctx.params.role!);
      recordAdminChange(audit, ctx, {
        type: 'role.unassigned',
        ...holderRef(holder, ctx.params.id!),
        data: { role: role.name, holder },
      });
      ctx.status = 204;
    });
  }

  r.get('/users/:id/permissions', async (ctx) => {
    ctx.body = await authorization.effectivePermissions(ctx.params.id!);
  });
  r.put('/users/:id/permissions', async (ctx) => {
    const permission = parseBody(permissionSchema, ctx.request.body);
    await authorization.grantPermission(ctx.params.id!, permission);
    recordAdminChange(audit, ctx, { type: 'permission.granted', subject: ctx.params.id!, data: permission });
    ctx.status = 204;
  });
  // DELETE bodies are not read (proxies may drop them): the permission is named in the query.
  r.delete('/users/:id/permissions', async (ctx) => {
    const permission = parseBody(permissionSchema, { resource: ctx.query.resource, scope: ctx.query.scope });
    await authorization.revokePermission(ctx.params.id!, permission);
    recordAdminChange(audit, ctx, { type: 'permission.revoked', subject: ctx.params.id!, data: permission });
    ctx.status = 204;
  });
}
