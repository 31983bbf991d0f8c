import type { AdminClient } from './admin-client.js';
import { hasContact, hasTag, withoutContact, withoutTag } from './managed-marker.js';

/** What the admin API currently holds, as far as config-as-code is concerned. */
export interface ServerState {
  resources: any[];
  roles: any[];
  clients: any[];
  /** Users with at least one role (only when `withAllUserRoles`), or the users the file names. */
  userRoles: Map<string, { user: any; roles: string[] }>;
  /** Role names held by each managed client, by client_id; clients made by hand are not read. */
  clientRoles: Map<string, string[]>;
  /** Upstream identity providers (GET /admin/connections). */
  connections: any[];
}

export async function readServerState(api: AdminClient, emails: string[] | 'all'): Promise<ServerState> {
  const [resources, roles, clients, connections] = await Promise.all([
    // Built-in APIs (the admin API) are Gatehouse's own: never exported, planned or deleted.
    api.get('/admin/resources').then((r) => (r.items as any[]).filter((x) => x.built_in !== true)),
    api.get('/admin/roles').then((r) => r.items as any[]),
    api.all('/admin/clients'),
    api.get('/admin/connections').then((r) => r.items as any[]),
  ]);
  const userRoles = new Map<string, { user: any; roles: string[] }>();
  const users =
    emails === 'all'
      ? await api.all('/admin/users')
      : (await Promise.all(emails.map((e) => api.findUser(e)))).filter(Boolean);
  for (const user of users) {
    const held = (await api.get(`/admin/users/${encodeURIComponent(user.id)}/roles`)).items as any[];
    userRoles.set(String(user.email).toLowerCase(), { user, roles: held.map((r) => r.name).sort() });
  }
  const clientRoles = new Map<string, string[]>();
  for (const client of clients.filter(isManagedClient)) {
    const held = (await api.get(`/admin/clients/${encodeURIComponent(client.client_id)}/roles`)).items as any[];
    clientRoles.set(client.client_id, held.map((r) => r.name).sort());
  }
  return { resources, roles, clients, userRoles, clientRoles, connections };
}

export const isManagedResource = (r: any) => hasTag(r.name);
export const isManagedRole = (r: any) => hasTag(r.description);
export const isManagedClient = (c: any) => hasContact(c.contacts);

/** Server fields that are bookkeeping, not configuration. */
const CLIENT_READ_ONLY = new Set(['client_id', 'client_id_issued_at', 'client_secret_expires_at']);
const RESOURCE_READ_ONLY = new Set(['created_at', 'updated_at']);

const dropEmpty = (o: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== null));

/** A resource as the file would write it. */
export function resourceAsConfig(r: any): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(r)) if (!RESOURCE_READ_ONLY.has(k)) out[k] = v;
  out.name = withoutTag(r.name);
  out.scopes = (r.scopes ?? []).map((s: any) => dropEmpty({ name: s.name, description: s.description }));
  return dropEmpty(out);
}

export function roleAsConfig(r: any): Record<string, unknown> {
  return dropEmpty({
    name: r.name,
    description: withoutTag(r.description),
    permissions: (r.permissions ?? []).map((p: any) => ({ resource: p.resource, scope: p.scope })),
  });
}

export function clientAsConfig(c: any): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(c)) if (!CLIENT_READ_ONLY.has(k)) out[k] = v;
  out.contacts = withoutContact(c.contacts);
  return dropEmpty(out);
}
