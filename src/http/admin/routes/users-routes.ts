import type Router from '@koa/router';
import { z } from 'zod';
import { publicUser } from '../../../domain/accounts/user.js';
import { emailField, nameField, passwordField } from '../../../domain/accounts/user-fields.js';
import { GatehouseError } from '../../../domain/errors.js';
import type { Users } from '../../../domain/accounts/users.js';
import type { AuditLog } from '../../../domain/audit/audit-log.js';
import { recordAdminChange } from '../admin-audit.js';
import { pageParams, parseBody } from '../validate.js';
import type { AccountLockout } from '../../../domain/authn/account-lockout.js';
import { lockoutFields } from './user-lockout-routes.js';

export const createUserSchema = z
  .object({
    email: emailField,
    password: passwordField.optional(),
    name: nameField.optional(),
    email_verified: z
      .boolean()
      .optional()
      .describe('Whether the email address is known to belong to the user. @default false'),
  })
  .strict();
export const updateUserSchema = z
  .object({
    email: emailField.optional(),
    password: passwordField.optional(),
    name: nameField.optional(),
    email_verified: z
      .boolean()
      .optional()
      .describe(
        'Whether the email address is known to belong to the user; a new email resets it to false unless set here.',
      ),
    disabled: z.boolean().optional().describe('A disabled user cannot sign in; their sessions and tokens are revoked.'),
  })
  .strict();

const searchSchema = z.string().trim().max(200, 'q must be at most 200 characters').optional();

/** ?q=: a case-insensitive substring of the email or name; empty means no filter. */
function searchParam(query: Record<string, unknown>): string | undefined {
  const parsed = searchSchema.safeParse(query.q);
  if (!parsed.success) throw new GatehouseError('invalid_request', 'q must be one string of at most 200 characters');
  return parsed.data || undefined;
}

/** /admin/users: accounts; passwords go in, never come out. */
export function usersRoutes(r: Router, users: Users, audit?: AuditLog, lockout?: AccountLockout): void {
  r.post('/users', async (ctx) => {
    const input = parseBody(createUserSchema, ctx.request.body);
    const user = await users.create({
      email: input.email,
      password: input.password,
      name: input.name,
      emailVerified: input.email_verified,
    });
    ctx.state.log.info({ event: 'user.created', userId: user.id }, 'user created');
    recordAdminChange(audit, ctx, {
      type: 'user.created',
      subject: user.id,
      data: { after: publicUser(user), password_set: input.password !== undefined },
    });
    ctx.status = 201;
    ctx.set('Location', `/admin/users/${user.id}`);
    ctx.body = publicUser(user);
  });
  r.get('/users', async (ctx) => {
    const page = pageParams(ctx.query);
    const items = (await users.list({ ...page, q: searchParam(ctx.query) })).map(publicUser);
    ctx.body = { items, next_cursor: items.length === page.limit ? items.at(-1)!.id : null };
  });
  // One user: with the password limit's state (failed_attempts, locked_until) when limits are on.
  r.get('/users/:id', async (ctx) => {
    const user = await users.get(ctx.params.id!);
    ctx.body = lockout ? { ...publicUser(user), ...(await lockoutFields(lockout, user)) } : publicUser(user);
  });
  r.patch('/users/:id', async (ctx) => {
    const input = parseBody(updateUserSchema, ctx.request.body);
    const before = publicUser(await users.get(ctx.params.id!));
    const user = await users.update(ctx.params.id!, {
      email: input.email,
      password: input.password,
      name: input.name,
      emailVerified: input.email_verified,
      disabled: input.disabled,
    });
    const fields = Object.keys(input).filter((k) => k !== 'password');
    ctx.state.log.info({ event: 'user.updated', userId: user.id, fields }, 'user updated');
    if (fields.length)
      recordAdminChange(audit, ctx, {
        type: 'user.updated',
        subject: user.id,
        data: { before, after: publicUser(user), changed: fields },
      });
    if (input.password !== undefined)
      recordAdminChange(audit, ctx, {
        type: 'user.password_changed',
        subject: user.id,
        data: { sessions_revoked: true },
      });
    ctx.body = publicUser(user);
  });
  // Same effect as PATCH {disabled}: disabling ends the user's sessions, grants and tokens.
  for (const [action, disabled] of [
    ['disable', true],
    ['enable', false],
  ] as const) {
    r.post(`/users/:id/${action}`, async (ctx) => {
      const before = publicUser(await users.get(ctx.params.id!));
      const user = await users.update(ctx.params.id!, { disabled });
      ctx.state.log.info({ event: `user.${action}d`, userId: user.id }, `user ${action}d`);
      recordAdminChange(audit, ctx, {
        type: 'user.updated',
        subject: user.id,
        data: { before, after: publicUser(user), changed: ['disabled'] },
      });
      ctx.body = publicUser(user);
    });
  }
  r.delete('/users/:id', async (ctx) => {
    const before = publicUser(await users.get(ctx.params.id!));
    await users.delete(ctx.params.id!);
    ctx.state.log.info({ event: 'user.deleted', userId: ctx.params.id }, 'user deleted');
    recordAdminChange(audit, ctx, { type: 'user.deleted', subject: before.id, data: { before } });
    ctx.status = 204;
  });
}
