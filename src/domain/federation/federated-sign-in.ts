import { createHash, randomBytes } from 'node:crypto';
import { normalizeEmail, type Users } from '../accounts/users.js';
import type { OneTimeValues } from '../authn/one-time-values.js';
import type { PendingLink, Proof } from '../authn/sign-in-state.js';
import type { DomainEvents, RequestOrigin } from '../events/domain-events.js';
import type { KeyEncryption } from '../keys/key-encryption.js';
import { type ConnectionRepository, connectionSecretContext, type StoredConnection } from './connection.js';
import type { FederatedIdentityRepository } from './federated-identity.js';
import { type Upstream, UpstreamError, type UpstreamProfile } from './upstream.js';

/** Between `begin` and the callback: at most this long at the upstream. */
const PENDING_TTL_SECONDS = 600;
/** Between the callback and the sign-in page that takes its outcome. */
const OUTCOME_TTL_SECONDS = 300;

export type UpstreamConnection = Extract<StoredConnection, { type: 'oidc' | 'oauth2' }>;

export type { PendingLink };

/** What the callback established, taken once by the sign-in page of its interaction. */
export type FederationOutcome =
  | { kind: 'authenticated'; accountId: string; proof: Proof }
  | { kind: 'failed'; message: string }
  | { kind: 'link'; pending: PendingLink; message: string };

interface PendingRequest {
  interactionUid: string;
  /** sha256 of the browser-binding cookie set with the redirect to the upstream. */
  bindingHash: string;
  connectionId: string;
  state: string;
  nonce: string;
  codeVerifier: string;
}

/** Upstream `amr` values that assert more than one factor (RFC 8176). */
const MFA_AMR = new Set(['mfa', 'otp', 'hwk', 'swk', 'sms', 'fpt', 'face', 'iris', 'retina', 'vbm']);
/** The browser-binding cookie (BrowserBinding), sent only to the callbacks. */
export const FEDERATION_COOKIE = 'gatehouse.federation';
const sha256 = (v: string) => createHash('sha256').update(v).digest('base64url');
const SORRY = 'Signing in with %s did not work. Try again, or use another way to sign in.';

export interface FederatedSignInDeps {
  connections: ConnectionRepository;
  identities: FederatedIdentityRepository;
  users: Users;
  kek: KeyEncryption;
  oneTimeValues: OneTimeValues;
  events: DomainEvents;
  upstream: Upstream;
  issuer: string;
}

/**
 * Sign-in through an upstream OpenID Connect / OAuth 2.0 provider: `begin` sends the browser there,
 * `callback` checks the answer, finds or creates the account (never linking an existing one
 * silently) and leaves the outcome for the interaction's sign-in page (FederationStrategy.poll).
 */
export class FederatedSignIn {
  constructor(private readonly deps: FederatedSignInDeps) {}

  redirectUri(slug: string): string {
    return `${this.deps.issuer}/federation/${slug}/callback`;
  }

  /** The enabled OIDC / OAuth 2.0 connections, for the sign-in page's buttons. */
  async enabled(): Promise<UpstreamConnection[]> {
    const all = await this.deps.connections.list();
    return all.filter((c): c is UpstreamConnection => c.enabled && (c.type === 'oidc' || c.type === 'oauth2'));
  }

  /**
   * Home-realm discovery: the enabled connection whose `domains` has this email's domain, when the
   * person asked for it (no password typed) or the connection enforces SSO (password and email
   * sign-in refused for its domains). Depends on the domain only, never on whether an account exists.
   */
  async homeRealm(email: string, passwordTyped: boolean): Promise<UpstreamConnection | undefined> {
    const domain = email.trim().toLowerCase().split('@')[1];
    if (!domain) return undefined;
    const home = (await this.enabled()).find((c) => c.domains.includes(domain));
    return home && (home.enforceSso || !passwordTyped) ? home : undefined;
  }

  async byStrategyId(id: string): Promise<UpstreamConnection | undefined> {
    const m = /^(oidc|oauth2):(.+)$/.exec(id);
    if (!m) return undefined;
    const c = await this.deps.connections.findBySlug(m[2]!);
    return c?.enabled && c.type === m[1] ? (c as UpstreamConnection) : undefined;
  }

