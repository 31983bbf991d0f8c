import { z } from 'zod';

/** One scope of one registered API (resource indicator), e.g. orders:read on https://api.example. */
export const permissionSchema = z
  .object({
    resource: z.string().min(1).max(2048),
    scope: z.string().min(1).max(200),
  })
  .strict();

/** Role names appear in admin URLs (/admin/roles/:name), so they are single URL-safe tokens. */
const roleName = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[A-Za-z0-9._:-]+$/, 'role names are letters, digits and . _ : -');

export const roleInputSchema = z
  .object({
    name: roleName,
    description: z.string().max(500).optional(),
    permissions: z.array(permissionSchema).max(500).default([]),
  })
  .strict();

export const rolePatchSchema = z
  .object({
    name: roleName.optional(),
    description: z.string().max(500).nullable().optional(),
    permissions: z.array(permissionSchema).max(500).optional(),
  })
  .strict();

export type Permission = z.infer<typeof permissionSchema>;
export type RoleInput = z.infer<typeof roleInputSchema>;
export type RolePatch = z.infer<typeof rolePatchSchema>;

export interface Role {
  id: string;
  name: string;
  description?: string;
  permissions: Permission[];
  created_at: string;
  updated_at: string;
}

/** Who roles are assigned to: users (authorization code, refresh) and clients (client_credentials). */
export type RoleHolder = 'user' | 'client';

/** Storage port for roles, assignments and direct grants. */
export interface RoleRepository {
  insert(role: { id: string; name: string; description?: string; permissions: Permission[] }): Promise<Role>;
  findByName(name: string): Promise<Role | undefined>;
  list(): Promise<Role[]>;
  /** Replaces the permission set when `permissions` is given. */
  update(id: string, changes: RolePatch): Promise<Role | undefined>;
  delete(id: string): Promise<boolean>;
  holderExists(holder: RoleHolder, id: string): Promise<boolean>;
  /** false when the role was already assigned. */
  assign(holder: RoleHolder, holderId: string, roleId: string): Promise<boolean>;
  /** false when the role was not assigned. */
  unassign(holder: RoleHolder, holderId: string, roleId: string): Promise<boolean>;
  rolesOf(holder: RoleHolder, holderId: string): Promise<Role[]>;
  /** false when the user already held this direct permission. */
  grant(userId: string, permission: Permission): Promise<boolean>;
  /** false when the user did not hold this direct permission. */
  revoke(userId: string, permission: Permission): Promise<boolean>;
  directPermissions(userId: string): Promise<Permission[]>;
  /** Whether any role or direct grant names this resource (which makes the resource RBAC-enforced). */
  isReferenced(resource: string): Promise<boolean>;
  /** Every resource some role or direct grant names. */
  referencedResources(): Promise<string[]>;
  /** The holder's scopes on `resource`, or undefined when no role or direct grant names it (not enforced). */
  heldScopes(holder: RoleHolder, holderId: string, resource: string): Promise<string[] | undefined>;
}

/** Answers the scopes a registered API declares, or undefined when it is not registered. */
export type ResourceScopes = (indicator: string) => Promise<string[] | undefined>;
