import { affectedRows } from '../affected-rows.js';
import type { Database } from '../database.js';
import type { UserGrant, UserSession, UserSessionStore } from '../../domain/accounts/user-sessions.js';
import { storableId, TABLE } from '../oidc-adapters/sql-adapter.js';

type Payload = Record<string, unknown>;
type Row = { id: string; payload: Payload | string; expires_at: Date | string | null };

const parse = (p: Payload | string): Payload => (typeof p === 'string' ? (JSON.parse(p) as Payload) : p);
const fromEpoch = (v: unknown): Date | null => (typeof v === 'number' ? new Date(v * 1000) : null);
const toDate = (v: Date | string | null): Date | null => (v ? new Date(v) : null);
const scopeList = (v: unknown): string[] => (typeof v === 'string' ? v.split(' ').filter(Boolean) : []);

/**
 * Sessions and grants of one user, read from oidc-provider's durable models in `oidc_models`
 * (indexed on payload->>'accountId' for these two models).
 */
export class SqlUserSessionRepository implements UserSessionStore {
  constructor(private readonly database: Database) {}

  private live(model: 'Session' | 'Grant', userId: string) {
    return this.database
      .db()(TABLE)
      .where({ model })
      .whereRaw("payload->>'accountId' = ?", [userId])
      .andWhere((q) => q.whereNull('expires_at').orWhere('expires_at', '>', new Date()));
  }

  async listSessions(userId: string): Promise<UserSession[]> {
    const rows = (await this.live('Session', userId).select('id', 'payload', 'expires_at')) as Row[];
    return rows
      .map((r) => {
        const p = parse(r.payload);
        return {
          uid: String(p.uid ?? ''),
          createdAt: fromEpoch(p.iat),
          expiresAt: fromEpoch(p.exp) ?? toDate(r.expires_at),
          loginAt: fromEpoch(p.loginTs),
          clientIds: Object.keys((p.authorizations as Payload | undefined) ?? {}),
          grantIds: Object.values((p.authorizations as Record<string, Payload> | undefined) ?? {})
            .map((a) => a?.grantId)
            .filter((id): id is string => typeof id === 'string'),
        };
      })
      .sort((a, b) => (b.createdAt?.getTime() ?? 0) - (a.createdAt?.getTime() ?? 0));
  }

  async deleteSession(userId: string, uid: string): Promise<boolean> {
    if (!storableId(uid)) return false;
    const deleted = await this.database
      .db()(TABLE)
      .where({ model: 'Session', uid })
      .whereRaw("payload->>'accountId' = ?", [userId])
      .delete();
    return affectedRows(deleted) > 0;
  }

  async deleteSessions(userId: string): Promise<number> {
    return affectedRows(
      await this.database
        .db()(TABLE)
        .where({ model: 'Session' })
        .whereRaw("payload->>'accountId' = ?", [userId])
        .delete(),
    );
  }

  async listGrants(userId: string): Promise<UserGrant[]> {
    const rows = (await this.live('Grant', userId).select('id', 'payload', 'expires_at')) as Row[];
    return rows
      .map((r) => {
        const p = parse(r.payload);
        const resources = (p.resources as Record<string, unknown> | undefined) ?? {};
        return {
          id: r.id,
          clientId: String(p.clientId ?? ''),
          scopes: scopeList((p.openid as Payload | undefined)?.scope),
          resources: Object.entries(resources).map(([indicator, scope]) => ({ indicator, scopes: scopeList(scope) })),
          createdAt: fromEpoch(p.iat),
          expiresAt: fromEpoch(p.exp) ?? toDate(r.expires_at),
        };
      })
      .sort((a, b) => (b.createdAt?.getTime() ?? 0) - (a.createdAt?.getTime() ?? 0));
  }

  async hasGrant(userId: string, grantId: string): Promise<boolean> {
    if (!storableId(grantId)) return false;
    return (await this.live('Grant', userId).andWhere({ id: grantId }).first('id')) !== undefined;
  }
}
