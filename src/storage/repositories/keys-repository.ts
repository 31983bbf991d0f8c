import type { Database } from '../database.js';
import type { KeyRepository, StoredSigningKey } from '../../domain/keys/signing-keys.js';

/** Any constant works; it only has to be the same for every instance sharing the database. */
const KEY_BOOTSTRAP_LOCK = 8_420_001;

export class SqlKeyRepository implements KeyRepository {
  constructor(private readonly database: Database) {}

  async listSigningKeys(): Promise<StoredSigningKey[]> {
    const rows = await this.database.db()('signing_keys').select('*');
    return rows.map((r) => ({
      kid: r.kid,
      alg: r.alg,
      state: r.state,
      publicJwk: typeof r.public_jwk === 'string' ? JSON.parse(r.public_jwk) : r.public_jwk,
      privateJwkEncrypted: r.private_jwk_encrypted,
      createdAt: new Date(r.created_at),
    }));
  }

  async initializeOnce(create: Parameters<KeyRepository['initializeOnce']>[0]): Promise<void> {
    await this.database.knex.transaction(async (trx) => {
      // Serialises first start-up across instances: only one of them generates keys.
      await trx.raw('select pg_advisory_xact_lock(?)', [KEY_BOOTSTRAP_LOCK]);
      const existing = await trx('signing_keys').first('kid');
      if (existing) return;
      const { keys, secrets } = await create();
      const now = new Date();
      await trx('signing_keys').insert(keys.map((k) => ({
        kid: k.kid, alg: k.alg, state: k.state, public_jwk: JSON.stringify(k.publicJwk),
        private_jwk_encrypted: k.privateJwkEncrypted, activated_at: now,
      })));
      if (secrets.length) {
        await trx('secrets').insert(secrets.map((s) => ({ name: s.name, value_encrypted: s.valueEncrypted }))).onConflict('name').ignore();
      }
    });
  }

  async listSecrets(prefix: string): Promise<{ name: string; valueEncrypted: string }[]> {
    const rows = await this.database.db()('secrets').where('name', 'like', `${prefix}%`).select('name', 'value_encrypted');
    return rows.map((r) => ({ name: r.name, valueEncrypted: r.value_encrypted }));
  }
}
