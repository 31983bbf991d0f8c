import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { affectedRows } from '../affected-rows.js';
import type { Database } from '../database.js';
import { Conflict } from '../../domain/errors.js';
import type { NewUser, User, UserChanges, UserRecord, UserRepository } from '../../domain/accounts/user.js';

type Row = {
  id: string;
  email: string;
  name: string | null;
  email_verified: boolean;
  /** From the account's `password` credential (credentials.secret_hash), when it has one. */
  password_hash?: string | null;
  disabled: boolean;
  created_at: Date | string;
  updated_at: Date | string;
};

const toRecord = (r: Row): UserRecord => ({
  id: r.id,
  email: r.email,
  name: r.name,
  emailVerified: r.email_verified,
  passwordHash: r.password_hash ?? null,
  disabled: r.disabled,
  createdAt: new Date(r.created_at),
  updatedAt: new Date(r.updated_at),
});

const toUser = (r: Row): User => {
  const { passwordHash: _hash, ...user } = toRecord(r);
  return user;
};

/** The only unique key a user write can break besides the id (a fresh random value). */
const emailTaken = (err: unknown) => new Conflict('a user with this email already exists', { cause: err });

/** Sets (or with null removes) the account's password credential; one per account. */
async function writePassword(db: Knex | Knex.Transaction, userId: string, hash: string | null): Promise<void> {
  if (hash === null) {
    await db('credentials').where({ user_id: userId, type: 'password' }).delete();
    return;
  }
  const updated = affectedRows(
    await db('credentials').where({ user_id: userId, type: 'password' }).update({ secret_hash: hash }),
  );
  if (!updated)
    await db('credentials').insert({ id: randomUUID(), user_id: userId, type: 'password', secret_hash: hash });
}

/**
 * `users`, with the password kept as the account's `password` row in `credentials`
 * (migration 012): read through a join, written in the same transaction as the user.
 */
export class SqlUserRepository implements UserRepository {
  constructor(private readonly database: Database) {}

  private get users() {
    return this.database.db()<Row>('users');
  }

  /** Users with their password hash (the only reads that need it: sign-in and password checks). */
  private withPassword() {
    const db = this.database.db();
    return db('users as u')
      .leftJoin('credentials as c', function joinPassword() {
        this.on('c.user_id', '=', 'u.id').andOnVal('c.type', '=', 'password');
      })
      .select('u.*', 'c.secret_hash as password_hash');
  }

  async insert(user: NewUser): Promise<User> {
    try {
      return await this.database.db().transaction(async (trx) => {
        const [row] = await trx('users')
          .insert({ id: user.id, email: user.email, name: user.name, email_verified: user.emailVerified })
          .returning('*');
        if (user.passwordHash !== null) await writePassword(trx, user.id, user.passwordHash);
        return toUser(row as Row);
      });
    } catch (err) {
      if (err instanceof Conflict) throw emailTaken(err);
      throw err;
    }
  }

  async findById(id: string): Promise<UserRecord | undefined> {
    const row = await this.withPassword().where('u.id', id).first();
    return row ? toRecord(row as Row) : undefined;
  }

  async findByEmail(email: string): Promise<UserRecord | undefined> {
    const row = await this.withPassword().whereRaw('lower(u.email) = lower(?)', [email]).first();
    return row ? toRecord(row as Row) : undefined;
  }

  async list({ limit, after, q: search }: { limit: number; after?: string; q?: string }): Promise<User[]> {
    const q = this.users.orderBy('id').limit(limit);
    if (after) q.where('id', '>', after);
    // position() rather than LIKE: no wildcard characters to escape in what the admin typed.
    if (search)
      q.whereRaw("(position(lower(?) in lower(email)) > 0 or position(lower(?) in lower(coalesce(name, ''))) > 0)", [
        search,
        search,
      ]);
    return (await q).map((r) => toUser(r as Row));
  }

  async update(id: string, c: UserChanges): Promise<User | undefined> {
    const patch: Record<string, unknown> = { updated_at: new Date() };
    if (c.email !== undefined) patch.email = c.email;
    if (c.name !== undefined) patch.name = c.name;
    if (c.emailVerified !== undefined) patch.email_verified = c.emailVerified;
    if (c.disabled !== undefined) patch.disabled = c.disabled;
    try {
      return await this.database.db().transaction(async (trx) => {
        const [row] = await trx('users').where({ id }).update(patch).returning('*');
        if (!row) return undefined;
        if (c.passwordHash !== undefined) await writePassword(trx, id, c.passwordHash);
        return toUser(row as Row);
      });
    } catch (err) {
      if (err instanceof Conflict) throw emailTaken(err);
      throw err;
    }
  }

  async delete(id: string): Promise<boolean> {
    return affectedRows(await this.users.where({ id }).delete()) > 0;
  }
}
