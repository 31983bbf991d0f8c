import type { ConfigFile } from './config-file.js';
import { MANAGED_CONTACT, withTag } from './managed-marker.js';
import { connectionChanges } from './plan-connections.js';
import { type Change, type ChangeAction, changedFields } from './plan-diff.js';

export type { Change, ChangeAction };
import {
  clientAsConfig,
  isManagedClient,
  isManagedResource,
  isManagedRole,
  resourceAsConfig,
  roleAsConfig,
  type ServerState,
} from './server-state.js';

export interface Plan {
  changes: Change[];
  conflicts: string[];
}

/** The defaults the server fills in on registration (Clients.withDefaults), so they do not show as changes. */
function clientWithDefaults(c: Record<string, any>): Record<string, any> {
  const grantTypes = c.grant_types ?? ['authorization_code'];
  return {
    ...c,
    grant_types: grantTypes,
    response_types: c.response_types ?? (grantTypes.includes('authorization_code') ? ['code'] : []),
    redirect_uris: c.redirect_uris ?? [],
    token_endpoint_auth_method: c.token_endpoint_auth_method ?? 'client_secret_basic',
  };
}

const pick = (o: Record<string, unknown>, keys: string[]) => Object.fromEntries(keys.map((k) => [k, o[k]]));
const enc = encodeURIComponent;