  private secret(c: UpstreamConnection): string | undefined {
    return c.secretSealed ? this.deps.kek.decrypt(c.secretSealed, connectionSecretContext(c.id)) : undefined;
  }

  /** The upstream's authorization URL, and the value binding its answer to this browser. */
  async begin(c: UpstreamConnection, interactionUid: string): Promise<{ url: string; binding: string }> {
    const { url, ...request } = await this.deps.upstream.start(c, this.secret(c), this.redirectUri(c.slug));
    const binding = randomBytes(32).toString('base64url');
    const pending: PendingRequest = { interactionUid, connectionId: c.id, bindingHash: sha256(binding), ...request };
    await this.deps.oneTimeValues.put(`fed:state:${request.state}`, pending, PENDING_TTL_SECONDS);
    return { url, binding };
  }

  readonly bindingTtlSeconds = PENDING_TTL_SECONDS;

  /** The outcome of an interaction's federated step, taken once. */
  takeOutcome(interactionUid: string, connectionId: string): Promise<FederationOutcome | undefined> {
    return this.deps.oneTimeValues.take<FederationOutcome>(`fed:outcome:${interactionUid}:${connectionId}`);
  }

  /**
   * GET /federation/:slug/callback. Returns the interaction to go back to (its page shows the
   * outcome), or undefined when the state is unknown, spent or for another connection.
   */
  async callback(
    slug: string,
    query: string,
    binding: string | undefined,
    origin: RequestOrigin,
  ): Promise<{ interactionUid: string; strategyId: string } | undefined> {
    // The URL as registered (redirect_uri of the code exchange), whatever Host the request named.
    const url = new URL(`${this.redirectUri(slug)}${query ? `?${query}` : ''}`);
    const c = await this.deps.connections.findBySlug(slug);
    const state = url.searchParams.get('state');
    const pending = state ? await this.deps.oneTimeValues.take<PendingRequest>(`fed:state:${state}`) : undefined;
    if (!c || !pending || pending.connectionId !== c.id || (c.type !== 'oidc' && c.type !== 'oauth2')) {
      if (c) this.failed(c.id, state ? 'state_unknown' : 'state_missing', origin);
      return undefined;
    }
    // Another browser than the one that began (a link passed to a victim): its answer is dropped.
    if (!binding || sha256(binding) !== pending.bindingHash) {
      this.failed(c.id, 'browser_mismatch', origin);
      return undefined;
    }
    const conn = c as UpstreamConnection;
    const outcome = await this.outcome(conn, url, pending, origin);
    await this.deps.oneTimeValues.put(`fed:outcome:${pending.interactionUid}:${c.id}`, outcome, OUTCOME_TTL_SECONDS);
    return { interactionUid: pending.interactionUid, strategyId: `${c.type}:${c.slug}` };
  }

