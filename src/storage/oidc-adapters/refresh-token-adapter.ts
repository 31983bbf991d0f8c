import type { RotationOutcome } from '../../domain/tokens/token-request-storage.js';
import type { Database } from '../database.js';
import type { RefreshRotationState } from '../request-scope.js';
import { faultPoint } from '../../observability/fault-points.js';
import { alreadyConsumed } from './already-consumed.js';
import { SqlAdapter, TABLE, prefetchKey, rowPayload, storableId, type FoundRow } from './sql-adapter.js';
import { hashTokenId } from './stored-ids.js';
import type { TokenSealer } from './token-sealer.js';
import type { AdapterPayload } from './types.js';

/** Associated data of a sealed successor: it opens only as the successor of this model's rows. */
const SUCCESSOR_CONTEXT = 'gatehouse:refresh-successor';

// Rotation as one statement: the presented token is consumed (only if it still is unconsumed)
// and linked to its successor, and the successor is inserted only if that consumption happened.
// Of N concurrent rotations of one token exactly one inserts; a crash leaves either both or neither.
// A concurrent loser's UPDATE waits on the winner's row lock and, once the winner committed,
// finds the row consumed: when the statement returns nothing, the winner's successor is stored.
const ROTATE_SQL = `
with consumed as (
  update ${TABLE} set consumed_at = now(), successor_id = ?, successor_sealed = ?
  where model = 'RefreshToken' and id = ? and consumed_at is null
  returning id
)
insert into ${TABLE} (model, id, payload, grant_id, expires_at)
select 'RefreshToken', ?, ?::jsonb, ?, ? where exists (select 1 from consumed)
returning id`;

// A refresh token with its grant, which the refresh grant reads right after it: one statement
// instead of two. The grant's row (or its absence) is kept for that lookup (sql-adapter.ts findRow).
const FIND_WITH_GRANT_SQL = `select r.payload, r.consumed_at, r.successor_id, r.successor_sealed, r.grant_id,
  g.payload as grant_payload, g.consumed_at as grant_consumed_at
from ${TABLE} r left join ${TABLE} g
  on g.model = 'Grant' and g.id = r.grant_id and (g.expires_at is null or g.expires_at > now())
where r.model = 'RefreshToken' and r.id = ? and (r.expires_at is null or r.expires_at > now())`;

type FoundWithGrant = FoundRow & {
  grant_id: string | null;
  grant_payload: AdapterPayload | string | null;
  grant_consumed_at: Date | string | null;
};

const GRACE_SQL = `select metadata->>'refresh_token_grace_seconds' as grace from clients where client_id = ?`;
const LIVE_SUCCESSOR_SQL = `select 1 from ${TABLE} where model = 'RefreshToken' and id = ? and consumed_at is null
and (expires_at is null or expires_at > now())`;

/**
 * Refresh tokens in SQL, rotated atomically:
 * - consume() of the presented token only notes it (in the token request's scope), and so does
 *   the successor's upsert; when the answer is ready, RefreshRotations.commit consumes the
 *   presented token and stores the successor in one conditional statement (ROTATE_SQL), as the
 *   last write. A request that fails before (an outage) has consumed nothing.
 * - Outside a token request (no scope), consume() is a plain conditional UPDATE.
 * - Within the client's grace window (refresh_token_grace_seconds), a retried refresh of the
 *   just-rotated token is answered with that same successor instead of being treated as reuse.
 */
export class RefreshTokenAdapter extends SqlAdapter {
  constructor(
    database: Database,
    sealer: TokenSealer,
    private readonly rotations: RefreshRotations,
  ) {
    super(database, 'RefreshToken', sealer);
  }

  private state(): RefreshRotationState | undefined {
    return this.database.requestScope()?.refresh;
  }

  override async find(id: string): Promise<AdapterPayload | undefined> {
    if (!storableId(id)) return undefined;
    const row = this.state() ? await this.findWithGrant(id) : await this.findRow(id);
    if (!row) return undefined;
    const payload = this.ids.fromStored(rowPayload(row), id);
    const state = this.state();
    if (!state || !row.consumed_at) return payload;
    const successor = await this.rotations.graceSuccessor(row, payload.clientId as string);
    if (!successor) return payload;
    state.graceSuccessor = { presentedId: id, successor };
    delete payload.consumed;
    return payload;
  }

  /** In a token request: the token and its grant in one statement, the grant kept for its lookup. */
  private async findWithGrant(id: string): Promise<FoundRow | undefined> {
    const result = await this.database.db().raw(FIND_WITH_GRANT_SQL, [this.ids.key(id)]);
    const found = (result as { rows: FoundWithGrant[] }).rows[0];
    if (!found) return undefined;
    const { grant_id, grant_payload, grant_consumed_at, ...row } = found;
    const scope = this.database.requestScope();
    if (grant_id && scope) {
      scope.prefetched ??= new Map();
      scope.prefetched.set(
        prefetchKey('Grant', grant_id),
        grant_payload === null
          ? undefined
          : { payload: grant_payload, consumed_at: grant_consumed_at, successor_id: null, successor_sealed: null },
      );
    }
    return row;
  }

