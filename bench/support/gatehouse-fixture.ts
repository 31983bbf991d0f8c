import { percentile, runConcurrently } from './concurrent-runs.js';
import type { AutocannonClient } from 'autocannon';
import type { RunningGatehouse } from '../../test/support/gatehouse.js';
import { createClient, createUser, discover, loginAndGetTokens } from '../../test/support/relying-party.js';

export const RESOURCE = 'https://api.bench.test';

/** A Gatehouse in another process, seen over HTTP only. */
export interface RemoteGatehouse {
  issuer: string;
  /** Where the load generator connects (loopback, same server as `issuer`). */
  publicUrl: string;
  adminUrl: string;
  adminKey: string;
}

export interface Credentials {
  client_id: string;
  client_secret: string;
}

export function basicAuth(c: Credentials): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(c.client_id)}:${encodeURIComponent(c.client_secret)}`).toString('base64')}`;
}

export const FORM = 'application/x-www-form-urlencoded';

async function admin(gh: RemoteGatehouse, method: string, path: string, body?: unknown) {
  const res = await fetch(`${gh.adminUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${gh.adminKey}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    /* not JSON */
  }
  return { status: res.status, body: parsed as any, headers: res.headers };
}

/** The shape test/support's relying-party helpers need (they only use issuer and admin()). */
export function asRunning(gh: RemoteGatehouse): RunningGatehouse {
  return {
    issuer: gh.issuer,
    adminUrl: gh.adminUrl,
    adminKey: gh.adminKey,
    admin: (m: string, p: string, b?: unknown) => admin(gh, m, p, b),
  } as unknown as RunningGatehouse;
}

export interface BenchFixture {
  machine: Credentials;
  app: Credentials;
  user: { email: string; password: string };
  opaqueToken: string;
}

/** Registers what every scenario needs and checks each request answers as the scenario expects. */
export async function prepareFixture(gh: RemoteGatehouse): Promise<BenchFixture> {
  const running = asRunning(gh);
  const resource = await admin(gh, 'POST', '/admin/resources', { indicator: RESOURCE, scopes: [{ name: 'read' }] });
  if (resource.status !== 201)
    throw new Error(`create resource failed: ${resource.status} ${JSON.stringify(resource.body)}`);
  const machine = (await createClient(running, {
    client_name: 'Bench machine',
    grant_types: ['client_credentials'],
    redirect_uris: [],
    post_logout_redirect_uris: [],
  })) as Credentials;
  const app = (await createClient(running, { client_name: 'Bench app' })) as Credentials;
  const user = await createUser(running);

  const jwt = await tokenRequest(gh, machine, { grant_type: 'client_credentials', resource: RESOURCE, scope: 'read' });
  if (jwt.access_token?.split('.').length !== 3)
    throw new Error(`client_credentials with a resource did not return a JWT: ${JSON.stringify(jwt)}`);
  const opaque = await tokenRequest(gh, machine, { grant_type: 'client_credentials' });
  if (!opaque.access_token || opaque.access_token.split('.').length === 3)
    throw new Error(`client_credentials without a resource did not return an opaque token: ${JSON.stringify(opaque)}`);
  const info = await postForm(gh, '/token/introspection', machine, {
    token: opaque.access_token,
    token_type_hint: 'access_token',
  });
  if (info.active !== true) throw new Error(`introspection of the opaque token: ${JSON.stringify(info)}`);
  return { machine, app, user, opaqueToken: opaque.access_token };
}

async function postForm(gh: RemoteGatehouse, path: string, c: Credentials, form: Record<string, string>) {
  const res = await fetch(`${gh.publicUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': FORM, authorization: basicAuth(c) },
    body: new URLSearchParams(form),
  });
  return (await res.json()) as Record<string, unknown> & { access_token?: string };
}

function tokenRequest(gh: RemoteGatehouse, c: Credentials, form: Record<string, string>) {
  return postForm(gh, '/token', c, form);
}

export interface FlowsResult {
  flows: number;
  failed: number;
  seconds: number;
  flowsPerSecond: number;
  p50: number;
  p99: number;
  refreshTokens: string[];
  firstError?: string;
}

/**
 * `count` complete code + PKCE flows, `concurrency` at a time, each as a new browser: authorize →
 * login form (Argon2id verify) → consent form → token (with offline_access, so each yields a
 * refresh token of its own grant).
 */
export async function runCodeFlows(
  gh: RemoteGatehouse,
  fixture: BenchFixture,
  count: number,
  concurrency: number,
): Promise<FlowsResult> {
  const running = asRunning(gh);
  const config = await discover(running, fixture.app);
  const refreshTokens: string[] = [];
  const { durations, seconds, failed, firstError } = await runConcurrently(count, concurrency, async () => {
    const { tokens } = await loginAndGetTokens(running, config, { user: fixture.user });
    if (tokens.refresh_token) refreshTokens.push(tokens.refresh_token);
  });
  const pct = (p: number) => percentile(durations, p);
  return {
    flows: durations.length,
    failed,
    seconds,
    flowsPerSecond: durations.length / seconds,
    p50: pct(50),
    p99: pct(99),
    refreshTokens,
    firstError,
  };
}

export interface ChainStats {
  chainsStarted: number;
  chainBreaks: number;
  exhausted: number;
}

/**
 * Per-connection refresh-token chains for autocannon: each connection presents its current
 * refresh token and carries the rotated one forward. A request that got no answer (timeout,
 * reset) may have consumed its token, so that token is never presented again (presenting it
 * would be reuse and revoke the grant); the connection starts a new chain from the pool.
 */
export function refreshChains(pool: string[], app: Credentials, stats: ChainStats): (client: AutocannonClient) => void {
  const authorization = basicAuth(app);
  return (client) => {
    let token: string | undefined;
    let awaitingAnswer = false;
    client.setRequests([
      {
        method: 'POST',
        path: '/token',
        headers: { 'content-type': FORM, authorization },
        setupRequest(req) {
          if (awaitingAnswer || !token) {
            token = pool.pop();
            if (token) stats.chainsStarted++;
            else stats.exhausted++;
          }
          awaitingAnswer = true;
          // An exhausted pool still sends (autocannon cannot skip a connection's only request): it fails as invalid_grant.
          return {
            ...req,
            body: `grant_type=refresh_token&refresh_token=${encodeURIComponent(token ?? 'bench-pool-exhausted')}`,
          };
        },
        onResponse(status, body) {
          awaitingAnswer = false;
          const rotated = status === 200 ? (JSON.parse(body) as { refresh_token?: string }).refresh_token : undefined;
          if (!rotated) stats.chainBreaks++;
          token = rotated;
        },
      },
    ]);
  };
}
