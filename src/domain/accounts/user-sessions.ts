import { notFound } from '../errors.js';

/** A browser session at the provider, as an admin sees it: never its id, which is the cookie value. */
export interface UserSession {
  uid: string;
  createdAt: Date | null;
  expiresAt: Date | null;
  loginAt: Date | null;
  /** Clients this session has authorized (each with a grant). */
  clientIds: string[];
  /** The grants of those authorizations (what "sign out of other sessions" keeps for this one). */
  grantIds: string[];
}

/** A user's grant to one client: what was consented (OpenID scopes, API scopes per resource). */
export interface UserGrant {
  id: string;
  clientId: string;
  scopes: string[];
  resources: { indicator: string; scopes: string[] }[];
  createdAt: Date | null;
  expiresAt: Date | null;
}

/** Storage port: the user's live sessions and grants in the provider's store. */
export interface UserSessionStore {
  listSessions(userId: string): Promise<UserSession[]>;
  /** Deletes one session by uid; false when the user has no such session. */
  deleteSession(userId: string, uid: string): Promise<boolean>;
  deleteSessions(userId: string): Promise<number>;
  listGrants(userId: string): Promise<UserGrant[]>;
  hasGrant(userId: string, grantId: string): Promise<boolean>;
}

/** Port that revokes one grant and every token issued under it. */
export interface GrantRevoker {
  revokeGrant(grantId: string): Promise<void>;
}

/** Port for "does this user exist" (unknown users are a 404, not an empty list). */
export interface UserLookup {
  get(id: string): Promise<unknown>;
}

/**
 * What an admin can see and end of a user's presence at the provider. Revoking sessions signs
 * browsers out (the next prompt=none gets login_required) but leaves grants and their tokens;
 * revoking a grant ends the tokens issued under it.
 */
export class UserSessions {
  constructor(
    private readonly users: UserLookup,
    private readonly store: UserSessionStore,
    private readonly revoker: GrantRevoker,
  ) {}

  async listSessions(userId: string): Promise<UserSession[]> {
    await this.users.get(userId);
    return this.store.listSessions(userId);
  }

  async revokeSession(userId: string, uid: string): Promise<void> {
    await this.users.get(userId);
    if (!(await this.store.deleteSession(userId, uid))) throw notFound('session');
  }

  async revokeSessions(userId: string): Promise<number> {
    await this.users.get(userId);
    return this.store.deleteSessions(userId);
  }

  /**
   * Ends every session of the user but `keepUid` (this browser), and every grant that session
   * does not use, with their tokens: "Sign out of other sessions" after a password change.
   */
  async revokeOtherSessions(userId: string, keepUid: string): Promise<{ sessions: number; grants: number }> {
    const sessions = await this.listSessions(userId);
    const kept = new Set(sessions.find((s) => s.uid === keepUid)?.grantIds ?? []);
    let ended = 0;
    for (const s of sessions) if (s.uid !== keepUid && (await this.store.deleteSession(userId, s.uid))) ended++;
    const grants = (await this.store.listGrants(userId)).filter((g) => !kept.has(g.id));
    for (const g of grants) await this.revoker.revokeGrant(g.id);
    return { sessions: ended, grants: grants.length };
  }

  async listGrants(userId: string): Promise<UserGrant[]> {
    await this.users.get(userId);
    return this.store.listGrants(userId);
  }

  async revokeGrant(userId: string, grantId: string): Promise<void> {
    await this.users.get(userId);
    if (!(await this.store.hasGrant(userId, grantId))) throw notFound('grant');
    await this.revoker.revokeGrant(grantId);
  }
}