  override async consume(id: string): Promise<void> {
    const state = this.state();
    if (!state) return super.consume(id);
    if (state.graceSuccessor?.presentedId === id) return;
    state.pendingConsume = id;
  }

  override async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
    const state = this.state();
    // Grace retry: the existing successor is returned instead; this new token is never stored.
    if (state?.graceSuccessor) return;
    const predecessor = state?.pendingConsume;
    if (!predecessor) return super.upsert(id, payload, expiresIn);
    state.pendingConsume = undefined;
    const expires = expiresIn ? new Date(Date.now() + expiresIn * 1000) : null;
    // Written last, once everything else the answer needs was stored (RefreshRotations.commit).
    state.pendingRotation = { id, predecessor, payload: this.ids.toStored(id, payload), expires };
  }
}

/** The rotation statement, the grace window and the end of a token request's rotation. */
export class RefreshRotations {
  constructor(
    private readonly database: Database,
    private readonly sealer: TokenSealer,
  ) {}

  /**
   * The successor to answer a presented, already consumed token with: only within the client's
   * grace window, and only while that successor is itself unused.
   */
  async graceSuccessor(
    row: Pick<FoundRow, 'consumed_at' | 'successor_id' | 'successor_sealed'>,
    clientId: string,
  ): Promise<string | undefined> {
    if (!row.consumed_at || !row.successor_id || !row.successor_sealed) return undefined;
    const grace = await this.graceSeconds(clientId);
    if (!(grace > 0) || Date.now() - new Date(row.consumed_at).getTime() > grace * 1000) return undefined;
    const live = await this.database.db().raw(LIVE_SUCCESSOR_SQL, [row.successor_id]);
    if (!(live as { rows: unknown[] }).rows.length) return undefined;
    return this.sealer.open(row.successor_sealed, SUCCESSOR_CONTEXT);
  }

  private async graceSeconds(clientId: string): Promise<number> {
    const result = await this.database.db().raw(GRACE_SQL, [clientId]);
    return Number((result as { rows: { grace: string | null }[] }).rows[0]?.grace ?? 0);
  }

  /**
   * Ends the token request's rotation: writes the prepared rotation as the last write before
   * the answer, so a failure anywhere before it (Redis down while the access token was stored,
   * say) leaves the presented refresh token unconsumed and the client's retry simply works.
   * A request whose rotation finds the token already consumed lost a race: it is answered with
   * the winner's successor within the client's grace window, and otherwise the family dies.
   */
  async commit(): Promise<RotationOutcome> {
    const state = this.database.requestScope()?.refresh;
    if (state?.graceSuccessor) return { kind: 'grace', refreshToken: state.graceSuccessor.successor };
    const pending = state?.pendingRotation;
    if (pending) {
      state.pendingRotation = undefined;
      const { id, predecessor, payload, expires } = pending;
      const successorKey = hashTokenId(id);
      const result = await this.database
        .db()
        .raw(ROTATE_SQL, [
          successorKey,
          this.sealer.seal(id, SUCCESSOR_CONTEXT),
          hashTokenId(predecessor),
          successorKey,
          JSON.stringify(payload),
          payload.grantId ?? null,
          expires,
        ]);
      if ((result as { rows?: unknown[] }).rows?.length) {
        faultPoint('crash-after-refresh-rotation');
        return { kind: 'done' };
      }
      return this.afterLostRace(predecessor, payload);
    }
    // A noted consumption that no successor followed (oidc-provider always rotates here, so
    // this is a safety net) is carried out on its own.
    const presented = state?.pendingConsume;
    if (!presented) return { kind: 'done' };
    state.pendingConsume = undefined;
    const updated = await this.database
      .db()(TABLE)
      .where({ model: 'RefreshToken', id: hashTokenId(presented) })
      .whereNull('consumed_at')
      .update({ consumed_at: new Date() });
    if (updated !== 1) throw alreadyConsumed('RefreshToken');
    return { kind: 'done' };
  }

  private async afterLostRace(presented: string, successorPayload: AdapterPayload): Promise<RotationOutcome> {
    const grantId = successorPayload.grantId;
    const row = (await this.database
      .db()(TABLE)
      .where({ model: 'RefreshToken', id: hashTokenId(presented) })
      .first('consumed_at', 'successor_id', 'successor_sealed')) as FoundRow | undefined;
    const successor = row && (await this.graceSuccessor(row, successorPayload.clientId as string));
    return successor ? { kind: 'grace', refreshToken: successor } : { kind: 'lost', grantId };
  }
}
