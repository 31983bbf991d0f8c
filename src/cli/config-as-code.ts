import { stringify as toYaml } from 'yaml';
import type { AdminClient } from './admin-client.js';
import type { ConfigFile } from './config-file.js';
import { computePlan, describeChange, type Plan } from './plan.js';
import { connectionAsConfig } from './plan-connections.js';
import { clientAsConfig, readServerState, resourceAsConfig, roleAsConfig } from './server-state.js';

export interface Output {
  out(line: string): void;
  err(line: string): void;
}

export async function planFor(api: AdminClient, file: ConfigFile): Promise<Plan> {
  const state = await readServerState(
    api,
    file.user_roles.map((u) => u.email),
  );
  return computePlan(file, state);
}

function report(plan: Plan, io: Output): boolean {
  for (const c of plan.conflicts) io.err(`! ${c}`);
  return plan.conflicts.length === 0;
}

/** `gatehouse plan`: prints the changes; exit 1 when something in the file cannot be applied. */
export async function planCommand(api: AdminClient, file: ConfigFile, io: Output): Promise<number> {
  const plan = await planFor(api, file);
  for (const c of plan.changes) io.out(describeChange(c));
  const ok = report(plan, io);
  io.out(plan.changes.length ? `Plan: ${plan.changes.length} change(s).` : 'No changes. The server matches the file.');
  return ok ? 0 : 1;
}

/** `gatehouse apply`: nothing is changed when any entry conflicts; otherwise each change in order. */
export async function applyCommand(api: AdminClient, file: ConfigFile, io: Output): Promise<number> {
  const plan = await planFor(api, file);
  if (!report(plan, io)) {
    io.err('apply refused: nothing was changed');
    return 1;
  }
  if (!plan.changes.length) {
    io.out('No changes. The server matches the file.');
    return 0;
  }
  for (const c of plan.changes) {
    io.out(describeChange(c));
    const shown = await c.run(api);
    if (shown) io.out(`  ${shown}`);
  }
  io.out(`Applied ${plan.changes.length} change(s).`);
  return 0;
}

/**
 * `gatehouse export`: the server's resources, roles, clients (those with a unique client_name,
 * the key of a client in the file, with the roles of those apply created) and user-role
 * assignments and connections, in the file format. Secrets never leave the server: a connection's
 * client secret is written as an environment reference (`${GOOGLE_CLIENT_SECRET}` for slug google).
 */
export async function exportCommand(api: AdminClient, io: Output): Promise<number> {
  const state = await readServerState(api, 'all');
  const names = new Map<string, number>();
  for (const c of state.clients) if (c.client_name) names.set(c.client_name, (names.get(c.client_name) ?? 0) + 1);
  const clients = state.clients.filter((c) => {
    if (!c.client_name) {
      io.err(`# skipped client ${c.client_id}: it has no client_name, which is its key in the file`);
      return false;
    }
    if (names.get(c.client_name)! > 1) {
      io.err(`# skipped client ${c.client_id}: client_name ${JSON.stringify(c.client_name)} is not unique`);
      return false;
    }
    return true;
  });
  const doc = {
    resources: state.resources.map(resourceAsConfig),
    roles: state.roles.map(roleAsConfig),
    clients: clients.map((c) => {
      const roles = state.clientRoles.get(c.client_id);
      return roles?.length ? { ...clientAsConfig(c), roles } : clientAsConfig(c);
    }),
    user_roles: [...state.userRoles.values()]
      .filter((u) => u.roles.length)
      .map((u) => ({ email: u.user.email, roles: u.roles })),
    ...(state.connections.length ? { connections: state.connections.map(connectionAsConfig) } : {}),
  };
  io.out(toYaml(doc).trimEnd());
  return 0;
}
