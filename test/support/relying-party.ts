import * as client from 'openid-client';
import type { RunningGatehouse } from './gatehouse.js';
import { UserAgent, formAction, hiddenField } from './user-agent.js';

export { client };

export const CALLBACK = 'http://127.0.0.1:8976/callback';
/** Long enough for the default policy (15). */
export const PASSWORD = 'correct horse battery staple';

export async function createUser(gh: RunningGatehouse, overrides: Record<string, unknown> = {}) {
  const email = `user-${Math.random().toString(36).slice(2)}@example.test`;
  const res = await gh.admin('POST', '/admin/users', {
    email,
    password: PASSWORD,
    name: 'Test User',
    email_verified: true,
    ...overrides,
  });
  if (res.status !== 201) throw new Error(`create user failed: ${res.status} ${JSON.stringify(res.body)}`);
  return { ...res.body, email: res.body.email as string, password: PASSWORD } as {
    id: string;
    email: string;
    password: string;
  };
}

export async function createClient(gh: RunningGatehouse, metadata: Record<string, unknown> = {}) {
  const res = await gh.admin('POST', '/admin/clients', {
    client_name: 'Test App',
    redirect_uris: [CALLBACK],
    grant_types: ['authorization_code', 'refresh_token'],
    post_logout_redirect_uris: ['http://127.0.0.1:8976/bye'],
    ...metadata,
  });
  if (res.status !== 201) throw new Error(`create client failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { client_id: string; client_secret?: string; [k: string]: unknown };
}

/** openid-client configuration by discovery (http is allowed for the loopback test issuer). */
export async function discover(
  gh: RunningGatehouse,
  c: { client_id: string; client_secret?: string },
  auth?: client.ClientAuth,
) {
  return client.discovery(
    new URL(gh.issuer),
    c.client_id,
    c.client_secret,
    auth ?? (c.client_secret ? client.ClientSecretBasic(c.client_secret) : client.None()),
    {
      execute: [client.allowInsecureRequests],
    },
  );
}

export interface LoginOptions {
  ua?: UserAgent;
  user: { email: string; password: string };
  scope?: string;
  extra?: Record<string, string>;
  /** Use PAR for the authorization request. */
  par?: boolean;
  consent?: 'allow' | 'deny' | 'skip';
  dpop?: client.DPoPHandle;
}

/** What a relying party keeps from its authorization request to check the response against. */
export interface AuthorizationRequest {
  verifier: string;
  state: string;
  nonce: string;
}

/** The claims of an ID token, with the authentication context Gatehouse reports. */
export type IdTokenClaims = client.IDToken & { acr?: string; amr?: string[] };

/**
 * The parameters of a code request as a relying party makes them with openid-client: a fresh PKCE
 * verifier (S256), state and nonce; `params` adds to or replaces the defaults (CALLBACK, openid email).
 */
export async function authorizationParameters(params: Record<string, string> = {}) {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const parameters: Record<string, string> = {
    redirect_uri: CALLBACK,
    scope: 'openid email',
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
    ...params,
  };
  return { parameters, verifier, state, nonce };
}

/** An authorization request URL and what to check its response against. */
export async function authorizationRequest(config: client.Configuration, params: Record<string, string> = {}) {
  const { parameters, ...request } = await authorizationParameters(params);
  return { url: client.buildAuthorizationUrl(config, parameters), ...request };
}

/** Starts an authorization request in the user agent `ua`: the first page it reaches (or the callback). */
export async function startAuthorization(
  gh: RunningGatehouse,
  config: client.Configuration,
  params: Record<string, string> = {},
  ua = new UserAgent(),
) {
  const { url, ...request } = await authorizationRequest(config, params);
  const step = await ua.follow(url.toString(), gh.issuer);
  return { ua, ...request, step };
}

/** The code in `callbackUrl` redeemed as the relying party does (PKCE verifier, state and nonce checked). */
export function redeemCode(
  config: client.Configuration,
  callbackUrl: URL,
  request: AuthorizationRequest,
  dpop?: client.DPoPHandle,
) {
  return client.authorizationCodeGrant(
    config,
    callbackUrl,
    {
      pkceCodeVerifier: request.verifier,
      expectedState: request.state,
      expectedNonce: request.nonce,
      idTokenExpected: true,
    },
    undefined,
    dpop ? { DPoP: dpop } : undefined,
  );
}

/**
 * The whole code + PKCE flow as a relying party does it with openid-client, with a
 * programmatic user signing in through the login and consent forms.
 */
export async function codeFlow(gh: RunningGatehouse, config: client.Configuration, opts: LoginOptions) {
  const ua = opts.ua ?? new UserAgent();
  const {
    parameters: params,
    verifier,
    state,
    nonce,
  } = await authorizationParameters({
    scope: opts.scope ?? 'openid email profile offline_access',
    prompt: 'consent',
    ...opts.extra,
  });
  const authUrl = opts.par
    ? await client.buildAuthorizationUrlWithPAR(config, params, opts.dpop ? { DPoP: opts.dpop } : undefined)
    : client.buildAuthorizationUrl(config, params);
  let step = await ua.follow(authUrl.toString(), gh.issuer);
  if (step.html?.includes('name="password"')) {
    step = await ua.follow(new URL(formAction(step.html), gh.issuer).toString(), gh.issuer, {
      form: { csrf: hiddenField(step.html, 'csrf'), email: opts.user.email, password: opts.user.password },
    });
  }
  if (step.html?.includes('name="decision"')) {
    step = await ua.follow(new URL(formAction(step.html), gh.issuer).toString(), gh.issuer, {
      form: { csrf: hiddenField(step.html, 'csrf'), decision: opts.consent === 'deny' ? 'deny' : 'allow' },
    });
  }
  if (!step.url.startsWith(CALLBACK))
    throw new Error(
      `flow did not reach the callback: ${step.res.status} ${step.url} ${step.html?.slice(0, 500) ?? ''}`,
    );
  const callbackUrl = new URL(step.url);
  return { ua, verifier, state, nonce, callbackUrl };
}

export async function loginAndGetTokens(gh: RunningGatehouse, config: client.Configuration, opts: LoginOptions) {
  const flow = await codeFlow(gh, config, opts);
  const tokens = await redeemCode(config, flow.callbackUrl, flow, opts.dpop);
  return { ...flow, tokens };
}