/** What applying `file` to `state` would change; objects without the managed marker are never changed or deleted. */
export function computePlan(file: ConfigFile, state: ServerState): Plan {
  const changes: Change[] = [];
  const conflicts: string[] = [];
  const notManaged = (kind: string, key: string, fields: string[]) =>
    conflicts.push(
      `${kind} ${key} exists but was not created by gatehouse apply (differs in: ${fields.join(', ')}); it is left alone — change or delete it by hand, or remove it from the file`,
    );

  // Resources, by indicator.
  for (const want of file.resources) {
    const desired = { ...want } as Record<string, unknown>;
    const have = state.resources.find((r) => r.indicator === want.indicator);
    if (!have) {
      changes.push({
        action: 'create',
        kind: 'resource',
        key: want.indicator,
        run: (api) => api.post('/admin/resources', { ...want, name: withTag(want.name) }).then(() => undefined),
      });
      continue;
    }
    const current = resourceAsConfig(have);
    const fields = changedFields(desired, current, ['scopes']);
    // A managed resource's name is the file's, even when the file leaves it out.
    if (isManagedResource(have) && want.name === undefined && current.name !== undefined) fields.push('name');
    if (!fields.length) continue;
    if (!isManagedResource(have)) {
      notManaged('resource', want.indicator, fields);
      continue;
    }
    const patch = pick(desired, fields);
    if (fields.includes('name')) patch.name = withTag(want.name);
    changes.push({
      action: 'update',
      kind: 'resource',
      key: want.indicator,
      fields,
      run: (api) => api.patch(`/admin/resources/${enc(want.indicator)}`, patch).then(() => undefined),
    });
  }

  // Roles, by name. The marker is in the description, so a managed role's description is always compared.
  for (const want of file.roles) {
    const have = state.roles.find((r) => r.name === want.name);
    if (!have) {
      changes.push({
        action: 'create',
        kind: 'role',
        key: want.name,
        run: (api) =>
          api.post('/admin/roles', { ...want, description: withTag(want.description) }).then(() => undefined),
      });
      continue;
    }
    const current = roleAsConfig(have);
    const fields = changedFields({ permissions: want.permissions }, current, ['permissions']);
    if ((want.description !== undefined || isManagedRole(have)) && want.description !== current.description)
      fields.unshift('description');
    if (!fields.length) continue;
    if (!isManagedRole(have)) {
      notManaged('role', want.name, fields);
      continue;
    }
    const patch: Record<string, unknown> = {};
    if (fields.includes('description')) patch.description = withTag(want.description);
    if (fields.includes('permissions')) patch.permissions = want.permissions;
    changes.push({
      action: 'update',
      kind: 'role',
      key: want.name,
      fields,
      run: (api) => api.patch(`/admin/roles/${enc(want.name)}`, patch).then(() => undefined),
    });
  }

  // Managed roles: those on the server with the marker, and those this apply creates.
  const managedRoles = new Set([
    ...state.roles.filter(isManagedRole).map((r) => r.name),
    ...file.roles.filter((r) => !state.roles.some((s) => s.name === r.name)).map((r) => r.name),
  ]);
  const roleKnown = (role: string) =>
    state.roles.some((r) => r.name === role) || file.roles.some((r) => r.name === role);
  /** A managed client's role assignments, the same rule as user_roles: the listed roles are assigned, unlisted managed roles taken away. */
  const clientRoleChanges = (label: string, clientId: () => string, held: string[], wanted: string[]) => {
    const path = (role: string) => `/admin/clients/${enc(clientId())}/roles/${enc(role)}`;
    for (const role of wanted) {
      if (held.includes(role)) continue;
      if (!roleKnown(role)) {
        conflicts.push(`client ${label}: role ${role} is neither on the server nor in the file`);
        continue;
      }
      changes.push({
        action: 'assign',
        kind: 'client_role',
        key: `${role} to client ${label}`,
        run: (api) => api.put(path(role)).then(() => undefined),
      });
    }
    for (const role of held) {
      if (wanted.includes(role) || !managedRoles.has(role)) continue;
      changes.push({
        action: 'unassign',
        kind: 'client_role',
        key: `${role} from client ${label}`,
        run: (api) => api.delete(path(role)).then(() => undefined),
      });
    }
  };

  // Clients, by client_name: a managed client with that name, else any client with that name.
  // `roles` is the file's own field (role assignments), never client metadata.
  for (const { roles: wantRoles, ...want } of file.clients) {
    const named = state.clients.filter((c) => c.client_name === want.client_name);
    const managed = named.filter(isManagedClient);
    const desired = clientWithDefaults(want);
    const label = JSON.stringify(want.client_name);
    if (managed.length > 1) {
      conflicts.push(
        `client ${label}: ${managed.length} managed clients carry this name (${managed.map((c) => c.client_id).join(', ')}); delete all but one`,
      );
      continue;
    }
    const have = managed[0];
    if (!have && named.length) {
      const closest = named
        .map((c) => changedFields(desired, clientAsConfig(c), ['grant_types']))
        .sort((a, b) => a.length - b.length)[0]!;
      if (closest.length) notManaged('client', label, closest);
      if (wantRoles)
        conflicts.push(
          `client ${label} was not created by gatehouse apply, so its roles are left alone; assign them by hand or remove roles from its entry`,
        );
      continue;
    }
    const contacts = [...(want.contacts ?? []), MANAGED_CONTACT];
    if (!have) {
      // The client_id is only known once the create has run; the assignments after it read it from here.
      let createdId = '';
      changes.push({
        action: 'create',
        kind: 'client',
        key: label,
        run: async (api) => {
          const created = await api.post('/admin/clients', { ...want, contacts });
          createdId = created.client_id;
          return created.client_secret
            ? `client ${label}: client_id ${created.client_id}, client_secret ${created.client_secret} (shown once: store it now)`
            : `client ${label}: client_id ${created.client_id}`;
        },
      });
      if (wantRoles) clientRoleChanges(label, () => createdId, [], wantRoles);
      continue;
    }
    const fields = changedFields(desired, clientAsConfig(have), ['grant_types']);
    if (fields.length) {
      const patch = { ...pick(desired, fields), ...(fields.includes('contacts') ? { contacts } : {}) };
      changes.push({
        action: 'update',
        kind: 'client',
        key: label,
        fields,
        run: async (api) => {
          const updated = await api.patch(`/admin/clients/${enc(have.client_id)}`, patch);
          if (updated.client_secret)
            return `client ${label}: client_id ${have.client_id}, new client_secret ${updated.client_secret} (shown once: store it now)`;
        },
      });
    }
    if (wantRoles)
      clientRoleChanges(label, () => have.client_id, state.clientRoles.get(have.client_id) ?? [], wantRoles);
  }

  // User-role assignments: for each user in the file, its roles there are assigned; managed roles it holds but the file does not list are taken away.
  for (const entry of file.user_roles) {
    const held = state.userRoles.get(entry.email.toLowerCase());
    if (!held) {
      conflicts.push(`user_roles: no user with email ${entry.email} (gatehouse apply does not create users)`);
      continue;
    }
    const userId = held.user.id as string;
    for (const role of entry.roles) {
      if (held.roles.includes(role)) continue;
      if (!roleKnown(role)) {
        conflicts.push(`user_roles: role ${role} for ${entry.email} is neither on the server nor in the file`);
        continue;
      }
      changes.push({
        action: 'assign',
        kind: 'user_role',
        key: `${role} to ${entry.email}`,
        run: (api) => api.put(`/admin/users/${enc(userId)}/roles/${enc(role)}`).then(() => undefined),
      });
    }
    for (const role of held.roles) {
      if (entry.roles.includes(role) || !managedRoles.has(role)) continue;
      changes.push({
        action: 'unassign',
        kind: 'user_role',
        key: `${role} from ${entry.email}`,
        run: (api) => api.delete(`/admin/users/${enc(userId)}/roles/${enc(role)}`).then(() => undefined),
      });
    }
  }

  changes.push(...connectionChanges(file, state, conflicts));

  // Deletions last, roles before the resources their permissions name.
  for (const have of state.roles.filter(isManagedRole)) {
    if (file.roles.some((r) => r.name === have.name)) continue;
    changes.push({
      action: 'delete',
      kind: 'role',
      key: have.name,
      run: (api) => api.delete(`/admin/roles/${enc(have.name)}`).then(() => undefined),
    });
  }
  for (const have of state.resources.filter(isManagedResource)) {
    if (file.resources.some((r) => r.indicator === have.indicator)) continue;
    changes.push({
      action: 'delete',
      kind: 'resource',
      key: have.indicator,
      run: (api) => api.delete(`/admin/resources/${enc(have.indicator)}`).then(() => undefined),
    });
  }
  for (const have of state.clients.filter(isManagedClient)) {
    if (file.clients.some((c) => c.client_name === have.client_name)) continue;
    changes.push({
      action: 'delete',
      kind: 'client',
      key: `${JSON.stringify(have.client_name ?? '')} (${have.client_id})`,
      run: (api) => api.delete(`/admin/clients/${enc(have.client_id)}`).then(() => undefined),
    });
  }
  return { changes, conflicts };
}

const SIGN: Record<ChangeAction, string> = { create: '+', update: '~', delete: '-', assign: '+', unassign: '-' };

export function describeChange(c: Change): string {
  const what = c.kind === 'user_role' || c.kind === 'client_role' ? `role ${c.key}` : `${c.kind} ${c.key}`;
  return `${SIGN[c.action]} ${c.action} ${what}${c.fields?.length ? ` (${c.fields.join(', ')})` : ''}`;
}
