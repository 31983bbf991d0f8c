import type { Knex } from 'knex';
import { affectedRows } from '../affected-rows.js';
import type { Database } from '../database.js';
import { Conflict } from '../../domain/errors.js';
import type { Permission, Role, RoleHolder, RolePatch, RoleRepository } from '../../domain/authorization/roles.js';

type RoleRow = {
  id: string;
  name: string;
  description: string | null;
  created_at: Date | string;
  updated_at: Date | string;
};
type PermissionRow = { role_id: string; resource: string; scope: string };

/** Where each kind of holder's assignments live. */
const ASSIGNMENTS: Record<RoleHolder, { table: string; column: string; holders: string; holderKey: string }> = {
  user: { table: 'user_roles', column: 'user_id', holders: 'users', holderKey: 'id' },
  client: { table: 'client_roles', column: 'client_id', holders: 'clients', holderKey: 'client_id' },
};

const byPermission = (a: Permission, b: Permission) =>
  a.resource.localeCompare(b.resource) || a.scope.localeCompare(b.scope);

function toRole(row: RoleRow, permissions: PermissionRow[]): Role {
  return {
    id: row.id,
    name: row.name,
    ...(row.description ? { description: row.description } : {}),
    permissions: permissions
      .filter((p) => p.role_id === row.id)
      .map(({ resource, scope }) => ({ resource, scope }))
      .sort(byPermission),
    created_at: new Date(row.created_at).toISOString(),
    updated_at: new Date(row.updated_at).toISOString(),
  };
}

function nameTaken(err: unknown): never {
  if (err instanceof Conflict) throw new Conflict('a role with this name already exists', { cause: err });
  throw err;
}

export class SqlRoleRepository implements RoleRepository {
  constructor(private readonly database: Database) {}
  private get db() {
    return this.database.db();
  }

  private async withPermissions(db: Knex, rows: RoleRow[]): Promise<Role[]> {
    if (!rows.length) return [];
    const permissions = await db<PermissionRow>('role_permissions').whereIn(
      'role_id',
      rows.map((r) => r.id),
    );
    return rows.map((r) => toRole(r, permissions));
  }

  async insert(role: { id: string; name: string; description?: string; permissions: Permission[] }): Promise<Role> {
    // PGlite runs one transaction at a time (other connections' statements wait for it): inside the
    // transaction use trx only.
    return this.db.transaction(async (trx) => {
      const [row] = await trx<RoleRow>('roles')
        .insert({ id: role.id, name: role.name, description: role.description ?? null })
        .returning('*')
        .catch(nameTaken);
      if (role.permissions.length)
        await trx('role_permissions').insert(role.permissions.map((p) => ({ role_id: role.id, ...p })));
      return (await this.withPermissions(trx, [row as RoleRow]))[0]!;
    });
  }

  async findByName(name: string): Promise<Role | undefined> {
    const row = await this.db<RoleRow>('roles').where({ name }).first();
    return row ? (await this.withPermissions(this.db, [row as RoleRow]))[0] : undefined;
  }

  async list(): Promise<Role[]> {
    return this.withPermissions(this.db, (await this.db<RoleRow>('roles').orderBy('name')) as RoleRow[]);
  }

  async update(id: string, changes: RolePatch): Promise<Role | undefined> {
    return this.db.transaction(async (trx) => {
      const set: Record<string, unknown> = { updated_at: new Date() };
      if (changes.name !== undefined) set.name = changes.name;
      if (changes.description !== undefined) set.description = changes.description;
      const [row] = await trx<RoleRow>('roles').where({ id }).update(set).returning('*').catch(nameTaken);
      if (!row) return undefined;
      if (changes.permissions) {
        await trx('role_permissions').where({ role_id: id }).delete();
        if (changes.permissions.length)
          await trx('role_permissions').insert(changes.permissions.map((p) => ({ role_id: id, ...p })));
      }
      return (await this.withPermissions(trx, [row as RoleRow]))[0];
    });
  }

