import { affectedRows } from '../affected-rows.js';
import type { Database } from '../database.js';
import { Conflict } from '../../domain/errors.js';
import type { NewUser, User, UserChanges, UserRecord, UserRepository } from '../../domain/accounts/user.js';

type Row = {
  id: string;
  email: string;
  name: string | null;
  email_verified: boolean;
  password_hash: string | null;
  disabled: boolean;
  created_at: Date | string;
  updated_at: Date | string;
};

const toRecord = (r: Row): UserRecord => ({
  id: r.id,
  email: r.email,
  name: r.name,
  emailVerified: r.email_verified,
  passwordHash: r.password_hash,
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

export class SqlUserRepository implements UserRepository {
  constructor(private readonly database: Database) {}

  private get users() {
    return this.database.db()<Row>('users');
  }

  async insert(user: NewUser): Promise<User> {
    try {
      const [row] = await this.users
        .insert({
          id: user.id,
          email: user.email,
          name: user.name,
          email_verified: user.emailVerified,
          password_hash: user.passwordHash,
        })
        .returning('*');
      return toUser(row as Row);
    } catch (err) {
      if (err instanceof Conflict) throw emailTaken(err);
      throw err;
    }
  }

  async findById(id: string): Promise<UserRecord | undefined> {
    const row = await this.users.where({ id }).first();
    return row ? toRecord(row as Row) : undefined;
  }

  async findByEmail(email: string): Promise<UserRecord | undefined> {
    const row = await this.users.whereRaw('lower(email) = lower(?)', [email]).first();
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
    if (c.passwordHash !== undefined) patch.password_hash = c.passwordHash;
    if (c.disabled !== undefined) patch.disabled = c.disabled;
    try {
      const [row] = await this.users.where({ id }).update(patch).returning('*');
      return row ? toUser(row as Row) : undefined;
    } catch (err) {
      if (err instanceof Conflict) throw emailTaken(err);
      throw err;
    }
  }

  async delete(id: string): Promise<boolean> {
    return affectedRows(await this.users.where({ id }).delete()) > 0;
  }
}
