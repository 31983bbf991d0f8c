import { randomUUID } from 'node:crypto';
import { GatehouseError, notFound } from '../errors.js';
import type { PasswordHasher } from './password-hasher.js';
import { checkPassword, type PasswordContext, type PasswordPolicy } from './password-policy.js';
import type { User, UserChanges, UserRepository, UserSessionRevoker } from './user.js';

/** A new password that passed the policy, already hashed (see `Users.preparePassword`). */
export interface PreparedPassword {
  readonly passwordHash: string;
}

export interface CreateUserInput {
  email: string;
  password?: string;
  /** In place of `password`: one checked and hashed earlier (a registration waiting for its email link). */
  prepared?: PreparedPassword;
  name?: string | null;
  emailVerified?: boolean;
}
export interface UpdateUserInput {
  email?: string;
  password?: string;
  /** In place of `password`: checked and hashed before a single-use reset link was spent. */
  prepared?: PreparedPassword;
  name?: string | null;
  emailVerified?: boolean;
  disabled?: boolean;
}

export type AuthenticationResult =
  | { ok: true; user: User }
  /** `userId` when the email names an account (for the audit log; never shown to the caller). */
  | { ok: false; reason: 'unknown_email' | 'wrong_password' | 'no_password' | 'disabled'; userId?: string };

export function normalizeEmail(email: string): string {
  return email.trim().normalize('NFC');
}

/**
 * How long one instance may answer token requests with a user's previous profile. Safe for
 * access control: disabling or deleting a user revokes their grants and sessions in the shared
 * store at once, and password sign-in always reads the database.
 */
const ACCOUNT_CACHE_MS = 5000;
const ACCOUNT_CACHE_MAX = 10_000;

/** Accounts: creation, lookup, password checks. Knows nothing of HTTP or of the protocol. */
export class Users {
  readonly #active = new Map<string, { at: number; user: User | undefined }>();

  constructor(
    private readonly repo: UserRepository,
    private readonly hasher: PasswordHasher,
    private readonly policy: PasswordPolicy,
    private readonly revoker: UserSessionRevoker,
  ) {}

  /**
   * Checks a new password against the policy and hashes it, so a caller can refuse a bad password
   * before it spends anything single-use (a reset link) or keep only the hash (a pending registration).
   */
  async preparePassword(password: string, context: PasswordContext = {}) {
    return { passwordHash: await this.hasher.hash(checkPassword(this.policy, password, context)) } as PreparedPassword;
  }

  async create(input: CreateUserInput): Promise<User> {
    const email = normalizeEmail(input.email);
    const context = { email, name: input.name };
    const passwordHash =
      input.prepared?.passwordHash ??
      (input.password === undefined ? null : (await this.preparePassword(input.password, context)).passwordHash);
    if (await this.repo.findByEmail(email))
      throw new GatehouseError('conflict', 'a user with this email already exists');
    return this.repo.insert({
      id: randomUUID(),
      email,
      name: input.name ?? null,
      emailVerified: input.emailVerified ?? false,
      passwordHash,
    });
  }

  /** The account of an address, if any (for flows that answer the same either way). */
  async findByEmail(email: string): Promise<User | undefined> {
    const record = await this.repo.findByEmail(normalizeEmail(email));
    if (!record) return undefined;
    const { passwordHash: _hash, ...user } = record;
    return user;
  }

  /**
   * The password rules alone, changing nothing: for a flow that must know before it spends something
   * (a single-use reset token). Throws `invalid_password` naming the rule; `create`/`update` check anyway.
   */
  checkNewPassword(password: string, context: PasswordContext): void {
    checkPassword(this.policy, password, context);
  }

  async get(id: string): Promise<User> {
    const user = await this.repo.findById(id);
    if (!user) throw notFound('user');
    return user;
  }