  async delete(id: string): Promise<boolean> {
    return affectedRows(await this.db('roles').where({ id }).delete()) > 0;
  }

  async holderExists(holder: RoleHolder, id: string): Promise<boolean> {
    const { holders, holderKey } = ASSIGNMENTS[holder];
    return Boolean(
      await this.db(holders)
        .where({ [holderKey]: id })
        .first(holderKey),
    );
  }

  async assign(holder: RoleHolder, holderId: string, roleId: string): Promise<boolean> {
    const { table, column } = ASSIGNMENTS[holder];
    const rows = await this.db(table)
      .insert({ [column]: holderId, role_id: roleId })
      .onConflict([column, 'role_id'])
      .ignore()
      .returning('role_id');
    return rows.length > 0;
  }

  async unassign(holder: RoleHolder, holderId: string, roleId: string): Promise<boolean> {
    const { table, column } = ASSIGNMENTS[holder];
    return (
      affectedRows(
        await this.db(table)
          .where({ [column]: holderId, role_id: roleId })
          .delete(),
      ) > 0
    );
  }

  async rolesOf(holder: RoleHolder, holderId: string): Promise<Role[]> {
    const { table, column } = ASSIGNMENTS[holder];
    const rows = await this.db<RoleRow>('roles')
      .select('roles.*')
      .join(table, `${table}.role_id`, 'roles.id')
      .where(`${table}.${column}`, holderId)
      .orderBy('roles.name');
    return this.withPermissions(this.db, rows as RoleRow[]);
  }

  async grant(userId: string, permission: Permission): Promise<boolean> {
    const rows = await this.db('user_permissions')
      .insert({ user_id: userId, ...permission })
      .onConflict(['user_id', 'resource', 'scope'])
      .ignore()
      .returning('scope');
    return rows.length > 0;
  }

  async revoke(userId: string, permission: Permission): Promise<boolean> {
    return (
      affectedRows(
        await this.db('user_permissions')
          .where({ user_id: userId, ...permission })
          .delete(),
      ) > 0
    );
  }

  async directPermissions(userId: string): Promise<Permission[]> {
    const rows = await this.db<Permission & { user_id: string }>('user_permissions')
      .where({ user_id: userId })
      .select('resource', 'scope');
    return (rows as Permission[]).sort(byPermission);
  }

  async referencedResources(): Promise<string[]> {
    const result = await this.db.raw(
      'select resource from role_permissions union select resource from user_permissions',
    );
    return (result as { rows: Array<{ resource: string }> }).rows.map((r) => r.resource);
  }

  async isReferenced(resource: string): Promise<boolean> {
    if (await this.db('role_permissions').where({ resource }).first('resource')) return true;
    return Boolean(await this.db('user_permissions').where({ resource }).first('resource'));
  }

  async heldScopes(holder: RoleHolder, holderId: string, resource: string): Promise<string[] | undefined> {
    // One round trip on the token path: whether the API is RBAC-enforced, and what the holder has.
    const { table, column } = ASSIGNMENTS[holder];
    const direct =
      holder === 'user'
        ? 'union select scope from user_permissions where user_id = :holder and resource = :resource'
        : '';
    const result = await this.db.raw(
      `select
        (exists (select 1 from role_permissions where resource = :resource)
          or exists (select 1 from user_permissions where resource = :resource)) as enforced,
        coalesce((select array_agg(scope) from (
          select rp.scope from role_permissions rp join ${table} a on a.role_id = rp.role_id
          where a.${column} = :holder and rp.resource = :resource
          ${direct}
        ) held), '{}') as scopes`,
      { resource, holder: holderId },
    );
    const row = (result as { rows: Array<{ enforced: boolean; scopes: string[] | string }> }).rows[0]!;
    if (!row.enforced) return undefined;
    // pg parses text[]; PGlite too, but be lenient with the '{a,b}' literal form.
    return Array.isArray(row.scopes)
      ? row.scopes
      : String(row.scopes)
          .replace(/^\{|\}$/g, '')
          .split(',')
          .filter(Boolean);
  }
}