  private async outcome(
    c: UpstreamConnection,
    url: URL,
    pending: PendingRequest,
    origin: RequestOrigin,
  ): Promise<FederationOutcome> {
    const sorry: FederationOutcome = { kind: 'failed', message: SORRY.replace('%s', c.name) };
    const upstreamError = url.searchParams.get('error');
    if (upstreamError) {
      this.failed(c.id, `upstream_error:${upstreamError.slice(0, 64)}`, origin);
      return sorry;
    }
    let profile: UpstreamProfile;
    try {
      profile = await this.deps.upstream.finish(c, this.secret(c), url, pending);
    } catch (err) {
      this.failed(c.id, err instanceof UpstreamError ? err.reason : 'exchange_failed', origin);
      return sorry;
    }
    const proof = this.proof(c, profile);
    const linked = await this.deps.identities.find(c.id, profile.subject);
    if (linked) {
      const user = await this.deps.users.findActive(linked.userId);
      if (!user) {
        this.failed(c.id, 'disabled', origin, linked.userId);
        return sorry;
      }
      await this.deps.identities.touch(linked.id);
      return { kind: 'authenticated', accountId: user.id, proof };
    }
    if (!profile.email) {
      this.failed(c.id, 'no_email', origin);
      return { kind: 'failed', message: `${c.name} did not share your email address, so you cannot sign in with it.` };
    }
    const existing = await this.deps.users.findByEmail(profile.email);
    if (existing) {
      if (c.linkExisting === 'off') {
        this.failed(c.id, 'link_refused', origin, existing.id);
        return {
          kind: 'failed',
          message:
            `An account with ${existing.email} already exists. Sign in to it with its password or another ` +
            `method; it cannot be linked to ${c.name}.`,
        };
      }
      const pendingLink = {
        connectionId: c.id,
        connectionName: c.name,
        subject: profile.subject,
        email: existing.email,
      };
      return {
        kind: 'link',
        pending: pendingLink,
        message: `An account with ${existing.email} already exists. Sign in to it to link your ${c.name} account.`,
      };
    }
    if (!c.jit) {
      this.failed(c.id, 'jit_off', origin);
      return { kind: 'failed', message: `There is no account for ${profile.email}. Ask your administrator for one.` };
    }
    const user = await this.deps.users.create({
      email: profile.email,
      name: profile.name ?? null,
      emailVerified: profile.emailVerified,
    });
    this.deps.events.emit({ type: 'user.registered', accountId: user.id, connectionId: c.id }, origin);
    const identity = await this.deps.identities.insert({
      id: crypto.randomUUID(),
      connectionId: c.id,
      userId: user.id,
      subject: profile.subject,
      email: profile.email,
    });
    this.deps.events.emit(
      { type: 'identity.linked', accountId: user.id, connectionId: c.id, identityId: identity.id, by: 'jit' },
      origin,
    );
    return { kind: 'authenticated', accountId: user.id, proof };
  }

  private proof(c: UpstreamConnection, p: UpstreamProfile): Proof {
    return federationProof(c.id, c.trustedMfa, p);
  }

  /**
   * After the person signed in to the account a pending link named: link it, but only when that
   * account still has the upstream's email (signing in to another account links nothing).
   */
  async completeLink(accountId: string, pending: PendingLink, origin: RequestOrigin): Promise<void> {
    const user = await this.deps.users.findActive(accountId);
    if (!user || normalizeEmail(user.email) !== normalizeEmail(pending.email)) return;
    if (await this.deps.identities.find(pending.connectionId, pending.subject)) return;
    const identity = await this.deps.identities.insert({
      id: crypto.randomUUID(),
      connectionId: pending.connectionId,
      userId: accountId,
      subject: pending.subject,
      email: pending.email,
    });
    this.deps.events.emit(
      { type: 'identity.linked', accountId, connectionId: pending.connectionId, identityId: identity.id, by: 'user' },
      origin,
    );
  }

  /** The authorization request could not be built (discovery failed). */
  beginFailed(c: UpstreamConnection, origin: RequestOrigin): void {
    this.failed(c.id, 'discovery_failed', origin);
  }

  private failed(connectionId: string, reason: string, origin: RequestOrigin, accountId?: string) {
    this.deps.events.emit(
      { type: 'federation.failed', connectionId, reason, ...(accountId ? { accountId } : {}) },
      origin,
    );
  }
}

/**
 * amr `fed` (a federated sign-in; RFC 8176 has no value for it) counts as one factor, or as two
 * when the connection is `trusted_mfa` and the upstream asserts MFA in its `amr` (or an acr
 * naming MFA). The upstream's own values are carried for the audit log.
 */
export function federationProof(
  connectionId: string,
  trustedMfa: boolean,
  upstream: { amr?: string[]; acr?: string },
): Proof {
  const { amr, acr } = upstream;
  const assertsMfa = (amr ?? []).some((v) => MFA_AMR.has(v)) || /mfa|multi|aal[23]|loa[34]/i.test(acr ?? '');
  return {
    amr: ['fed'],
    factors: trustedMfa && assertsMfa ? ['knowledge', 'possession'] : ['knowledge'],
    phishingResistant: false,
    upstream: { connectionId, ...(amr ? { amr } : {}), ...(acr ? { acr } : {}) },
  };
}
