export interface User {
  id: string;
  email: string;
  name: string | null;
  emailVerified: boolean;
  disabled: boolean;
  createdAt: Date;
  updatedAt: Date;
}

export interface UserRecord extends User {
  passwordHash: string | null;
}

export interface NewUser {
  id: string;
  email: string;
  name: string | null;
  emailVerified: boolean;
  passwordHash: string | null;
}

export interface UserChanges {
  email?: string;
  name?: string | null;
  emailVerified?: boolean;
  passwordHash?: string | null;
  disabled?: boolean;
}

/** Storage port for users; storage/ implements it. Emails are unique case-insensitively. */
export interface UserRepository {
  insert(user: NewUser): Promise<User>;
  findById(id: string): Promise<UserRecord | undefined>;
  findByEmail(email: string): Promise<UserRecord | undefined>;
  /** `q`: case-insensitive substring of the email or the name. */
  list(options: { limit: number; after?: string; q?: string }): Promise<User[]>;
  update(id: string, changes: UserChanges): Promise<User | undefined>;
  delete(id: string): Promise<boolean>;
}

/** Port that ends everything a user holds at the provider: sessions, grants, tokens. */
export interface UserSessionRevoker {
  revokeAllFor(userId: string): Promise<void>;
}

export function publicUser(u: User) {
  return {
    id: u.id,
    email: u.email,
    name: u.name,
    email_verified: u.emailVerified,
    disabled: u.disabled,
    created_at: u.createdAt.toISOString(),
    updated_at: u.updatedAt.toISOString(),
  };
}
