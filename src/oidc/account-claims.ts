import type { Users } from '../domain/accounts/users.js';

/** findAccount for oidc-provider: disabled or deleted users have no account, so their tokens stop working. */
export function createFindAccount(users: Users) {
  return async function findAccount(_ctx: unknown, sub: string) {
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
        };
      },
    };
  };
}
