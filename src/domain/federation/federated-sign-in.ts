import { createHash, randomBytes } from 'node:crypto';
import { normalizeEmail, type Users } from '../accounts/users.js';
import type { OneTimeValues } from '../authn/one-time-values.js';
import type { PendingLink, Proof } from '../authn/sign-in-state.js';
import type { DomainEvents, RequestOrigin } from '../events/domain-events.js';
import type { KeyEncryption } from '../keys/key-encryption.js';
import { type ConnectionRepository, connectionSecretContext, type StoredConnection } from './connection.js';
import type { FederatedIdentityRepository } from './federated-identity.js';
import type { SamlConnection, SamlEndpoints, SamlServiceProvider, SamlSpKeys } from './saml.js';
import { type Upstream, UpstreamError, type UpstreamProfile } from './upstream.js';

/** Between `begin` and the callback: at most this long at the upstream. */
const PENDING_TTL_SECONDS = 600;
/** Between the callback and the sign-in page that takes its outcome. */
const OUTCOME_TTL_SECONDS = 300;
/** Clock skew allowed on SAML NotBefore / NotOnOrAfter. */
export const SAML_SKEW_SECONDS = 120;
/** A cross-site POST's body, between the POST and the same-site GET the browser is bounced to. */
const CROSS_SITE_POST_TTL_SECONDS = 120;

export type UpstreamConnection = Extract<StoredConnection, { type: 'oidc' | 'oauth2' }>;
type StoredSamlConnection = Extract<StoredConnection, { type: 'saml' }>;

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

/** A SAML AuthnRequest on its way, keyed by its ID (the response's InResponseTo). */
interface PendingSamlRequest {
  interactionUid: string;
  bindingHash: string;
  connectionId: string;
  relayState: string;
}

/** Where the callback sends the browser next. */
export type CallbackResult =
  | { kind: 'interaction'; interactionUid: string; strategyId: string }
  /** An IdP-initiated SAML sign-in (allowed per connection): no interaction yet; see takeUnsolicited. */
  | { kind: 'unsolicited'; handle: string };

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
  /** SAML connections; without it they are not offered. */
  saml?: SamlServiceProvider;
  issuer: string;
}

/**
 * Sign-in through an upstream OpenID Connect / OAuth 2.0 provider: `begin` sends the browser there,
 * `callback` checks the answer, finds or creates the account (never linking an existing one
 * silently) and leaves the outcome for the interaction's sign-in page (FederationStrategy.poll).
 */
export class FederatedSignIn {
  constructor(private readonly deps: FederatedSignInDeps) {}

  /** Cookies carry `Secure` when the issuer is https (the same rule as the other cookies). */
  get secureCookies(): boolean {
    return new URL(this.deps.issuer).protocol === 'https:';
  }

  redirectUri(slug: string): string {
    return `${this.deps.issuer}/federation/${slug}/callback`;
  }

  /** `${ISSUER}/saml/:slug` and the SP's endpoints under it. */
  samlEndpoints(slug: string): SamlEndpoints {
    const entityId = `${this.deps.issuer}/saml/${slug}`;
    return { entityId, acsUrl: `${entityId}/acs`, metadataUrl: `${entityId}/metadata` };
  }

  /** The enabled connections this server can use, for the sign-in page's buttons. */
  async enabled(): Promise<StoredConnection[]> {
    const all = await this.deps.connections.list();
    return all.filter((c) => c.enabled && (c.type !== 'saml' || this.deps.saml));
  }

  /**
   * Home-realm discovery: the enabled connection whose `domains` has this email's domain, when the
   * person asked for it (no password typed) or the connection enforces SSO (password and email
   * sign-in refused for its domains). Depends on the domain only, never on whether an account exists.
   */
  async homeRealm(email: string, passwordTyped: boolean): Promise<StoredConnection | undefined> {
    const domain = email.trim().toLowerCase().split('@')[1];
    if (!domain) return undefined;
    const home = (await this.enabled()).find((c) => c.domains.includes(domain));
    return home && (home.enforceSso || !passwordTyped) ? home : undefined;
  }

