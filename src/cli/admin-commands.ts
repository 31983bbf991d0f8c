import { readFileSync } from 'node:fs';
import { ApiError, type AdminClient } from './admin-client.js';
import { printResult, UsageError } from './cli-output.js';

/** Parsed flags shared by every command (node:util parseArgs values). */
export type Flags = Record<string, string | boolean | string[] | undefined>;

export interface CommandContext {
  api: AdminClient;
  args: string[];
  flags: Flags;
  table: boolean;
  env: NodeJS.ProcessEnv;
}

const enc = encodeURIComponent;
const list = (v: unknown): string[] => (Array.isArray(v) ? v : typeof v === 'string' ? [v] : []);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

function one(ctx: CommandContext, what: string): string {
  if (ctx.args.length !== 1) throw new UsageError(`expected exactly one ${what}`);
  return ctx.args[0]!;
}

function jsonFlag(ctx: CommandContext): Record<string, unknown> {
  const raw = str(ctx.flags.json);
  if (raw === undefined) return {};
  try {
    const v = JSON.parse(raw);
    if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error('not an object');
    return v;
  } catch (err) {
    throw new UsageError(`--json must be a JSON object: ${(err as Error).message}`);
  }
}

async function userId(ctx: CommandContext, idOrEmail: string): Promise<string> {
  const user = await ctx.api.findUser(idOrEmail);
  if (!user) throw new ApiError(404, 'not_found', `user ${idOrEmail} not found`);
  return user.id;
}

/** A connection by id, or by slug (what people remember). */
async function connection(ctx: CommandContext, idOrSlug: string): Promise<any> {
  try {
    return await ctx.api.get(`/admin/connections/${enc(idOrSlug)}`);
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 404) throw err;
    const found = ((await ctx.api.get('/admin/connections')).items as any[]).find((c) => c.slug === idOrSlug);
    if (!found) throw err;
    return found;
  }
}

const COLUMNS = {
  clients: ['client_id', 'client_name', 'token_endpoint_auth_method', 'grant_types', 'scope'],
  users: ['id', 'email', 'name', 'email_verified', 'disabled'],
  resources: ['indicator', 'name', 'scopes', 'access_token_format'],
  roles: ['name', 'description', 'permissions'],
  keys: ['kid', 'alg', 'state', 'activated_at', 'retired_at'],
  factors: ['id', 'type', 'name', 'created_at', 'last_used_at'],
  connections: ['id', 'type', 'slug', 'name', 'enabled', 'domains'],
  outbox: ['id', 'to', 'template', 'status', 'attempts', 'created_at', 'sent_at'],
};

const show = (ctx: CommandContext, value: unknown, columns?: string[]) =>
  printResult(value, { table: ctx.table, columns });
const summarizeScopes = (rs: any[]) => rs.map((r) => ({ ...r, scopes: (r.scopes ?? []).map((s: any) => s.name) }));
const summarizePermissions = (rs: any[]) =>
  rs.map((r) => ({ ...r, permissions: (r.permissions ?? []).map((p: any) => `${p.resource} ${p.scope}`) }));

type Handler = (ctx: CommandContext) => Promise<void>;

