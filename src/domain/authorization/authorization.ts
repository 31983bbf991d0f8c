import { randomUUID } from 'node:crypto';
import { conflict, invalidRequest, notFound } from '../errors.js';
import type { Permission, ResourceScopes, Role, RoleHolder, RoleInput, RolePatch, RoleRepository } from './roles.js';

/** Effective permissions of a user: the union of their roles' permissions and direct grants. */
export interface EffectivePermissions {
  roles: string[];
  direct: Permission[];
  effective: Permission[];
}

const key = (p: Permission) => `${p.resource}\u0000${p.scope}`;

function unique(permissions: Permission[]): Permission[] {
  const seen = new Map<string, Permission>();
  for (const p of permissions) seen.set(key(p), { resource: p.resource, scope: p.scope });
  return [...seen.values()].sort((a, b) => key(a).localeCompare(key(b)));
}

/**
 * Roles and permissions (RBAC). A resource is RBAC-enforced as soon as any role or direct grant
 * names it; tokens for it then carry only the scopes the subject holds. Nothing here is cached:
 * a change to roles applies to the next token.
 */
/**
 * Which APIs are RBAC-enforced changes only when roles or direct grants are written. Each instance
 * keeps the set for this long (its own writes forget it at once): the same bounded staleness as an
 * API's other settings (Resources.RESOURCE_CACHE_MS). Who holds what is read per token, uncached.
 */
const ENFORCED_CACHE_MS = 5000;

export class Authorization {
  #enforced: { at: number; resources: Set<string> } | undefined;

  constructor(
    private readonly repo: RoleRepository,
    private readonly resourceScopes: ResourceScopes,
  ) {}

  /** Every permission must name a scope that its registered resource declares. */
  private async validate(permissions: Permission[]): Promise<void> {
    const byResource = new Map<string, string[] | undefined>();
    for (const p of permissions) {
      if (!byResource.has(p.resource)) byResource.set(p.resource, await this.resourceScopes(p.resource));
      const declared = byResource.get(p.resource);
      if (!declared) throw invalidRequest(`resource ${p.resource} is not registered`);
      if (!declared.includes(p.scope)) throw invalidRequest(`resource ${p.resource} declares no scope ${p.scope}`);
    }
  }

  async createRole(input: RoleInput): Promise<Role> {
    await this.validate(input.permissions);
    if (await this.repo.findByName(input.name)) throw conflict('a role with this name already exists');
    const created = await this.repo.insert({
      id: randomUUID(),
      name: input.name,
      description: input.description,
      permissions: unique(input.permissions),
    });
    this.forgetEnforced();
    return created;
  }

  async getRole(name: string): Promise<Role> {
    const role = await this.repo.findByName(name);
    if (!role) throw notFound('role');
    return role;
  }

  listRoles(): Promise<Role[]> {
    return this.repo.list();
  }

  async updateRole(name: string, changes: RolePatch): Promise<Role> {
    const role = await this.getRole(name);
    if (changes.permissions) await this.validate(changes.permissions);
    if (changes.name && changes.name !== role.name && (await this.repo.findByName(changes.name)))
      throw conflict('a role with this name already exists');
    const updated = await this.repo.update(role.id, {
      ...changes,
      ...(changes.permissions ? { permissions: unique(changes.permissions) } : {}),
    });
    this.forgetEnforced();
    if (!updated) throw notFound('role');
    return updated;
  }

  async deleteRole(name: string): Promise<Role> {
    const role = await this.getRole(name);
    if (!(await this.repo.delete(role.id))) throw notFound('role');
    this.forgetEnforced();
    return role;
  }

  private async holder(holder: RoleHolder, id: string): Promise<void> {
    if (!(await this.repo.holderExists(holder, id))) throw notFound(holder);
  }

  /** An unknown role in an assignment is a bad request (400); an unknown user or client is 404. */
  private async assignable(name: string): Promise<Role> {
    const role = await this.repo.findByName(name);
    if (!role) throw invalidRequest(`role ${name} does not exist`);
    return role;
  }

  async assignRole(holder: RoleHolder, id: string, roleName: string): Promise<Role> {
    await this.holder(holder, id);
    const role = await this.assignable(roleName);
    if (!(await this.repo.assign(holder, id, role.id))) throw conflict(`the ${holder} already has role ${roleName}`);
    return role;
  }

  async unassignRole(holder: RoleHolder, id: string, roleName: string): Promise<Role> {
    await this.holder(holder, id);
    const role = await this.assignable(roleName);
    if (!(await this.repo.unassign(holder, id, role.id))) throw notFound('role assignment');
    return role;
  }

  async rolesOf(holder: RoleHolder, id: string): Promise<Role[]> {
    await this.holder(holder, id);
    return this.repo.rolesOf(holder, id);
  }

  async grantPermission(userId: string, permission: Permission): Promise<void> {
    await this.holder('user', userId);
    await this.validate([permission]);
    if (!(await this.repo.grant(userId, permission))) throw conflict('the user already holds this permission directly');
    this.forgetEnforced();
  }

  async revokePermission(userId: string, permission: Permission): Promise<void> {
    await this.holder('user', userId);
    if (!(await this.repo.revoke(userId, permission))) throw notFound('direct permission');
    this.forgetEnforced();
  }

  async effectivePermissions(userId: string): Promise<EffectivePermissions> {
    await this.holder('user', userId);
    const [roles, direct] = await Promise.all([this.repo.rolesOf('user', userId), this.repo.directPermissions(userId)]);
    return {
      roles: roles.map((r) => r.name),
      direct: unique(direct),
      effective: unique([...roles.flatMap((r) => r.permissions), ...direct]),
    };
  }

  /** Role names of a user, for the `roles` claim; none for an unknown user. */
  async roleNames(userId: string): Promise<string[]> {
    return (await this.repo.rolesOf('user', userId)).map((r) => r.name);
  }

  /** A resource is RBAC-enforced when any role or direct grant names it. */
  async isEnforced(resource: string): Promise<boolean> {
    const now = Date.now();
    if (!this.#enforced || now - this.#enforced.at >= ENFORCED_CACHE_MS) {
      this.#enforced = { at: now, resources: new Set(await this.repo.referencedResources()) };
    }
    return this.#enforced.resources.has(resource);
  }

  /** Role and permission writes change which APIs are enforced: forget the cached set. */
  private forgetEnforced(): void {
    this.#enforced = undefined;
  }

  /**
   * The scopes of `resource` a token for this holder may carry, or undefined when the resource
   * is not RBAC-enforced (no role or direct grant names it) and every declared scope stays allowed.
   */
  async heldScopes(holder: RoleHolder, holderId: string, resource: string): Promise<Set<string> | undefined> {
    if (!(await this.isEnforced(resource))) return undefined;
    const held = await this.repo.heldScopes(holder, holderId, resource);
    return held ? new Set(held) : undefined;
  }
}