  async byStrategyId(id: string): Promise<StoredConnection | undefined> {
    const m = /^(oidc|oauth2|saml):(.+)$/.exec(id);
    if (!m) return undefined;
    const c = await this.deps.connections.findBySlug(m[2]!);
    return c?.enabled && c.type === m[1] && (c.type !== 'saml' || this.deps.saml) ? c : undefined;
  }

  private secret(c: StoredConnection): string | undefined {
    return c.secretSealed ? this.deps.kek.decrypt(c.secretSealed, connectionSecretContext(c.id)) : undefined;
  }

  /** A SAML connection's SP keys (its sealed secret). */
  samlKeys(c: StoredSamlConnection): SamlSpKeys {
    const sealed = this.secret(c);
    if (!sealed) throw new UpstreamError('sp_keys_missing', `connection ${c.slug} has no SP keys`);
    return JSON.parse(sealed) as SamlSpKeys;
  }

  /** The SP metadata of a SAML connection (GET /saml/:slug/metadata); undefined when there is none. */
  async samlMetadata(slug: string): Promise<string | undefined> {
    const c = await this.deps.connections.findBySlug(slug);
    // Without SP keys (created before SAML was available; its next PATCH adds them) there is no metadata yet.
    if (c?.type !== 'saml' || !this.deps.saml || !c.secretSealed) return undefined;
    return this.deps.saml.metadata(c as SamlConnection, this.samlKeys(c), this.samlEndpoints(c.slug));
  }

  /** The upstream's authorization URL (or the IdP's SSO URL), and the value binding its answer to this browser. */
  async begin(c: StoredConnection, interactionUid: string): Promise<{ url: string; binding: string }> {
    const binding = randomBytes(32).toString('base64url');
    if (c.type === 'saml') {
      if (!this.deps.saml) throw new UpstreamError('saml_unavailable', 'SAML is not available');
      const relayState = randomBytes(16).toString('base64url');
      const { url, requestId } = await this.deps.saml.loginRequest(
        c,
        this.samlKeys(c),
        this.samlEndpoints(c.slug),
        relayState,
      );
      const pending: PendingSamlRequest = {
        interactionUid,
        connectionId: c.id,
        bindingHash: sha256(binding),
        relayState,
      };
      await this.deps.oneTimeValues.put(`fed:saml:${requestId}`, pending, PENDING_TTL_SECONDS);
      return { url, binding };
    }
    const { url, ...request } = await this.deps.upstream.start(c, this.secret(c), this.redirectUri(c.slug));
    const pending: PendingRequest = { interactionUid, connectionId: c.id, bindingHash: sha256(binding), ...request };
    await this.deps.oneTimeValues.put(`fed:state:${request.state}`, pending, PENDING_TTL_SECONDS);
    return { url, binding };
  }

  readonly bindingTtlSeconds = PENDING_TTL_SECONDS;

  /**
   * A cross-site form POST from an upstream (the SAML ACS, Apple's `form_post`) carries no
   * SameSite=Lax cookies, so its body is held here briefly and the browser bounced once through a
   * same-site GET (`?resume=<handle>`), which does carry the browser-binding cookie.
   */
  async holdCrossSitePost(slug: string, body: string): Promise<string> {
    const handle = randomBytes(32).toString('base64url');
    await this.deps.oneTimeValues.put(`fed:post:${handle}`, { slug, body }, CROSS_SITE_POST_TTL_SECONDS);
    return handle;
  }

  /** The held POST body for this connection's callback, taken once; undefined when unknown or spent. */
  async takeCrossSitePost(slug: string, handle: string): Promise<URLSearchParams | undefined> {
    const held = await this.deps.oneTimeValues.take<{ slug: string; body: string }>(`fed:post:${handle}`);
    return held && held.slug === slug ? new URLSearchParams(held.body) : undefined;
  }

  /** The outcome of an interaction's federated step, taken once. */
  takeOutcome(interactionUid: string, connectionId: string): Promise<FederationOutcome | undefined> {
    return this.deps.oneTimeValues.take<FederationOutcome>(`fed:outcome:${interactionUid}:${connectionId}`);
  }