/** `gatehouse <group> <verb>`: each handler prints the API's JSON answer (or a table). */
export const COMMANDS: Record<string, Record<string, Handler>> = {
  clients: {
    list: async (ctx) => show(ctx, await ctx.api.all('/admin/clients'), COLUMNS.clients),
    get: async (ctx) => show(ctx, await ctx.api.get(`/admin/clients/${enc(one(ctx, 'client_id'))}`), COLUMNS.clients),
    delete: async (ctx) => {
      const id = one(ctx, 'client_id');
      await ctx.api.delete(`/admin/clients/${enc(id)}`);
      show(ctx, { deleted: id });
    },
    create: async (ctx) => {
      if (ctx.args.length) throw new UsageError('clients create takes flags only');
      const body: Record<string, unknown> = { ...jsonFlag(ctx) };
      if (str(ctx.flags.name)) body.client_name = ctx.flags.name;
      if (list(ctx.flags['redirect-uri']).length) body.redirect_uris = list(ctx.flags['redirect-uri']);
      if (list(ctx.flags['grant-type']).length) body.grant_types = list(ctx.flags['grant-type']);
      if (str(ctx.flags.scope)) body.scope = ctx.flags.scope;
      if (str(ctx.flags['auth-method'])) body.token_endpoint_auth_method = ctx.flags['auth-method'];
      show(ctx, await ctx.api.post('/admin/clients', body), [...COLUMNS.clients, 'client_secret']);
    },
  },
  users: {
    list: async (ctx) =>
      show(ctx, await ctx.api.all('/admin/users', str(ctx.flags.q) ? { q: str(ctx.flags.q)! } : {}), COLUMNS.users),
    get: async (ctx) =>
      show(
        ctx,
        await ctx.api.get(`/admin/users/${enc(await userId(ctx, one(ctx, 'user id or email')))}`),
        COLUMNS.users,
      ),
    create: async (ctx) => {
      const email = str(ctx.flags.email);
      if (!email || ctx.args.length) throw new UsageError('users create needs --email (and takes no arguments)');
      const body: Record<string, unknown> = { email };
      if (str(ctx.flags.name)) body.name = ctx.flags.name;
      if (ctx.flags['email-verified']) body.email_verified = true;
      // A password never goes on the command line (shell history, ps): it is read from a named variable.
      const pwVar = str(ctx.flags['password-env']);
      if (pwVar) {
        if (ctx.env[pwVar] === undefined)
          throw new UsageError(`--password-env: environment variable ${pwVar} is not set`);
        body.password = ctx.env[pwVar];
      }
      show(ctx, await ctx.api.post('/admin/users', body), COLUMNS.users);
    },
    disable: async (ctx) =>
      show(
        ctx,
        await ctx.api.post(`/admin/users/${enc(await userId(ctx, one(ctx, 'user id or email')))}/disable`),
        COLUMNS.users,
      ),
    enable: async (ctx) =>
      show(
        ctx,
        await ctx.api.post(`/admin/users/${enc(await userId(ctx, one(ctx, 'user id or email')))}/enable`),
        COLUMNS.users,
      ),
    // Clears the failed-password count and any wait or lock (audited as account.unlocked by the admin).
    unlock: async (ctx) =>
      show(ctx, await ctx.api.post(`/admin/users/${enc(await userId(ctx, one(ctx, 'user id or email')))}/unlock`), [
        ...COLUMNS.users,
        'failed_attempts',
        'locked_until',
      ]),
    delete: async (ctx) => {
      const id = await userId(ctx, one(ctx, 'user id or email'));
      await ctx.api.delete(`/admin/users/${enc(id)}`);
      show(ctx, { deleted: id });
    },
    factors: async (ctx) => {
      const id = await userId(ctx, one(ctx, 'user id or email'));
      show(ctx, await ctx.api.get(`/admin/users/${enc(id)}/factors`), COLUMNS.factors);
    },
    /** Every second factor (a lost device), or one with --factor <id>; the password stays. */
    'reset-factors': async (ctx) => {
      const id = await userId(ctx, one(ctx, 'user id or email'));
      const factor = str(ctx.flags.factor);
      if (factor !== undefined) {
        await ctx.api.delete(`/admin/users/${enc(id)}/factors/${enc(factor)}`);
        show(ctx, { removed: 1, factor });
        return;
      }
      show(ctx, await ctx.api.delete(`/admin/users/${enc(id)}/factors`));
    },
  },
  resources: {
    list: async (ctx) => {
      const items = (await ctx.api.get('/admin/resources')).items;
      show(ctx, ctx.table ? summarizeScopes(items) : items, COLUMNS.resources);
    },
    delete: async (ctx) => {
      const id = one(ctx, 'indicator');
      await ctx.api.delete(`/admin/resources/${enc(id)}`);
      show(ctx, { deleted: id });
    },
    create: async (ctx) => {
      const indicator = str(ctx.flags.indicator) ?? ctx.args[0];
      if (!indicator || ctx.args.length > (str(ctx.flags.indicator) ? 0 : 1))
        throw new UsageError('resources create needs one indicator (--indicator or an argument)');
      const body: Record<string, unknown> = { ...jsonFlag(ctx), indicator };
      if (str(ctx.flags.name)) body.name = ctx.flags.name;
      // --scope name or --scope name=description (scope names often hold a colon, like orders:read).
      if (list(ctx.flags.scope).length) {
        body.scopes = list(ctx.flags.scope).map((s) => {
          const at = s.indexOf('=');
          return at < 0 ? { name: s } : { name: s.slice(0, at), description: s.slice(at + 1) };
        });
      }
      show(ctx, await ctx.api.post('/admin/resources', body), COLUMNS.resources);
    },
  },
  connections: {
    list: async (ctx) => show(ctx, (await ctx.api.get('/admin/connections')).items, COLUMNS.connections),
    get: async (ctx) => show(ctx, await connection(ctx, one(ctx, 'connection id or slug')), COLUMNS.connections),
    delete: async (ctx) => {
      const { id } = await connection(ctx, one(ctx, 'connection id or slug'));
      await ctx.api.delete(`/admin/connections/${enc(id)}`);
      show(ctx, { deleted: id });
    },
    create: async (ctx) => {
      if (ctx.args.length) throw new UsageError('connections create takes flags only');
      const body: Record<string, unknown> = { ...jsonFlag(ctx) };
      for (const [flag, field] of [
        ['type', 'type'],
        ['name', 'name'],
        ['preset', 'preset'],
        ['issuer', 'issuer'],
        ['client-id', 'client_id'],
        ['apple-team-id', 'apple_team_id'],
        ['apple-key-id', 'apple_key_id'],
        ['idp-metadata-url', 'idp_metadata_url'],
      ] as const)
        if (str(ctx.flags[flag])) body[field] = ctx.flags[flag];
      // SAML: the IdP's metadata as a file downloaded from it (or --idp-metadata-url).
      const metadataFile = str(ctx.flags['idp-metadata-file']);
      if (metadataFile) {
        try {
          body.idp_metadata_xml = readFileSync(metadataFile, 'utf8');
        } catch (err) {
          throw new UsageError(`--idp-metadata-file: cannot read ${metadataFile} (${(err as Error).message})`);
        }
      }
      if (list(ctx.flags.domain).length) body.domains = list(ctx.flags.domain);
      if (list(ctx.flags.scope).length) body.scopes = list(ctx.flags.scope);
      // The secret comes from the environment: a command line is visible to every local user (ps).
      const secretVar = str(ctx.flags['client-secret-env']);
      if (secretVar) {
        if (ctx.env[secretVar] === undefined)
          throw new UsageError(`--client-secret-env: environment variable ${secretVar} is not set`);
        body.client_secret = ctx.env[secretVar];
      }
      show(ctx, await ctx.api.post('/admin/connections', body), COLUMNS.connections);
    },
  },
  roles: {
    list: async (ctx) => {
      const items = (await ctx.api.get('/admin/roles')).items;
      show(ctx, ctx.table ? summarizePermissions(items) : items, COLUMNS.roles);
    },
    delete: async (ctx) => {
      const name = one(ctx, 'role name');
      await ctx.api.delete(`/admin/roles/${enc(name)}`);
      show(ctx, { deleted: name });
    },
    create: async (ctx) => {
      const name = str(ctx.flags.name) ?? ctx.args[0];
      if (!name || ctx.args.length > (str(ctx.flags.name) ? 0 : 1))
        throw new UsageError('roles create needs one role name (--name or an argument)');
      const body: Record<string, unknown> = { name };
      if (str(ctx.flags.description)) body.description = ctx.flags.description;
      // --permission "<resource> <scope>": neither an indicator nor a scope token holds a space.
      body.permissions = list(ctx.flags.permission).map((p) => {
        const [resource, scope, ...rest] = p.trim().split(/\s+/);
        if (!resource || !scope || rest.length) throw new UsageError(`--permission must be "<resource> <scope>": ${p}`);
        return { resource, scope };
      });
      show(ctx, await ctx.api.post('/admin/roles', body), COLUMNS.roles);
    },
    assign: (ctx) => assignment(ctx, 'PUT'),
    unassign: (ctx) => assignment(ctx, 'DELETE'),
  },
  keys: {
    list: async (ctx) => show(ctx, (await ctx.api.get('/admin/keys')).items, COLUMNS.keys),
    rotate: async (ctx) => {
      if (ctx.args.length) throw new UsageError('keys rotate takes flags only');
      const body: Record<string, unknown> = {};
      if (str(ctx.flags.alg)) body.alg = ctx.flags.alg;
      if (ctx.flags.emergency) body.emergency = true;
      const publish = str(ctx.flags['publish-seconds']);
      if (publish !== undefined) {
        if (!/^\d+$/.test(publish)) throw new UsageError('--publish-seconds must be a whole number of seconds');
        body.publish_seconds = Number(publish);
      }
      const result = await ctx.api.post('/admin/keys/rotate', body);
      show(ctx, ctx.table ? result.items : result, COLUMNS.keys);
    },
    revoke: async (ctx) => show(ctx, await ctx.api.post(`/admin/keys/${enc(one(ctx, 'kid'))}/revoke`)),
  },
  outbox: {
    /** The newest emails (all, or to one address): read mail when SMTP_URL is not set, or check delivery. */
    list: async (ctx) => {
      if (ctx.args.length) throw new UsageError('outbox list takes flags only: [--to address] [--limit N]');
      const query = new URLSearchParams();
      if (str(ctx.flags.to)) query.set('to', str(ctx.flags.to)!);
      const limit = str(ctx.flags.limit);
      if (limit !== undefined) {
        if (!/^\d+$/.test(limit) || Number(limit) < 1 || Number(limit) > 200)
          throw new UsageError('--limit must be an integer from 1 to 200');
        query.set('limit', limit);
      }
      show(ctx, await ctx.api.get(`/admin/outbox${query.size ? `?${query}` : ''}`), COLUMNS.outbox);
    },
  },
};

async function assignment(ctx: CommandContext, method: 'PUT' | 'DELETE'): Promise<void> {
  const role = one(ctx, 'role name');
  const user = str(ctx.flags.user);
  const client = str(ctx.flags.client);
  if (!user === !client) throw new UsageError('give exactly one of --user <id|email> or --client <client_id>');
  const holder = user ? `/admin/users/${enc(await userId(ctx, user))}` : `/admin/clients/${enc(client!)}`;
  await ctx.api.request(method, `${holder}/roles/${enc(role)}`);
  show(ctx, { [method === 'PUT' ? 'assigned' : 'unassigned']: role, ...(user ? { user } : { client }) });
}
