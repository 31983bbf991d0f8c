import type {
  Credential,
  CredentialRepository,
  CredentialType,
  NewCredential,
} from '../../domain/authn/credentials.js';
import { affectedRows } from '../affected-rows.js';
import type { Database } from '../database.js';

const TABLE = 'credentials';
const CODES = 'recovery_codes';

interface Row {
  id: string;
  user_id: string;
  type: CredentialType;
  name: string | null;
  public_data: Record<string, unknown> | string;
  secret_sealed: string | null;
  counter: string | number;
  external_id: string | null;
  created_at: Date | string;
  last_used_at: Date | string | null;
}

const toCredential = (r: Row): Credential => ({
  id: r.id,
  userId: r.user_id,
  type: r.type,
  name: r.name,
  publicData: typeof r.public_data === 'string' ? JSON.parse(r.public_data) : r.public_data,
  secretSealed: r.secret_sealed,
  counter: Number(r.counter),
  externalId: r.external_id,
  createdAt: new Date(r.created_at),
  lastUsedAt: r.last_used_at ? new Date(r.last_used_at) : null,
});

const toRow = (c: NewCredential) => ({
  id: c.id,
  user_id: c.userId,
  type: c.type,
  name: c.name ?? null,
  public_data: JSON.stringify(c.publicData ?? {}),
  secret_sealed: c.secretSealed ?? null,
  counter: c.counter ?? 0,
  external_id: c.externalId ?? null,
});

/** `credentials` and `recovery_codes` on PostgreSQL / PGlite. Rows go with their user (on delete cascade). */
export class SqlCredentialRepository implements CredentialRepository {
  constructor(private readonly database: Database) {}

  async insert(credential: NewCredential): Promise<Credential> {
    const [row] = (await this.database.db()(TABLE).insert(toRow(credential)).returning('*')) as Row[];
    return toCredential(row!);
  }

  async listFor(userId: string, type?: CredentialType): Promise<Credential[]> {
    const q = this.database.db()(TABLE).where({ user_id: userId });
    if (type) q.andWhere({ type });
    return ((await q.orderBy([{ column: 'created_at' }, { column: 'id' }])) as Row[]).map(toCredential);
  }

  async find(userId: string, id: string): Promise<Credential | undefined> {
    const row = (await this.database.db()(TABLE).where({ user_id: userId, id }).first()) as Row | undefined;
    return row && toCredential(row);
  }

  async findByExternalId(type: CredentialType, externalId: string): Promise<Credential | undefined> {
    const row = (await this.database.db()(TABLE).where({ type, external_id: externalId }).first()) as Row | undefined;
    return row && toCredential(row);
  }

  async advanceCounter(id: string, to: number): Promise<boolean> {
    const result = await this.database.db().raw(
      `update ${TABLE} set counter = ?, last_used_at = now()
       where id = ? and (counter < ? or (counter = 0 and ? = 0))`,
      [to, id, to, to],
    );
    return affectedRows(result) === 1;
  }

  async touch(id: string): Promise<void> {
    await this.database.db()(TABLE).where({ id }).update({ last_used_at: this.database.db().fn.now() });
  }

  async delete(userId: string, id: string): Promise<boolean> {
    return affectedRows(await this.database.db()(TABLE).where({ user_id: userId, id }).delete()) > 0;
  }

  async deleteAll(userId: string, type?: CredentialType): Promise<number> {
    const q = this.database.db()(TABLE).where({ user_id: userId });
    if (type) q.andWhere({ type });
    return affectedRows(await q.delete());
  }

  async replaceRecoveryCodes(credential: NewCredential, codeHashes: string[]): Promise<Credential> {
    return this.database.db().transaction(async (trx) => {
      await trx(TABLE).where({ user_id: credential.userId, type: 'recovery_codes' }).delete();
      const [row] = (await trx(TABLE).insert(toRow(credential)).returning('*')) as Row[];
      if (codeHashes.length)
        await trx(CODES).insert(
          codeHashes.map((h) => ({ credential_id: credential.id, user_id: credential.userId, code_hash: h })),
        );
      return toCredential(row!);
    });
  }

  async consumeRecoveryCode(userId: string, codeHash: string): Promise<boolean> {
    const result = await this.database
      .db()
      .raw(`update ${CODES} set used_at = now() where user_id = ? and code_hash = ? and used_at is null`, [
        userId,
        codeHash,
      ]);
    const used = affectedRows(result) === 1;
    if (used)
      await this.database
        .db()(TABLE)
        .where({ user_id: userId, type: 'recovery_codes' })
        .update({ last_used_at: this.database.db().fn.now() });
    return used;
  }

  async remainingRecoveryCodes(userId: string): Promise<number> {
    const row = (await this.database
      .db()(CODES)
      .where({ user_id: userId })
      .whereNull('used_at')
      .first(this.database.db().raw('count(*)::int as n'))) as { n: number } | undefined;
    return Number(row?.n ?? 0);
  }
}
