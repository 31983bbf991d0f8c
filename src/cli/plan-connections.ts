import type { AdminClient } from './admin-client.js';
import type { ConfigFile } from './config-file.js';
import { type Change, changedFields } from './plan-diff.js';

const enc = encodeURIComponent;
const SECRET = 'client_secret';

/**
 * Connections, by slug. The admin API has no field to mark a connection as made by apply, so
 * apply creates and updates the connections the file lists and never deletes one. The client
 * secret cannot be compared (it is never returned): it is sent when the connection is created or
 * when the server holds none; rotate it with PATCH /admin/connections/:id.
 */
export function connectionChanges(file: ConfigFile, state: { connections: any[] }, conflicts: string[]): Change[] {
  const changes: Change[] = [];
  for (const want of file.connections) {
    const have = state.connections.find((c) => c.slug === want.slug);
    const key = want.slug;
    if (!have) {
      changes.push({
        action: 'create',
        kind: 'connection',
        key,
        run: (api: AdminClient) => api.post('/admin/connections', want).then(() => undefined),
      });
      continue;
    }
    if (have.type !== want.type) {
      conflicts.push(
        `connection ${key} is of type ${have.type} on the server, ${want.type} in the file; ` +
          'a type cannot change — delete it first',
      );
      continue;
    }
    const { [SECRET]: secret, ...desired } = want;
    const fields = changedFields(desired, have, ['domains']);
    if (secret !== undefined && have.client_secret_set === false) fields.push(SECRET);
    if (!fields.length) continue;
    const patch = Object.fromEntries(fields.map((f) => [f, want[f]]));
    changes.push({
      action: 'update',
      kind: 'connection',
      key,
      fields,
      run: (api: AdminClient) => api.patch(`/admin/connections/${enc(have.id)}`, patch).then(() => undefined),
    });
  }
  return changes;
}

/** Bookkeeping and derived fields of a connection's GET: not configuration. */
const READ_ONLY = new Set([
  'id',
  'created_at',
  'updated_at',
  'client_secret_set',
  'callback_url',
  'sp_metadata_url',
  'sp_entity_id',
  'acs_url',
]);

/** `${GOOGLE_CLIENT_SECRET}` for slug `google`: export writes a reference, the secret never leaves the server. */
export const secretEnvName = (slug: string) => `${slug.toUpperCase().replace(/[^A-Z0-9]+/g, '_')}_CLIENT_SECRET`;

/** A connection as the file would write it. */
export function connectionAsConfig(c: any): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(c)) if (!READ_ONLY.has(k) && v !== undefined && v !== null) out[k] = v;
  if (c.client_secret_set) out[SECRET] = `\${${secretEnvName(c.slug)}}`;
  return out;
}
