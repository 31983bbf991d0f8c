import * as oidc from 'openid-client';
import type { ClaimMapping } from '../domain/federation/connection.js';
import {
  type Upstream,
  type UpstreamConnection,
  UpstreamError,
  type UpstreamProfile,
  type UpstreamRequest,
} from '../domain/federation/upstream.js';
import { appleClientAuth, appleUserName } from './apple.js';

type OidcOrOAuth2 = UpstreamConnection;

const LOOPBACK = /^(localhost|127\.0\.0\.1|\[::1\])$/;
/** Plain http only towards a loopback upstream (development and tests); anything else must be https. */
const insecureAllowed = (url: string) => {
  const u = new URL(url);
  return u.protocol === 'http:' && LOOPBACK.test(u.hostname);
};

const GITHUB_EMAILS = 'https://api.github.com/user/emails';

/**
 * The relying-party side of a connection, with openid-client: discovery (cached per connection
 * for `discoveryTtlSeconds`), PKCE S256, state and nonce, the code exchange with full ID token
 * validation (JWKS signature, iss, aud, azp, exp, iat, nonce) and RFC 9207 `iss` when sent.
 * Microsoft's multi-tenant issuer (`https://login.microsoftonline.com/common/v2.0`, preset
 * `microsoft`) is openid-client's own Entra ID handling: discovery publishes
 * `…/{tenantid}/v2.0`, and an ID token is accepted only when its `iss` is that template with
 * `{tenantid}` replaced by the token's `tid` (test/federation/microsoft-tenant.test.ts).
 */
export class UpstreamClients implements Upstream {
  readonly #cache = new Map<string, { config: oidc.Configuration; until: number; stamp: number }>();

  constructor(
    private readonly discoveryTtlSeconds = 3600,
    private readonly now: () => number = Date.now,
    /** Every request to upstreams goes through this (tests route a real upstream's URLs to a local one). */
    private readonly fetchImpl?: oidc.CustomFetch,
  ) {}

  private async configuration(connection: OidcOrOAuth2, secret: string | undefined): Promise<oidc.Configuration> {
    const stamp = connection.updatedAt.getTime();
    const hit = this.#cache.get(connection.id);
    if (hit && hit.until > this.now() && hit.stamp === stamp) return hit.config;
    const auth = !secret
      ? oidc.None()
      : connection.type === 'oidc' && connection.settings.preset === 'apple'
        ? appleClientAuth(connection.settings, secret, this.now)
        : oidc.ClientSecretPost(secret);
    let config: oidc.Configuration;
    if (connection.type === 'oidc') {
      const { issuer, client_id } = connection.settings;
      config = await oidc.discovery(new URL(issuer), client_id, undefined, auth, {
        // The ID token's signature checked against the upstream's JWKS (cached, refetched on an unknown kid),
        // not only trusted because it came over TLS from the token endpoint.
        execute: [oidc.enableNonRepudiationChecks, ...(insecureAllowed(issuer) ? [oidc.allowInsecureRequests] : [])],
        ...(this.fetchImpl ? { [oidc.customFetch]: this.fetchImpl } : {}),
      });
    } else {
      const s = connection.settings;
      config = new oidc.Configuration(
        {
          issuer: new URL(s.authorization_endpoint).origin,
          authorization_endpoint: s.authorization_endpoint,
          token_endpoint: s.token_endpoint,
          userinfo_endpoint: s.userinfo_endpoint,
        },
        s.client_id,
        undefined,
        auth,
      );
      if ([s.authorization_endpoint, s.token_endpoint, s.userinfo_endpoint].some(insecureAllowed))
        oidc.allowInsecureRequests(config);
      config[oidc.customFetch] = withoutIdToken(s.token_endpoint);
    }
    this.#cache.set(connection.id, { config, until: this.now() + this.discoveryTtlSeconds * 1000, stamp });
    return config;
  }

  /** The authorization request to send the browser to. */
  async start(connection: OidcOrOAuth2, secret: string | undefined, redirectUri: string): Promise<UpstreamRequest> {
    const config = await this.configuration(connection, secret);
    const codeVerifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const params: Record<string, string> = {
      redirect_uri: redirectUri,
      scope: connection.settings.scopes.join(' '),
      code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      state,
    };
    if (connection.type === 'oidc') params.nonce = nonce;
    // Apple answers requests for `name` / `email` only by a form POST (bounced by federation-routes.ts).
    if (isApple(connection)) params.response_mode = 'form_post';
    return { url: oidc.buildAuthorizationUrl(config, params).href, state, nonce, codeVerifier };
  }

