import type { Database } from '../database.js';
import { alreadyConsumed } from './already-consumed.js';
import { faultPoint } from '../../observability/fault-points.js';
import { SqlAdapter, TABLE, storableId, toPayload } from './sql-adapter.js';
import type { AdapterPayload } from './types.js';

/** Notes shared through the token request's scope (Database.withRequestScope). */
export const PENDING_CONSUME = 'refresh.pendingConsume';
export const GRACE_SUCCESSOR = 'refresh.graceSuccessor';
const PENDING_ROTATION = 'refresh.pendingRotation';

export interface GraceSuccessor { presentedId: string; successorId: string }

// Rotation as one statement: the presented token is consumed (only if it still is unconsumed)
// and linked to its successor, and the successor is inserted only if that consumption happened.
// Of N concurrent rotations of one token exactly one inserts; a crash leaves either both or neither.
const ROTATE_SQL = `
with consumed as (
  update ${TABLE} set consumed_at = now(), successor_id = ?
  where model = 'RefreshToken' and id = ? and consumed_at is null
  returning id
)
insert into ${TABLE} (model, id, payload, grant_id, expires_at)
select 'RefreshToken', ?, ?::jsonb, ?, ? where exists (select 1 from consumed)
returning id`;

/**
 * Refresh tokens in SQL, rotated atomically:
 * - consume() of the presented token only notes it (within the token request's scope), and so
 *   does the successor's upsert; when the answer is ready, commitPendingRotation consumes the
 *   presented token and stores the successor in one conditional statement (ROTATE_SQL), as the
 *   last write. A request that loses a race inserts nothing and gets invalid_grant; a request
 *   that fails before (an outage) has consumed nothing.
 * - Outside a token request (no scope), consume() is a plain conditional UPDATE.
 * - Within the client's grace window (refresh_token_grace_seconds), a retried refresh of the
 *   just-rotated token is answered with that same successor instead of being treated as reuse.
 */
export class RefreshTokenAdapter extends SqlAdapter {
  constructor(database: Database) {
    super(database, 'RefreshToken');
  }

  override async find(id: string): Promise<AdapterPayload | undefined> {
    if (!storableId(id)) return undefined;
    const row = await this.findRow(id);
    const payload = toPayload(row);
    if (!payload || !row?.consumed_at || !row.successor_id) return payload;
    const notes = this.database.requestNotes();
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
    const notes = this.database.requestNotes();
    if (!notes) return super.consume(id);
    const grace = notes.get(GRACE_SUCCESSOR) as GraceSuccessor | undefined;
    if (grace?.presentedId === id) return;
    notes.set(PENDING_CONSUME, id);
  }

  override async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
    const notes = this.database.requestNotes();
    // Grace retry: the existing successor is returned instead; this new token is never stored.
    if (notes?.get(GRACE_SUCCESSOR)) return;
    const predecessor = notes?.get(PENDING_CONSUME) as string | undefined;
    if (!predecessor) return super.upsert(id, payload, expiresIn);
    notes!.delete(PENDING_CONSUME);
    const expires = expiresIn ? new Date(Date.now() + expiresIn * 1000) : null;
    // Written last, once everything else the answer needs was stored (commitPendingRotation).
    notes!.set(PENDING_ROTATION, { id, predecessor, payload, expires } satisfies PendingRotation);
  }
}

interface PendingRotation { id: string; predecessor: string; payload: AdapterPayload; expires: Date | null }

/**
 * Commits the rotation the request prepared: the last write before a token response, so a
 * failure anywhere before it (Redis down while the access token was stored, say) leaves the
 * presented refresh token unconsumed and the client's retry simply works. Throws invalid_grant
 * when a concurrent request rotated the token first.
 */
export async function commitPendingRotation(database: Database): Promise<void> {
  const notes = database.requestNotes();
  const pending = notes?.get(PENDING_ROTATION) as PendingRotation | undefined;
  if (!pending) return;
  notes!.delete(PENDING_ROTATION);
  const { id, predecessor, payload, expires } = pending;
  const result = await database.db().raw(ROTATE_SQL, [id, predecessor, id, JSON.stringify(payload), payload.grantId ?? null, expires]);
  if (!(result as { rows?: unknown[] }).rows?.length) throw alreadyConsumed('RefreshToken');
  faultPoint('crash-after-refresh-rotation');
}

/**
 * A noted consumption that no successor followed (oidc-provider always rotates here, so this is
 * a safety net) is carried out on its own at the end of the request.
 */
export async function flushPendingRefreshConsume(database: Database): Promise<void> {
  const notes = database.requestNotes();
  const pending = notes?.get(PENDING_CONSUME) as string | undefined;
  if (!pending) return;
  notes!.delete(PENDING_CONSUME);
  const updated = await database.db()(TABLE).where({ model: 'RefreshToken', id: pending }).whereNull('consumed_at').update({ consumed_at: new Date() });
  if (updated !== 1) throw alreadyConsumed('RefreshToken');
}
