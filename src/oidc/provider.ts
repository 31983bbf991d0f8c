import { createHmac } from 'node:crypto';
import Provider, { errors, type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import type { Config } from '../config/config.js';
import type { Users } from '../domain/accounts/users.js';
import type { Resources } from '../domain/resources/resources.js';
import { StorageUnavailable } from '../domain/errors.js';
import type { Authorization } from '../domain/authorization/authorization.js';
import { rbacHeldScopes } from './rbac-scopes.js';
import type { LoadedKeys } from '../domain/keys/signing-keys.js';
import type { RevocationStorage, TokenRequestStorage } from '../domain/tokens/token-request-storage.js';
import type { OidcAdapter } from '../storage/oidc-adapters/types.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { providerMetrics } from './provider-metrics.js';
import { createFindAccount } from './account-claims.js';
import { useHashedClientSecrets } from './client-secret-check.js';
import { addAtHashToIdTokens } from './id-token-at-hash.js';
import { ADMIN_RESOURCE, adminResourceServerInfo } from './admin-resource-server.js';
import { recordJwtAccessToken } from './jwt-access-token-records.js';
import { tokenRequestScope, type RevokeGrant } from './token-request-scope.js';
import { auditProtocolEvents } from './audit-events.js';
import { recordTokenFailures } from './token-failure-events.js';
import type { AuditLog } from '../domain/audit/audit-log.js';
import { structuredTokenLookup } from './structured-token-lookup.js';
import type { PageRenderer } from './page-renderer.js';
import { restrictResponseModes } from './response-mode-policy.js';
import { enforceRegisteredScope } from './enforce-registered-scope.js';
import { unauthorizedGrantType } from './unauthorized-grant-type.js';
import { pushedRequestRequired } from './pushed-request-required.js';
import { interactionPolicyWithStepUp } from './acr-step-up.js';
import { CLIENT_SETTINGS_PROPERTIES, validateClientSetting } from './client-settings-metadata.js';
import { clientAccessTokenTtl, refreshTokenTtl, resourceAccessTokenTtl } from './client-token-ttls.js';
import { clientBasedCors } from './client-based-cors.js';
import { dpopRequireNonce } from './dpop-nonce-policy.js';
import { requestedScopeCheck } from './requested-scope-policy.js';
import { tokenResponseScope } from './token-response-scope.js';
import { failClosedOnStorageOutage, UNAVAILABLE_BODY } from './storage-outage.js';
import { revocationScope } from './revocation-scope.js';
import { cookiePolicy } from './cookie-policy.js';
import { introspectionAllowedPolicy } from './introspection-policy.js';
import { createLoadExistingGrant, rememberSavedGrants } from './existing-grant.js';
import { decidingOfflineAccess, offlineAccessExtraParams } from './offline-access.js';
import { includeSidInIdTokens } from './session-id-claim.js';
import { logoutSource } from './logout-confirmation.js';
import type { RememberedGrants } from '../domain/accounts/remembered-grants.js';
import { ACR_VALUES } from '../domain/authn/authentication-policy.js';
import { accountClientMetadata } from './account-client.js';
import { sessionTtl, withSessionLifetime } from './session-lifetime.js';

export const ROUTES = {
  authorization: '/authorize',
  token: '/token',
  userinfo: '/userinfo',
  jwks: '/jwks',
  introspection: '/token/introspection',
  revocation: '/token/revocation',
  pushed_authorization_request: '/par',
  end_session: '/logout',
  registration: '/reg',
  code_verification: '/device',
  device_authorization: '/device/auth',
  backchannel_authentication: '/backchannel',
  challenge: '/challenge',
} as const;

export interface ProviderDeps {
  config: Config;
  keys: LoadedKeys;
  adapterFor: (model: string) => OidcAdapter;
  users: Users;
  resources: Resources;
  /** The token request's storage scope (atomic refresh-token rotation). */
  tokenRequests: TokenRequestStorage;
  /** The revocation request's storage scope (durable deletions first). */
  revocations: RevocationStorage;
  /** Revokes a grant and every token issued under it (a lost refresh race). */
  revokeGrant: RevokeGrant;
  pages: PageRenderer;
  logger: Logger;
  /** Protocol request, token and refresh-reuse metrics; none when omitted. */
  metrics?: Metrics;
  /** Protocol events (tokens issued, reuse, revocation, logout) into the audit log; none when omitted. */
  audit?: AuditLog;
  /** Roles and permissions: narrows API scopes (RBAC) and answers the `roles` claim; neither when omitted. */
  authorization?: Authorization;
  /** Consent remembered across browser sessions (existing-grant.ts); per session only when omitted. */
  rememberedGrants?: RememberedGrants;
}

const epoch = () => Math.floor(Date.now() / 1000);

/**
 * oidc-provider, configured for OAuth 2.1: code flow only, PKCE S256 for every client,
 * rotating refresh tokens with reuse detection, PAR, DPoP, resource indicators with JWT access
 * tokens, introspection and revocation for every token we issue.
 */
export function createProvider(deps: ProviderDeps): Provider {
  const { config, keys, resources } = deps;
  const ttl = config.ttl;
  const defaultAlg = config.defaultSigningAlg;
  const checkRequestedScope = requestedScopeCheck(resources);

  const configuration: Configuration = {
    adapter: deps.adapterFor as unknown as Configuration['adapter'],
    // The account page's own sign-in (account-client.ts); every other client is in the clients table.
    clients: [accountClientMetadata(config.issuer)],
    jwks: keys.jwks as Configuration['jwks'],
    cookies: cookiePolicy(config.issuer, keys.cookieKeys),
    findAccount: createFindAccount(
      deps.users,
      deps.authorization && ((id) => deps.authorization!.roleNames(id)),
    ) as Configuration['findAccount'],
    claims: {
      // `roles` is returned only for clients registered with roles_claim: true (account-claims.ts).
      openid: ['sub', 'acr', 'amr', 'auth_time', 'roles'],
      email: ['email', 'email_verified'],
      profile: ['name'],
    },
    scopes: ['openid', 'offline_access', 'email', 'profile'],
    acrValues: [...ACR_VALUES],
    responseTypes: ['code'],
    pkce: { required: () => true },
    rotateRefreshToken: true,
    allowOmittingSingleRegisteredRedirectUri: false,
    conformIdTokenClaims: false,
    clientDefaults: {
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: defaultAlg,
    },
    enabledJWA: {
      idTokenSigningAlgValues: ['ES256', 'RS256', 'PS256', 'EdDSA'],
      userinfoSigningAlgValues: ['ES256', 'RS256', 'PS256', 'EdDSA'],
      introspectionSigningAlgValues: ['ES256', 'RS256', 'PS256', 'EdDSA'],
      authorizationSigningAlgValues: ['ES256', 'RS256', 'PS256', 'EdDSA'],
      requestObjectSigningAlgValues: ['ES256', 'RS256', 'PS256', 'EdDSA'],
      clientAuthSigningAlgValues: ['ES256', 'RS256', 'PS256', 'EdDSA'],
      dPoPSigningAlgValues: ['ES256', 'RS256', 'PS256', 'EdDSA'],
    },
    extraClientMetadata: {
      properties: [
        'first_party',
        'refresh_token_grace_seconds',
        'registered_scope',
        'roles_claim',
        ...CLIENT_SETTINGS_PROPERTIES,
      ],
      validator(_ctx, key, value) {
        validateClientSetting(key, value);
        if (key === 'first_party' && value !== undefined && typeof value !== 'boolean')
          throw new errors.InvalidClientMetadata('first_party must be a boolean');
        if (key === 'roles_claim' && value !== undefined && typeof value !== 'boolean')
          throw new errors.InvalidClientMetadata('roles_claim must be a boolean');
        if (
          key === 'refresh_token_grace_seconds' &&
          value !== undefined &&
          !(Number.isInteger(value) && (value as number) >= 0 && (value as number) <= 60)
        ) {
          throw new errors.InvalidClientMetadata('refresh_token_grace_seconds must be an integer from 0 to 60');
        }
      },
    },
    routes: ROUTES,
    ttl: {
      AccessToken: (_ctx, token, client) =>
        token.resourceServer?.accessTokenTTL ?? clientAccessTokenTtl(client, ttl.accessTokenSeconds),
      ClientCredentials: (_ctx, token, client) =>
        token.resourceServer?.accessTokenTTL ?? clientAccessTokenTtl(client, ttl.accessTokenSeconds),
      AuthorizationCode: ttl.authorizationCodeSeconds,
      IdToken: ttl.idTokenSeconds,
      Interaction: ttl.interactionSeconds,
      // Idle since last use, never past the absolute end from sign-in (session-lifetime.ts).
      Session: sessionTtl({ absoluteSeconds: ttl.sessionSeconds, idleSeconds: ttl.sessionIdleSeconds }),
      Grant: ttl.grantSeconds,
      PushedAuthorizationRequest: 60,
      DeviceCode: 600,
      BackchannelAuthenticationRequest: 600,
      // Sliding per token (shortened by the client's refresh_token_ttl_seconds), capped by the absolute lifetime of the whole rotation chain.
      RefreshToken: (_ctx, token, client) => {
        const chainStart = (token as unknown as { iiat?: number }).iiat ?? epoch();
        const remaining = chainStart + ttl.refreshTokenAbsoluteSeconds - epoch();
        return refreshTokenTtl(client, ttl.refreshTokenSeconds, remaining);
      },
    },
    interactions: {
      // Login (with step-up to a stronger acr, and again once the session's absolute end is reached), then consent.
      policy: withSessionLifetime(interactionPolicyWithStepUp({ mfaRequired: config.mfaRequired }), ttl.sessionSeconds),
      url: (_ctx, interaction) => `/interaction/${interaction.uid}`,
    },
    features: {
      devInteractions: { enabled: false },
      // An essential `acr` claim asks for step-up like acr_values (acr-step-up.ts).
      claimsParameter: { enabled: true },
      clientCredentials: { enabled: true },
      introspection: {
        enabled: true,
        // A client may introspect the tokens issued to it; an API's resource servers, its access tokens.
        allowedPolicy: introspectionAllowedPolicy(resources) as never,
      },
      revocation: {
        enabled: true,
        allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId,
      },
      userinfo: { enabled: true },
      jwtUserinfo: { enabled: false },
      registration: { enabled: false },
      pushedAuthorizationRequests: { enabled: true, requirePushedAuthorizationRequests: false },
      // Derived from a deployment-wide secret so a nonce issued by one instance is valid at every other.
      dPoP: {
        enabled: true,
        nonceSecret: createHmac('sha256', keys.cookieKeys[0]!).update('gatehouse:dpop-nonce').digest(),
        requireNonce: dpopRequireNonce(config.dpopRequireNonce),
      },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: logoutSource(deps.pages, config.logoutSkipConfirmationWithHint) as never,
        postLogoutSuccessSource: (ctx) => deps.pages.loggedOut(ctx as never),
      },
      resourceIndicators: {
        enabled: true,
        defaultResource: async (ctx, client, oneOf) => {
          await checkRequestedScope(ctx, client);
          return oneOf ?? undefined;
        },
        useGrantedResource: async () => true,
        getResourceServerInfo: async (ctx, indicator, client) => {
          await checkRequestedScope(ctx, client);
          if (indicator === ADMIN_RESOURCE) return adminResourceServerInfo(ctx, client, ttl.adminAccessTokenSeconds);
          const resource = await resources.lookup(indicator);
          if (!resource) throw new errors.InvalidTarget(`resource ${indicator} is not registered`);
          // A client with registered scopes gets at most those of the API's scopes.
          const registered = (client as unknown as { registered_scope?: string }).registered_scope?.split(' ');
          // An RBAC-enforced API: only the scopes the user (or, for client_credentials, the client) holds.
          const held = deps.authorization
            ? await rbacHeldScopes(deps.authorization, ctx, client.clientId, indicator)
            : undefined;
          const scopes = resource.scopes
            .map((s) => s.name)
            .filter((s) => (!registered || registered.includes(s)) && (!held || held.has(s)));
          return {
            scope: scopes.join(' '),
            audience: resource.indicator,
            accessTokenTTL: resourceAccessTokenTtl(resource.access_token_ttl_seconds, client, ttl.accessTokenSeconds),
            accessTokenFormat: resource.access_token_format,
            ...(resource.access_token_format === 'jwt'
              ? { jwt: { sign: { alg: resource.signing_alg ?? defaultAlg } } }
              : {}),
          };
        },
      },
    },
    formats: {
      customizers: {
        jwt: async (_ctx, token, jwt) => {
          await recordJwtAccessToken(token as never, jwt as never);
        },
      },
    },
    renderError: (ctx, out, error) => {
      if (!(error instanceof StorageUnavailable)) return deps.pages.error(ctx as never, out, error);
      ctx.status = 503;
      return deps.pages.error(ctx as never, { ...UNAVAILABLE_BODY }, error);
    },
    expiresWithSession: async () => false,
    // The grant a new session starts from (remembered across sessions), and whether offline_access stands.
    loadExistingGrant: decidingOfflineAccess(createLoadExistingGrant(deps.rememberedGrants)) as never,
    extraParams: offlineAccessExtraParams as never,
    clientBasedCORS: clientBasedCors,
  };

  const provider = new Provider(config.issuer, configuration);
  // The public handler rewrites X-Forwarded-For/-Host/-Proto for every request before it gets here
  // (http/public/host-pinning.ts: client address from TRUSTED_PROXIES, host and scheme from ISSUER).
  provider.proxy = true;
  provider.maxIpsCount = 1;
  useHashedClientSecrets(provider);
  if (deps.rememberedGrants) rememberSavedGrants(provider, deps.rememberedGrants);
  addAtHashToIdTokens(provider);
  includeSidInIdTokens(provider);
  enforceRegisteredScope(provider);
  pushedRequestRequired(provider);

  // First, so request latency covers every middleware below.
  if (deps.metrics) providerMetrics(provider, deps.metrics);
  // Inside the metrics, so they count the 503 it answers for an unreachable store.
  failClosedOnStorageOutage(provider);
  // Before the token request scope: it can still turn a 200 into invalid_grant.
  if (deps.audit) auditProtocolEvents(provider, deps.audit, { token: ROUTES.token, revocation: ROUTES.revocation });
  recordTokenFailures(provider, { logger: deps.logger, audit: deps.audit, tokenPath: ROUTES.token });
  const publicJwks = keys.publicJwks;
  restrictResponseModes(provider);
  provider.use(tokenRequestScope(deps.tokenRequests, deps.revokeGrant, ROUTES.token));
  provider.use(revocationScope(deps.revocations, ROUTES.revocation));
  provider.use(tokenResponseScope(ROUTES.token));
  provider.use(unauthorizedGrantType(ROUTES.token));
  provider.use(
    structuredTokenLookup([ROUTES.introspection, ROUTES.revocation], config.issuer, () => publicJwks as never),
  );

  provider.on('server_error', (ctx: KoaContextWithOIDC, err: Error) => {
    if (err instanceof StorageUnavailable) {
      deps.logger.warn(
        { err: err.toLog(), path: ctx.path, requestId: ctx.get('x-request-id') },
        'storage unavailable: answered 503',
      );
      return;
    }
    deps.logger.error({ err, path: ctx.path, requestId: ctx.get('x-request-id') }, 'provider server error');
  });
  return provider;
}
