import type { Knex } from 'knex';
import type { Database } from '../database.js';
import type { KeyRepository, NewSigningKey, StoredSigningKey } from '../../domain/keys/signing-keys.js';

/** Any constant works; it only has to be the same for every instance sharing the database. */
const KEY_BOOTSTRAP_LOCK = 8_420_001;
/** Serialises rotations and revocations across instances (two admins, or a schedule on every instance). */
const KEY_CHANGE_LOCK = 8_420_002;

const date = (v: unknown) => (v === null || v === undefined ? undefined : new Date(v as string));

function toRow(k: NewSigningKey) {
  return {
    kid: k.kid,
    alg: k.alg,
    public_jwk: JSON.stringify(k.publicJwk),
    private_jwk_encrypted: k.privateJwkEncrypted,
    activated_at: k.activatedAt,
  };
}

export class SqlKeyRepository implements KeyRepository {
  constructor(private readonly database: Database) {}

  async listSigningKeys(trx?: Knex.Transaction): Promise<StoredSigningKey[]> {
    const rows = await (trx ?? this.database.db())('signing_keys').select('*');
    return rows.map((r) => ({
      kid: r.kid,
      alg: r.alg,
      publicJwk: typeof r.public_jwk === 'string' ? JSON.parse(r.public_jwk) : r.public_jwk,
      privateJwkEncrypted: r.private_jwk_encrypted,
      createdAt: new Date(r.created_at),
      activatedAt: new Date(r.activated_at),
      deactivatedAt: date(r.deactivated_at),
      retiredAt: date(r.retired_at),
      revokedAt: date(r.revoked_at),
    }));
  }

  async initializeOnce(create: Parameters<KeyRepository['initializeOnce']>[0]): Promise<void> {
    // Fast path for every start after the first: no lock, no transaction.
    if (await this.database.db()('signing_keys').first('kid')) return;
    await this.database.knex.transaction(async (trx) => {
      // Serialises first start-up across instances: only one of them generates keys.
      await trx.raw('select pg_advisory_xact_lock(?)', [KEY_BOOTSTRAP_LOCK]);
      const existing = await trx('signing_keys').first('kid');
      if (existing) return;
      const { keys, secrets } = await create();
      await trx('signing_keys').insert(keys.map(toRow));
      if (secrets.length) {
        await trx('secrets')
          .insert(secrets.map((s) => ({ name: s.name, value_encrypted: s.valueEncrypted })))
          .onConflict('name')
          .ignore();
      }
    });
  }

  async changeSigningKeys(
    decide: Parameters<KeyRepository['changeSigningKeys']>[0],
    generate: Parameters<KeyRepository['changeSigningKeys']>[1],
  ): ReturnType<KeyRepository['changeSigningKeys']> {
    return this.database.knex.transaction(async (trx) => {
      await trx.raw('select pg_advisory_xact_lock(?)', [KEY_CHANGE_LOCK]);
      const change = decide(await this.listSigningKeys(trx));
      const inserted = await Promise.all(change.insert.map((k) => generate(k.alg, k.activatedAt)));
      if (inserted.length) await trx('signing_keys').insert(inserted.map(toRow));
      for (const u of change.update) {
        const patch = {
          ...(u.activatedAt ? { activated_at: u.activatedAt } : {}),
          ...(u.deactivatedAt ? { deactivated_at: u.deactivatedAt } : {}),
          ...(u.retiredAt ? { retired_at: u.retiredAt } : {}),
          ...(u.revokedAt ? { revoked_at: u.revokedAt } : {}),
        };
        await trx('signing_keys').where('kid', u.kid).update(patch);
      }
      return { inserted, change };
    });
  }

  async listSecrets(prefix: string): Promise<{ name: string; valueEncrypted: string }[]> {
    const rows = await this.database
      .db()('secrets')
      .where('name', 'like', `${prefix}%`)
      .select('name', 'value_encrypted');
    return rows.map((r) => ({ name: r.name, valueEncrypted: r.value_encrypted }));
  }

  /** Longest access-token lifetime any API or client has configured (the deployment default is the caller's). */
  async longestConfiguredAccessTokenTtl(): Promise<number> {
    const db = this.database.db();
    const [resource] = await db('resources').max({ ttl: 'access_token_ttl_seconds' });
    const [client] = await db('clients').select(db.raw(`max((metadata->>'access_token_ttl_seconds')::int) as ttl`));
    return Math.max(Number(resource?.ttl ?? 0), Number((client as { ttl?: unknown })?.ttl ?? 0));
  }
}