  /**
   * GET /federation/:slug/callback, with the parameters the upstream sent (in the query, or in a
   * cross-site form POST re-read here: Apple's `form_post`, the SAML ACS). Returns where to go
   * next (the interaction, whose page shows the outcome), or undefined when the state / request
   * is unknown, spent, for another connection or another browser. `viaPost`: the parameters came
   * in a form POST (held, then resumed here); a SAMLResponse is accepted only so (HTTP-POST binding).
   */
  async callback(
    slug: string,
    params: URLSearchParams,
    binding: string | undefined,
    origin: RequestOrigin,
    viaPost = false,
  ): Promise<CallbackResult | undefined> {
    const c = await this.deps.connections.findBySlug(slug);
    if (c?.type === 'saml') {
      if (!c.enabled || !viaPost) {
        this.failed(c.id, c.enabled ? 'saml_binding' : 'connection_disabled', origin);
        return undefined;
      }
      return this.samlCallback(c, params, binding, origin);
    }
    // The URL as registered (redirect_uri of the code exchange), whatever Host the request named.
    const url = new URL(this.redirectUri(slug));
    url.search = params.toString();
    const state = params.get('state');
    const pending = state ? await this.deps.oneTimeValues.take<PendingRequest>(`fed:state:${state}`) : undefined;
    if (!c || !pending || pending.connectionId !== c.id) {
      if (c) this.failed(c.id, state ? 'state_unknown' : 'state_missing', origin);
      return undefined;
    }
    // Another browser than the one that began (a link passed to a victim): its answer is dropped.
    if (!binding || sha256(binding) !== pending.bindingHash) {
      this.failed(c.id, 'browser_mismatch', origin);
      return undefined;
    }
    const outcome = await this.upstreamOutcome(c, url, pending, origin);
    await this.deps.oneTimeValues.put(`fed:outcome:${pending.interactionUid}:${c.id}`, outcome, OUTCOME_TTL_SECONDS);
    return { kind: 'interaction', interactionUid: pending.interactionUid, strategyId: `${c.type}:${c.slug}` };
  }

  /**
   * The SAMLResponse (HTTP-POST binding) of a SAML connection: a cheap pre-filter on its unverified
   * InResponseTo, every check of the response, then its verified InResponseTo must name a request
   * this browser began (RelayState equal), taken once, and its
   * assertion ID must not have been accepted before (on any instance) until it expires.
   * Unsolicited responses are refused unless the connection allows IdP-initiated sign-in.
   */
  private async samlCallback(
    c: StoredSamlConnection,
    params: URLSearchParams,
    binding: string | undefined,
    origin: RequestOrigin,
  ): Promise<CallbackResult | undefined> {
    const samlResponse = params.get('SAMLResponse');
    if (!this.deps.saml || !samlResponse) {
      this.failed(c.id, 'saml_response_missing', origin);
      return undefined;
    }
    // Pre-filter (cheap, before ~300 ms of schema validation an unauthenticated POST could cause):
    // the InResponseTo as written, unverified, must name a pending request of this connection begun
    // by this browser (peeked, not taken), or be absent on a connection allowing IdP-initiated
    // sign-in. The decision below is taken again on the verified values.
    let claimed: string | undefined;
    try {
      claimed = this.deps.saml.peekInResponseTo(samlResponse);
    } catch (err) {
      this.failed(c.id, err instanceof UpstreamError ? err.reason : 'saml_malformed', origin);
      return undefined;
    }
    if (claimed === undefined) {
      if (!c.settings.allow_idp_initiated) {
        this.failed(c.id, 'unsolicited', origin);
        return undefined;
      }
    } else {
      const reason = this.samlRequestMismatch(
        c,
        await this.deps.oneTimeValues.peek<PendingSamlRequest>(`fed:saml:${claimed}`),
        binding,
        params,
      );
      if (reason) {
        this.failed(c.id, reason, origin);
        return undefined;
      }
    }
    let assertion: Awaited<ReturnType<SamlServiceProvider['readResponse']>>;
    try {
      assertion = await this.deps.saml.readResponse(c, this.samlKeys(c), this.samlEndpoints(c.slug), samlResponse);
    } catch (err) {
      this.failed(c.id, err instanceof UpstreamError ? err.reason : 'saml_invalid', origin);
      return undefined;
    }
    let pending: PendingSamlRequest | undefined;
    if (assertion.inResponseTo) {
      pending = await this.deps.oneTimeValues.take<PendingSamlRequest>(`fed:saml:${assertion.inResponseTo}`);
      const reason = this.samlRequestMismatch(c, pending, binding, params);
      if (reason) {
        this.failed(c.id, reason, origin);
        return undefined;
      }
    } else if (!c.settings.allow_idp_initiated) {
      this.failed(c.id, 'unsolicited', origin);
      return undefined;
    }
    // Each assertion once, across instances, for as long as it would otherwise be valid.
    const ttl = Math.ceil((assertion.notOnOrAfter.getTime() - Date.now()) / 1000) + SAML_SKEW_SECONDS;
    const fresh = await this.deps.oneTimeValues.putIfAbsent(
      `fed:saml-assertion:${c.id}:${sha256(assertion.assertionId)}`,
      1,
      Math.max(ttl, 1),
    );
    if (!fresh) {
      this.failed(c.id, 'assertion_replayed', origin);
      return undefined;
    }
    const outcome = await this.accountFor(c, assertion.profile, origin);
    if (!pending) {
      const handle = randomBytes(32).toString('base64url');
      await this.deps.oneTimeValues.put(
        `fed:unsolicited:${handle}`,
        { connectionId: c.id, outcome },
        OUTCOME_TTL_SECONDS,
      );
      return { kind: 'unsolicited', handle };
    }
    await this.deps.oneTimeValues.put(`fed:outcome:${pending.interactionUid}:${c.id}`, outcome, OUTCOME_TTL_SECONDS);
    return { kind: 'interaction', interactionUid: pending.interactionUid, strategyId: `saml:${c.slug}` };
  }