  /** For the provider's findAccount (every token request): undefined for unknown or disabled users. */
  async findActive(id: string): Promise<User | undefined> {
    const hit = this.#active.get(id);
    if (hit && Date.now() - hit.at < ACCOUNT_CACHE_MS) return hit.user;
    const record = await this.repo.findById(id);
    let user: User | undefined;
    if (record && !record.disabled) {
      const { passwordHash: _hash, ...rest } = record;
      user = rest;
    }
    if (this.#active.size >= ACCOUNT_CACHE_MAX) this.#active.clear();
    this.#active.set(id, { at: Date.now(), user });
    return user;
  }

  /** `q`: case-insensitive substring of the email or the name. */
  list(options: { limit: number; after?: string; q?: string }): Promise<User[]> {
    return this.repo.list(options);
  }

  async update(id: string, input: UpdateUserInput): Promise<User> {
    const changes: UserChanges = {};
    if (input.email !== undefined) {
      changes.email = normalizeEmail(input.email);
      const other = await this.repo.findByEmail(changes.email);
      if (other && other.id !== id) throw new GatehouseError('conflict', 'a user with this email already exists');
      // A new address has not been shown to belong to the user (only their own current one finds `other`).
      if (!other) changes.emailVerified = false;
    }
    if (input.name !== undefined) changes.name = input.name;
    if (input.emailVerified !== undefined) changes.emailVerified = input.emailVerified;
    if (input.disabled !== undefined) changes.disabled = input.disabled;
    if (input.password !== undefined) {
      // The rules compare the password with the account's email and name as they will be after the change.
      const current = await this.repo.findById(id);
      if (!current) throw notFound('user');
      const context = {
        email: changes.email ?? current.email,
        name: input.name === undefined ? current.name : input.name,
      };
      changes.passwordHash = await this.hasher.hash(checkPassword(this.policy, input.password, context));
    }
    if (input.prepared) changes.passwordHash = input.prepared.passwordHash;
    const user = await this.repo.update(id, changes);
    this.#active.delete(id);
    if (!user) throw notFound('user');
    if (input.disabled === true || changes.passwordHash !== undefined) await this.revoker.revokeAllFor(id);
    return user;
  }

  async delete(id: string): Promise<void> {
    if (!(await this.repo.findById(id))) throw notFound('user');
    await this.revoker.revokeAllFor(id);
    await this.repo.delete(id);
    this.#active.delete(id);
  }

  /**
   * "Change password" on the account page: the current password must match (an account without
   * one, e.g. passkeys only, sets its first). Unlike `update`, sessions are left alone: the person
   * chooses whether to sign out elsewhere, and the browser they are using stays signed in.
   */
  async changePassword(id: string, current: string, next: string): Promise<User> {
    const record = await this.repo.findById(id);
    if (!record || record.disabled) throw notFound('user');
    const matches = record.passwordHash
      ? await this.hasher.verify(record.passwordHash, current.normalize('NFC'))
      : current === '';
    if (!matches) throw new GatehouseError('invalid_credentials', 'the current password is wrong');
    const passwordHash = await this.hasher.hash(checkPassword(this.policy, next));
    const user = await this.repo.update(id, { passwordHash });
    this.#active.delete(id);
    if (!user) throw notFound('user');
    return user;
  }

  /** Whether an account other than `exceptId` uses `email` (for the account page's change of address). */
  async emailInUse(email: string, exceptId: string): Promise<boolean> {
    const other = await this.repo.findByEmail(normalizeEmail(email));
    return other !== undefined && other.id !== exceptId;
  }

  /** Whether the account has a password (passkey-only accounts have none). */
  async hasPassword(id: string): Promise<boolean> {
    return Boolean((await this.repo.findById(id))?.passwordHash);
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
      return { ok: false, reason: 'no_password', userId: user.id };
    }
    const valid = await this.hasher.verify(user.passwordHash, password.normalize('NFC'));
    if (!valid) return { ok: false, reason: 'wrong_password', userId: user.id };
    if (user.disabled) return { ok: false, reason: 'disabled', userId: user.id };
    return { ok: true, user };
  }
}
