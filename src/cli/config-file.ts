import fs from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { clientMetadataSchema, type ClientMetadataInput } from '../domain/clients/client-metadata.js';
import { resourceInputSchema, type ResourceInput } from '../domain/resources/resources.js';
import { roleInputSchema, type RoleInput } from '../domain/authorization/roles.js';
import { connectionInputSchema, slugFrom } from '../domain/federation/connection-input.js';
import { UsageError } from './cli-output.js';

/**
 * gatehouse.yaml, the config-as-code file (see README "CLI and config-as-code"):
 *   resources:  [{indicator, name?, scopes: [{name, description?}], …admin API resource fields}]
 *   roles:      [{name, description?, permissions: [{resource, scope}]}]
 *   clients:    [{client_name, roles?: [role names], …RFC 7591 metadata}]   client_name is the key (unique in the file);
 *               roles is the file's own field (the client's role assignments), never sent as metadata
 *   user_roles: [{email, roles: [role names]}]
 *   connections: [{type, name, slug?, …admin API connection fields}]   slug (default from name) is the key;
 *               client_secret must be an environment reference like ${GOOGLE_CLIENT_SECRET}
 * Entries are validated with the same zod schemas the admin API uses.
 */
export interface ConfigFile {
  resources: ResourceInput[];
  roles: RoleInput[];
  clients: (ClientMetadataInput & { client_name: string; roles?: string[] })[];
  user_roles: { email: string; roles: string[] }[];
  /** Only the fields the file sets (normalized: scopes as arrays, domains lower-case), plus the slug. */
  connections: (Record<string, unknown> & { slug: string; type: string })[];
}

const fileSchema = z
  .object({
    resources: z.array(resourceInputSchema).default([]),
    roles: z.array(roleInputSchema).default([]),
    clients: z
      .array(
        clientMetadataSchema.extend({
          client_name: z.string().min(1).max(200),
          roles: z.array(z.string().min(1)).optional(),
        }),
      )
      .default([]),
    user_roles: z.array(z.object({ email: z.string().min(3), roles: z.array(z.string().min(1)) }).strict()).default([]),
    connections: z.array(z.record(z.string(), z.unknown())).default([]),
  })
  .strict();

/** Field names that hold secrets: their values must be `${ENV_NAME}` references, never literals. */
const SECRET_FIELD = /secret|password|passphrase|private_key|api_key|credential/i;
const ENV_REF = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;
const WHOLE_ENV_REF = /^\$\{[A-Za-z_][A-Za-z0-9_]*\}$/;

/** Reads, checks and resolves a config file; every problem with it is a UsageError (exit 2). */
export function loadConfigFile(file: string, env: NodeJS.ProcessEnv): ConfigFile {
  let raw: unknown;
  try {
    raw = parseYaml(fs.readFileSync(file, 'utf8')) ?? {};
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${(err as Error).message}`);
  }
  refuseLiteralSecrets(raw, '');
  const resolved = resolveEnvRefs(raw, env, '');
  const parsed = fileSchema.safeParse(resolved);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new UsageError(`${file}: ${issue.path.join('.') || '(top level)'}: ${issue.message}`);
  }
  const config = { ...parsed.data, connections: parsed.data.connections.map((c, i) => connectionEntry(file, c, i)) };
  unique(
    config.resources.map((r) => r.indicator),
    'resources[].indicator',
  );
  unique(
    config.roles.map((r) => r.name),
    'roles[].name',
  );
  unique(
    config.clients.map((c) => c.client_name),
    'clients[].client_name',
  );
  unique(
    config.connections.map((c) => c.slug),
    'connections[].slug',
  );
  unique(
    config.user_roles.map((u) => u.email.toLowerCase()),
    'user_roles[].email',
  );
  return config;
}

/**
 * A connection entry, checked with the admin API's schema. Only the keys the file sets are kept
 * (in their normalized form), so a field left out of the file is left as it is on the server.
 */
function connectionEntry(file: string, raw: Record<string, unknown>, i: number): ConfigFile['connections'][number] {
  const parsed = connectionInputSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new UsageError(`${file}: connections.${i}.${issue.path.join('.')}: ${issue.message}`);
  }
  const normalized = parsed.data as Record<string, unknown>;
  const entry = Object.fromEntries(Object.keys(raw).map((k) => [k, normalized[k]]));
  return { ...entry, type: parsed.data.type, slug: parsed.data.slug ?? slugFrom(parsed.data.name) };
}

function unique(keys: string[], what: string): void {
  const seen = new Set<string>();
  for (const k of keys) {
    if (seen.has(k)) throw new UsageError(`${what} must be unique: ${k} appears twice`);
    seen.add(k);
  }
}

function refuseLiteralSecrets(value: unknown, at: string): void {
  if (Array.isArray(value)) {
    value.forEach((v, i) => {
      refuseLiteralSecrets(v, `${at}[${i}]`);
    });
    return;
  }
  if (!value || typeof value !== 'object') return;
  for (const [k, v] of Object.entries(value)) {
    const where = at ? `${at}.${k}` : k;
    if (SECRET_FIELD.test(k) && v !== null && v !== undefined && !(typeof v === 'string' && WHOLE_ENV_REF.test(v))) {
      throw new UsageError(
        `${where} is a secret: write it as an environment reference like \${MY_SECRET}, never as a literal`,
      );
    }
    refuseLiteralSecrets(v, where);
  }
}

function resolveEnvRefs(value: unknown, env: NodeJS.ProcessEnv, at: string): unknown {
  if (typeof value === 'string') {
    return value.replace(ENV_REF, (_, name: string) => {
      const v = env[name];
      if (v === undefined) throw new UsageError(`${at}: environment variable ${name} is not set`);
      return v;
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => resolveEnvRefs(v, env, `${at}[${i}]`));
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, resolveEnvRefs(v, env, at ? `${at}.${k}` : k)]),
    );
  }
  return value;
}