  /** Why a SAML response's pending request does not fit (unknown, another connection, another browser, RelayState). */
  private samlRequestMismatch(
    c: StoredSamlConnection,
    pending: PendingSamlRequest | undefined,
    binding: string | undefined,
    params: URLSearchParams,
  ): string | undefined {
    if (!pending || pending.connectionId !== c.id) return 'in_response_to_unknown';
    if (!binding || sha256(binding) !== pending.bindingHash) return 'browser_mismatch';
    if (params.get('RelayState') !== pending.relayState) return 'relay_state_mismatch';
    return undefined;
  }

  /**
   * An IdP-initiated sign-in's outcome, moved onto the interaction that the browser holding its
   * handle started next (so the sign-in page finishes it like an SP-initiated one).
   */
  async adoptUnsolicited(handle: string, interactionUid: string): Promise<string | undefined> {
    const held = await this.deps.oneTimeValues.take<{ connectionId: string; outcome: FederationOutcome }>(
      `fed:unsolicited:${handle}`,
    );
    if (!held) return undefined;
    const c = await this.deps.connections.findById(held.connectionId);
    if (!c?.enabled) return undefined;
    await this.deps.oneTimeValues.put(`fed:outcome:${interactionUid}:${c.id}`, held.outcome, OUTCOME_TTL_SECONDS);
    return `${c.type}:${c.slug}`;
  }

  private async upstreamOutcome(
    c: UpstreamConnection,
    url: URL,
    pending: PendingRequest,
    origin: RequestOrigin,
  ): Promise<FederationOutcome> {
    const upstreamError = url.searchParams.get('error');
    if (upstreamError) {
      this.failed(c.id, `upstream_error:${upstreamError.slice(0, 64)}`, origin);
      return { kind: 'failed', message: SORRY.replace('%s', c.name) };
    }
    let profile: UpstreamProfile;
    try {
      profile = await this.deps.upstream.finish(c, this.secret(c), url, pending);
    } catch (err) {
      this.failed(c.id, err instanceof UpstreamError ? err.reason : 'exchange_failed', origin);
      return { kind: 'failed', message: SORRY.replace('%s', c.name) };
    }
    return this.accountFor(c, profile, origin);
  }

  /**
   * The account an upstream identity signs in to: the linked one; else a JIT-created one when no
   * local account has its email; never an existing account silently (link prompt, or refusal).
   */
  private async accountFor(
    c: StoredConnection,
    profile: UpstreamProfile,
    origin: RequestOrigin,
  ): Promise<FederationOutcome> {
    const sorry: FederationOutcome = { kind: 'failed', message: SORRY.replace('%s', c.name) };
    const proof = federationProof(c.id, c.trustedMfa, profile);
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
  beginFailed(c: StoredConnection, origin: RequestOrigin): void {
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
