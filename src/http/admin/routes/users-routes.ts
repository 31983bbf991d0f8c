import type Router from '@koa/router';
import { z } from 'zod';
import { publicUser } from '../../../domain/accounts/user.js';
import type { Users } from '../../../domain/accounts/users.js';
import { pageParams, parseBody } from '../validate.js';

const emailSchema = z.string().trim().max(320).regex(/^[^\s@]+@[^\s@]+$/, 'must be an email address');
const createUserSchema = z.object({
  email: emailSchema,
  password: z.string().max(4096).optional(),
  name: z.string().max(200).nullable().optional(),
  email_verified: z.boolean().optional(),
}).strict();
const updateUserSchema = z.object({
  email: emailSchema.optional(),
  password: z.string().max(4096).optional(),
  name: z.string().max(200).nullable().optional(),
  email_verified: z.boolean().optional(),
  disabled: z.boolean().optional(),
}).strict();

/** /admin/users: accounts; passwords go in, never come out. */
export function usersRoutes(r: Router, users: Users): void {
  r.post('/users', async (ctx) => {
    const input = parseBody(createUserSchema, ctx.request.body);
    const user = await users.create({ email: input.email, password: input.password, name: input.name, emailVerified: input.email_verified });
    ctx.state.log.info({ event: 'user.created', userId: user.id }, 'user created');
    ctx.status = 201;
    ctx.set('Location', `/admin/users/${user.id}`);
    ctx.body = publicUser(user);
  });
  r.get('/users', async (ctx) => {
    const page = pageParams(ctx.query);
    const items = (await users.list(page)).map(publicUser);
    ctx.body = { items, next_cursor: items.length === page.limit ? items.at(-1)!.id : null };
  });
  r.get('/users/:id', async (ctx) => { ctx.body = publicUser(await users.get(ctx.params.id!)); });
  r.patch('/users/:id', async (ctx) => {
    const input = parseBody(updateUserSchema, ctx.request.body);
    const user = await users.update(ctx.params.id!, {
      email: input.email, password: input.password, name: input.name, emailVerified: input.email_verified, disabled: input.disabled,
    });
    ctx.state.log.info({ event: 'user.updated', userId: user.id, fields: Object.keys(input).filter((k) => k !== 'password') }, 'user updated');
    ctx.body = publicUser(user);
  });
  r.delete('/users/:id', async (ctx) => {
    await users.delete(ctx.params.id!);
    ctx.state.log.info({ event: 'user.deleted', userId: ctx.params.id }, 'user deleted');
    ctx.status = 204;
  });
}
