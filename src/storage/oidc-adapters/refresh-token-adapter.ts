import type { Database } from '../database.js';
import { alreadyConsumed } from './already-consumed.js';
import { SqlAdapter, TABLE, storableId, toPayload } from './sql-adapter.js';
import type { AdapterPayload } from './types.js';

/** Notes shared through the token request's unit of work. */
export const ROTATED_FROM = 'refresh.rotatedFrom';
export const GRACE_SUCCESSOR = 'refresh.graceSuccessor';

export interface GraceSuccessor { presentedId: string; successorId: string }

/**
 * Refresh tokens in SQL, with rotation as one transaction:
 * - consume() locks and marks the presented token inside the request's transaction, so
 *   concurrent redemptions wait on the row lock and then find it consumed (exactly one wins),
 *   and a crash before commit leaves the old token unconsumed;
 * - the successor's upsert records itself on its predecessor (`successor_id`);
 * - within the client's grace window (refresh_token_grace_seconds), a retried refresh of the
 *   just-rotated token is answered with that same successor instead of being treated as reuse.
 */
export class RefreshTokenAdapter extends SqlAdapter {
  constructor(database: Database) {
    super(database, 'RefreshToken');
  }

  override async find(id: string): Promise<AdapterPayload | undefined> {
    if (!storableId(id)) return undefined;
    const row = await this.live().andWhere({ id }).first('payload', 'consumed_at', 'successor_id');
    const payload = toPayload(row);
    if (!payload || !row?.consumed_at || !row.successor_id) return payload;
    const notes = this.database.unitNotes();
    if (!notes) return payload;
    const successorId = await this.graceSuccessor(payload, new Date(row.consumed_at), row.successor_id);
    if (!successorId) return payload;
    notes.set(GRACE_SUCCESSOR, { presentedId: id, successorId } satisfies GraceSuccessor);
    delete payload.consumed;
    return payload;
  }

  private async graceSuccessor(payload: AdapterPayload, consumedAt: Date, successorId: string): Promise<string | undefined> {
    const client = await this.database.db()('clients').where({ client_id: payload.clientId as string })
      .first(this.database.knex.raw("metadata->>'refresh_token_grace_seconds' as grace"));
    const grace = Number(client?.grace ?? 0);
    if (!(grace > 0) || Date.now() - consumedAt.getTime() > grace * 1000) return undefined;
    const successor = await this.live().andWhere({ id: successorId }).whereNull('consumed_at').first('id');
    return successor ? successorId : undefined;
  }

  override async consume(id: string): Promise<void> {
    const notes = this.database.unitNotes();
    const grace = notes?.get(GRACE_SUCCESSOR) as GraceSuccessor | undefined;
    if (grace?.presentedId === id) return;
    const q = (await this.database.currentTransaction()) ?? this.database.db();
    const updated = await q(TABLE).where({ model: this.model, id }).whereNull('consumed_at').update({ consumed_at: new Date() });
    if (updated !== 1) throw alreadyConsumed(this.model);
    notes?.set(ROTATED_FROM, id);
  }

  override async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
    const notes = this.database.unitNotes();
    // Grace retry: the existing successor is returned instead; this new token is never stored.
    if (notes?.get(GRACE_SUCCESSOR)) return;
    await super.upsert(id, payload, expiresIn);
    const rotatedFrom = notes?.get(ROTATED_FROM) as string | undefined;
    if (rotatedFrom) {
      await this.database.db()(TABLE).where({ model: this.model, id: rotatedFrom }).update({ successor_id: id });
    }
  }
}
