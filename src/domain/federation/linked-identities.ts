import type { User } from '../accounts/user.js';
import type { EnrolledFactors } from '../authn/authentication-policy.js';
import { GatehouseError, notFound } from '../errors.js';
import type { DomainEvents, RequestOrigin } from '../events/domain-events.js';
import type { ConnectionRepository } from './connection.js';
import type { FederatedIdentity, FederatedIdentityRepository } from './federated-identity.js';

/** A linked identity with the connection it came through (for the account page and the admin API). */
export interface LinkedIdentity extends FederatedIdentity {
  connectionSlug: string;
  connectionName: string;
  connectionEnabled: boolean;
}

/** Why unlinking would leave the account with no way to sign in. */
export type UnlinkRefusal = 'set_password_first' | 'sso_enforced';

export type UnlinkVerdict = { allowed: true } | { allowed: false; reason: UnlinkRefusal; message: string };

const REFUSALS: Record<UnlinkRefusal, string> = {
  set_password_first: 'Set a password first: this is your only way to sign in.',
  sso_enforced: 'This is your only way to sign in: your organisation requires single sign-on for your email address.',
};

/** The person may not unlink their last way in (409; the message says what to do instead). */
export class UnlinkRefused extends GatehouseError {
  constructor(readonly reason: UnlinkRefusal) {
    super('conflict', REFUSALS[reason]);
    this.name = 'UnlinkRefused';
  }
}

export interface LinkedIdentitiesDeps {
  identities: FederatedIdentityRepository;
  connections: Pick<ConnectionRepository, 'list'>;
  users: { get(id: string): Promise<Pick<User, 'id' | 'email'>>; hasPassword(id: string): Promise<boolean> };
  factors: { enrolled(userId: string): Promise<EnrolledFactors> };
  /** EMAIL_SIGN_IN (a code) or EMAIL_SIGN_IN_LINK is on: anyone with their mailbox can sign in. */
  emailSignIn: boolean;
  events: DomainEvents;
}

const domainOf = (email: string) => email.slice(email.lastIndexOf('@') + 1).toLowerCase();

/**
 * An account's linked upstream identities: listing and unlinking. A person may unlink one only
 * while another way to sign in remains, so that unlinking never locks them out:
 * - a password, unless an enabled connection enforces SSO for the account's email domain;
 * - email sign-in (code or link) being on, with the same SSO exception;
 * - a passkey (enforce_sso refuses password and email sign-in only);
 * - another linked identity whose connection is enabled.
 * Admins may unlink any identity (`force`): they can also set a password or send a reset.
 */
export class LinkedIdentities {
  constructor(private readonly deps: LinkedIdentitiesDeps) {}

  /** Oldest link first; identities of a connection that no longer exists are not listed (cascade). */
  async list(userId: string): Promise<LinkedIdentity[]> {
    const [identities, connections] = await Promise.all([
      this.deps.identities.listForUser(userId),
      this.deps.connections.list(),
    ]);
    const byId = new Map(connections.map((c) => [c.id, c]));
    return identities.flatMap((identity) => {
      const c = byId.get(identity.connectionId);
      if (!c) return [];
      return [{ ...identity, connectionSlug: c.slug, connectionName: c.name, connectionEnabled: c.enabled }];
    });
  }

  /** Each linked identity with whether the person may unlink it now. */
  async listWithVerdicts(userId: string): Promise<Array<LinkedIdentity & { unlink: UnlinkVerdict }>> {
    const linked = await this.list(userId);
    if (!linked.length) return [];
    const context = await this.#otherWays(userId);
    return linked.map((identity) => ({ ...identity, unlink: verdict(context, linked, identity) }));
  }

  /**
   * Removes the link; emits `identity.unlinked` (by 'user' or the admin actor). Throws not_found
   * for an identity that is not this account's, and UnlinkRefused unless `force` or another way in remains.
   */
  async unlink(
    userId: string,
    identityId: string,
    by: string,
    origin: RequestOrigin,
    options: { force?: boolean } = {},
  ): Promise<LinkedIdentity> {
    const linked = await this.list(userId);
    const identity = linked.find((i) => i.id === identityId);
    if (!identity) throw notFound('linked account');
    if (!options.force) {
      const v = verdict(await this.#otherWays(userId), linked, identity);
      if (!v.allowed) throw new UnlinkRefused(v.reason);
    }
    if (!(await this.deps.identities.delete(userId, identityId))) throw notFound('linked account');
    this.deps.events.emit(
      { type: 'identity.unlinked', accountId: userId, connectionId: identity.connectionId, identityId, by },
      origin,
    );
    return identity;
  }

  async #otherWays(userId: string): Promise<OtherWays> {
    const [user, connections, hasPassword, factors] = await Promise.all([
      this.deps.users.get(userId),
      this.deps.connections.list(),
      this.deps.users.hasPassword(userId),
      this.deps.factors.enrolled(userId),
    ]);
    const domain = domainOf(user.email);
    const ssoEnforced = connections.some((c) => c.enabled && c.enforceSso && c.domains.includes(domain));
    return { hasPassword, emailSignIn: this.deps.emailSignIn, passkey: factors.passkey, ssoEnforced };
  }
}

interface OtherWays {
  hasPassword: boolean;
  emailSignIn: boolean;
  passkey: boolean;
  ssoEnforced: boolean;
}

/** Whether `identity` may go: some other way in must remain (see the class comment). */
export function verdict(ways: OtherWays, linked: LinkedIdentity[], identity: LinkedIdentity): UnlinkVerdict {
  if (ways.passkey) return { allowed: true };
  if (linked.some((i) => i.id !== identity.id && i.connectionEnabled)) return { allowed: true };
  if (!ways.ssoEnforced && (ways.hasPassword || ways.emailSignIn)) return { allowed: true };
  const reason: UnlinkRefusal = ways.ssoEnforced ? 'sso_enforced' : 'set_password_first';
  return { allowed: false, reason, message: REFUSALS[reason] };
}
