import type { Users } from '../domain/accounts/users.js';

/** Answers a user's role names, for the `roles` claim. */
export type RoleNames = (userId: string) => Promise<string[]>;

/** Whether the client of the provider request asked for the `roles` claim (client setting `roles_claim`). */
function wantsRoles(ctx: unknown): boolean {
  const client = (ctx as { oidc?: { client?: { roles_claim?: unknown } } } | undefined)?.oidc?.client;
  return client?.roles_claim === true;
}

/**
 * findAccount for oidc-provider: disabled or deleted users have no account, so their tokens stop working.
 * oidc-provider passes the request context, whose client (token endpoint: the ID token; userinfo:
 * the token's client) decides whether `roles` is included; roles are read when claims are, so a
 * change shows in the next ID token or userinfo response.
 */
export function createFindAccount(users: Users, roleNames?: RoleNames) {
  return async function findAccount(ctx: unknown, sub: string) {
    const user = await users.findActive(sub);
    if (!user) return undefined;
    return {
      accountId: user.id,
      async claims() {
        return {
          sub: user.id,
          email: user.email,
          email_verified: user.emailVerified,
          ...(user.name ? { name: user.name } : {}),
          ...(roleNames && wantsRoles(ctx) ? { roles: await roleNames(user.id) } : {}),
        };
      },
    };
  };
}
