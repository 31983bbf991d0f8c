import { randomUUID } from 'node:crypto';
import { GatehouseError, notFound } from '../errors.js';
import type { PasswordHasher } from './password-hasher.js';
import { checkPassword, type PasswordPolicy } from './password-policy.js';
import type { User, UserChanges, UserRepository, UserSessionRevoker } from './user.js';

export interface CreateUserInput { email: string; password?: string; name?: string | null; emailVerified?: boolean }
export interface UpdateUserInput { email?: string; password?: string; name?: string | null; emailVerified?: boolean; disabled?: boolean }

export type AuthenticationResult =
  | { ok: true; user: User }
  | { ok: false; reason: 'unknown_email' | 'wrong_password' | 'no_password' | 'disabled' };

export function normalizeEmail(email: string): string {
  return email.trim().normalize('NFC');
}

/** Accounts: creation, lookup, password checks. Knows nothing of HTTP or of the protocol. */
export class Users {
  constructor(
    private readonly repo: UserRepository,
    private readonly hasher: PasswordHasher,
    private readonly policy: PasswordPolicy,
    private readonly revoker: UserSessionRevoker,
  ) {}

  async create(input: CreateUserInput): Promise<User> {
    const email = normalizeEmail(input.email);
    const passwordHash = input.password === undefined ? null : await this.hasher.hash(checkPassword(this.policy, input.password));
    if (await this.repo.findByEmail(email)) throw new GatehouseError('conflict', 'a user with this email already exists');
    return this.repo.insert({ id: randomUUID(), email, name: input.name ?? null, emailVerified: input.emailVerified ?? false, passwordHash });
  }

  async get(id: string): Promise<User> {
    const user = await this.repo.findById(id);
    if (!user) throw notFound('user');
    return user;
  }

  /** For the provider's findAccount: undefined for unknown or disabled users. */
  async findActive(id: string): Promise<User | undefined> {
    const user = await this.repo.findById(id);
    return user && !user.disabled ? user : undefined;
  }

  list(options: { limit: number; after?: string }): Promise<User[]> {
    return this.repo.list(options);
  }

  async update(id: string, input: UpdateUserInput): Promise<User> {
    const changes: UserChanges = {};
    if (input.email !== undefined) {
      changes.email = normalizeEmail(input.email);
      const other = await this.repo.findByEmail(changes.email);
      if (other && other.id !== id) throw new GatehouseError('conflict', 'a user with this email already exists');
    }
    if (input.name !== undefined) changes.name = input.name;
    if (input.emailVerified !== undefined) changes.emailVerified = input.emailVerified;
    if (input.disabled !== undefined) changes.disabled = input.disabled;
    if (input.password !== undefined) changes.passwordHash = await this.hasher.hash(checkPassword(this.policy, input.password));
    const user = await this.repo.update(id, changes);
    if (!user) throw notFound('user');
    if (input.disabled === true || input.password !== undefined) await this.revoker.revokeAllFor(id);
    return user;
  }

  async delete(id: string): Promise<void> {
    if (!(await this.repo.findById(id))) throw notFound('user');
    await this.revoker.revokeAllFor(id);
    await this.repo.delete(id);
  }

  /**
   * Email + password check with the same work for every outcome: an unknown email still costs
   * one Argon2 verification, so neither the answer nor its timing tells whether the account exists.
   */
  async authenticate(email: string, password: string): Promise<AuthenticationResult> {
    const user = await this.repo.findByEmail(normalizeEmail(email));
    if (!user) {
      await this.hasher.verifyDummy(password);
      return { ok: false, reason: 'unknown_email' };
    }
    if (!user.passwordHash) {
      await this.hasher.verifyDummy(password);
      return { ok: false, reason: 'no_password' };
    }
    const valid = await this.hasher.verify(user.passwordHash, password.normalize('NFC'));
    if (!valid) return { ok: false, reason: 'wrong_password' };
    if (user.disabled) return { ok: false, reason: 'disabled' };
    return { ok: true, user };
  }
}