  /** The callback URL as the upstream sent it back, checked and redeemed. */
  async finish(
    connection: OidcOrOAuth2,
    secret: string | undefined,
    callbackUrl: URL,
    request: Omit<UpstreamRequest, 'url'>,
  ): Promise<UpstreamProfile> {
    const config = await this.configuration(connection, secret);
    let tokens: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>;
    try {
      tokens = await oidc.authorizationCodeGrant(config, callbackUrl, {
        pkceCodeVerifier: request.codeVerifier,
        expectedState: request.state,
        ...(connection.type === 'oidc' ? { expectedNonce: request.nonce, idTokenExpected: true } : {}),
      });
    } catch (err) {
      throw new UpstreamError(failureReason(err), 'The sign-in could not be completed.');
    }
    if (connection.type === 'oidc') {
      const claims = tokens.claims();
      if (!claims) throw new UpstreamError('id_token_missing', 'The sign-in could not be completed.');
      const profile = profileFrom(claims, connection.settings.claims, {
        amr: Array.isArray(claims.amr) ? claims.amr.map(String) : undefined,
        acr: typeof claims.acr === 'string' ? claims.acr : undefined,
      });
      // Apple's ID token has no name: the unsigned `user` field of its first answer may (never its email).
      const name =
        isApple(connection) && !profile.name ? appleUserName(callbackUrl.searchParams.get('user')) : undefined;
      return name ? { ...profile, name } : profile;
    }
    let info: Record<string, unknown>;
    try {
      const res = await oidc.fetchProtectedResource(
        config,
        tokens.access_token,
        new URL(connection.settings.userinfo_endpoint),
        'GET',
        undefined,
        new Headers({ accept: 'application/json' }),
      );
      if (!res.ok) throw new Error(`userinfo ${res.status}`);
      info = (await res.json()) as Record<string, unknown>;
    } catch {
      throw new UpstreamError('userinfo_failed', 'The sign-in could not be completed.');
    }
    const mapping = connection.settings.claims;
    if (connection.settings.preset === 'github') {
      Object.assign(info, await githubPrimaryEmail(config, tokens.access_token));
      info.sub = String(info.id ?? '');
    }
    const subject = String(info[mapping?.subject ?? 'sub'] ?? info.id ?? '');
    return profileFrom({ ...info, sub: subject }, mapping);
  }
}

const isApple = (c: OidcOrOAuth2) => c.type === 'oidc' && c.settings.preset === 'apple';

/**
 * A plain OAuth 2.0 connection has no discovery and no keys to check an ID token with, so one its
 * token endpoint returns anyway (a scope of `openid`) is dropped: the profile comes from userinfo.
 */
function withoutIdToken(tokenEndpoint: string): oidc.CustomFetch {
  return async (url, options) => {
    const res = await fetch(url, options as RequestInit);
    if (url !== tokenEndpoint || !res.ok) return res;
    const body = (await res.json()) as Record<string, unknown>;
    delete body.id_token;
    return new Response(JSON.stringify(body), {
      status: res.status,
      headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
    });
  };
}

/** GitHub's /user has no verified flag: the primary address from /user/emails, only when verified. */
async function githubPrimaryEmail(config: oidc.Configuration, accessToken: string) {
  const res = await oidc.fetchProtectedResource(config, accessToken, new URL(GITHUB_EMAILS), 'GET');
  const emails = res.ok ? ((await res.json()) as Array<{ email: string; primary: boolean; verified: boolean }>) : [];
  const primary = emails.find((e) => e.primary && e.verified);
  return primary ? { email: primary.email, email_verified: true } : { email: undefined, email_verified: false };
}

function profileFrom(
  claims: Record<string, unknown>,
  mapping: ClaimMapping | undefined,
  extra: { amr?: string[]; acr?: string } = {},
): UpstreamProfile {
  const subject = String(claims.sub ?? '');
  if (!subject) throw new UpstreamError('no_subject', 'The sign-in could not be completed.');
  const email = claims[mapping?.email ?? 'email'];
  const name = claims[mapping?.name ?? 'name'];
  const verified = claims[mapping?.email_verified ?? 'email_verified'];
  return {
    subject,
    ...(typeof email === 'string' && email ? { email } : {}),
    ...(typeof name === 'string' && name ? { name } : {}),
    emailVerified: verified === true || verified === 'true',
    ...(extra.amr ? { amr: extra.amr } : {}),
    ...(extra.acr ? { acr: extra.acr } : {}),
  };
}

/**
 * A short, log-safe reason for a failed exchange (no token content): openid-client wraps
 * oauth4webapi's error, whose message and `cause.claim` name the check that failed, e.g.
 * `invalid_id_token:aud`, `invalid_id_token:exp`, `invalid_id_token:signature`, `nonce_mismatch`.
 */
function failureReason(err: unknown): string {
  if (err instanceof oidc.AuthorizationResponseError) return `upstream_error:${err.error}`;
  if (err instanceof oidc.ResponseBodyError) return `token_error:${err.error}`;
  type Coded = { code?: string; message?: string; cause?: unknown };
  const chain: Coded[] = [];
  for (let e = err as Coded | undefined; e && typeof e === 'object' && chain.length < 4; e = e.cause as Coded)
    chain.push(e);
  const messages = chain.map((e) => e.message ?? '').join(' | ');
  const detail = chain.map((e) => e as { claim?: unknown }).find((e) => typeof e.claim === 'string');
  const claim = (detail?.claim as string | undefined) ?? /JWT "(\w+)"/.exec(messages)?.[1];
  if (claim === 'nonce') return 'nonce_mismatch';
  if (claim === 'iss') return 'issuer_mismatch';
  if (claim) return `invalid_id_token:${claim}`;
  if (/signature|verification key/i.test(messages)) return 'invalid_id_token:signature';
  if (/nonce/i.test(messages)) return 'nonce_mismatch';
  if (/"iss"|issuer/i.test(messages)) return 'issuer_mismatch';
  if (/state/i.test(messages)) return 'state_mismatch';
  if (/ID Token|JWS|JWT/i.test(messages)) return 'invalid_id_token';
  const code = chain.find((e) => e.code)?.code;
  return code ? `exchange_failed:${code}` : 'exchange_failed';
}
