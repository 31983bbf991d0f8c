import { createHash, randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLocalJWKSet, decodeJwt, jwtVerify, type JSONWebKeySet } from 'jose';
import { Agent, fetch as undiciFetch } from 'undici';
import { UserAgent, formAction, hiddenField } from '../../support/user-agent.js';
import type { Ledger, Sample } from './ledger.js';

export const CALLBACK = 'http://127.0.0.1:8976/callback';
export const PASSWORD = 'correct horse battery staple';
const REQUEST_TIMEOUT_MS = 15_000;

export interface Fixtures {
  issuer: string;
  webClient: { client_id: string; client_secret: string };
  machineClient: { client_id: string; client_secret: string };
  api: string;
  users: { id: string; email: string }[];
}

const b64url = (b: Buffer) => b.toString('base64url');
const basic = (c: { client_id: string; client_secret: string }) =>
  `Basic ${Buffer.from(`${encodeURIComponent(c.client_id)}:${encodeURIComponent(c.client_secret)}`).toString('base64')}`;

/** Creates the users and clients the driver uses, through the admin API. */
export async function createFixtures(
  issuer: string,
  admin: (m: string, p: string, b?: unknown) => Promise<Response>,
  users = 12,
): Promise<Fixtures> {
  const json = async (res: Response) => {
    const body = (await res.json()) as any;
    if (res.status >= 300) throw new Error(`fixture: ${res.status} ${JSON.stringify(body)}`);
    return body;
  };
  const api = `https://faults-${randomBytes(4).toString('hex')}.example.test`;
  await json(
    await admin('POST', '/admin/resources', { indicator: api, scopes: [{ name: 'read' }], access_token_format: 'jwt' }),
  );
  const webClient = await json(
    await admin('POST', '/admin/clients', {
      client_name: 'Faults web app',
      redirect_uris: [CALLBACK],
      grant_types: ['authorization_code', 'refresh_token'],
      first_party: true,
      refresh_token_grace_seconds: 30,
      scope: 'openid email offline_access',
    }),
  );
  const machineClient = await json(
    await admin('POST', '/admin/clients', {
      client_name: 'Faults worker',
      grant_types: ['client_credentials'],
      scope: 'read',
    }),
  );
  const created = [];
  for (let i = 0; i < users; i++) {
    const email = `faults-${i}-${randomBytes(3).toString('hex')}@example.test`;
    created.push(await json(await admin('POST', '/admin/users', { email, password: PASSWORD, email_verified: true })));
  }
  return { issuer, webClient, machineClient, api, users: created.map((u: any) => ({ id: u.id, email: u.email })) };
}

/** A classified HTTP answer; JSON bodies parsed. */
interface Answer {
  status: number;
  body: any;
  failure?: Sample['failure'];
}

/**
 * Real flows against the balancer: code + PKCE with a programmatic login, refresh chains,
 * client_credentials and introspection, each recorded in the ledger. One chain per worker, so a
 * refresh token is only ever presented by its owner (races are a separate scenario).
 */
export class LoadDriver {
  private stopping = false;
  private workers: Promise<void>[] = [];
  readonly chains = new Map<number, { userId: string; refreshToken?: string; grant: string }>();
  private grants = 0;
  /** Revocations answered with an error, to be retried (as a client does) before the checks. */
  readonly pendingRevocations: string[] = [];

  constructor(
    readonly fx: Fixtures,
    readonly ledger: Ledger,
    private readonly target = fx.issuer,
  ) {}

  private jwksCache?: { keys: ReturnType<typeof createLocalJWKSet>; fetchedAt: number; maxAgeMs: number };
  /** ID tokens verified against the cached JWKS (failures are violations: a relying party would reject them). */
  verified = 0;

  /**
   * Verifies an ID token as a relying party with a cached JWKS does: the set is fetched (through
   * the balancer) only when its Cache-Control max-age has passed, never because a kid is unknown.
   */
  private async verifyIdToken(idToken: string): Promise<void> {
    const now = Date.now();
    if (!this.jwksCache || now - this.jwksCache.fetchedAt >= this.jwksCache.maxAgeMs) {
      try {
        const res = await fetch(`${this.target}/jwks`, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
        if (res.status === 200) {
          const maxAge = Number(/max-age=(\d+)/.exec(res.headers.get('cache-control') ?? '')?.[1] ?? 0);
          this.jwksCache = {
            keys: createLocalJWKSet((await res.json()) as JSONWebKeySet),
            fetchedAt: now,
            maxAgeMs: maxAge * 1000,
          };
        }
      } catch {
        /* keep the old cache, as a relying party would */
      }
    }
    if (!this.jwksCache) return;
    try {
      await jwtVerify(idToken, this.jwksCache.keys, {
        issuer: this.fx.issuer,
        audience: this.fx.webClient.client_id,
        clockTolerance: 30,
      });
      this.verified++;
    } catch (err) {
      this.ledger.violation(`relying party could not verify an ID token: ${(err as Error).message}`);
    }
  }

  private readonly agents = new Map<string, Agent>();

  /**
   * A fetch whose connections come from `address` (any 127.x.y.z works on loopback): each user
   * signs in from their own address, as real users do, so per-address sign-in limits apply to each.
   */
  fetchFrom(address: string): (url: string, init: RequestInit) => Promise<Response> {
    let agent = this.agents.get(address);
    if (!agent) {
      agent = new Agent({ localAddress: address });
      this.agents.set(address, agent);
    }
    const dispatcher = agent;
    return (url, init) =>
      undiciFetch(url, { ...(init as object), dispatcher } as never) as unknown as Promise<Response>;
  }

  private signIns = 0;

  /**
   * Each sign-in comes from its own loopback address (127.1.0.1, 127.1.0.2, …), as sign-ins of
   * many people on many devices do; only the flood scenario sends many from one address.
   */
  nextAddress(): string {
    const n = ++this.signIns;
    return `127.${1 + ((n >> 16) & 63)}.${(n >> 8) & 255}.${n & 255 || 1}`;
  }

  /** Sends one request, timing and classifying it. */
  async call(endpoint: string, url: string, init: RequestInit & { expect?: number[] } = {}): Promise<Answer> {
    const started = performance.now();
    let status = 0;
    let body: any;
    let failure: Sample['failure'];
    try {
      const res = await fetch(url, { ...init, redirect: 'manual', signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
      status = res.status;
      const text = await res.text();
      try {
        body = JSON.parse(text);
      } catch {
        body = text;
      }
      if (status >= 500) {
        failure = status === 503 ? 'unavailable' : status === 502 ? 'bad_gateway' : 'server_error';
        // Fail closed, and say nothing about the inside.
        if (status !== 503 && status !== 502) this.ledger.violation(`${endpoint}: ${status} ${text.slice(0, 200)}`);
        if (status !== 502 && /\bat .+\(.*:\d+:\d+\)|Error:|knex|ECONNREFUSED|stack/i.test(text))
          this.ledger.violation(`${endpoint}: ${status} body leaks internals: ${text.slice(0, 200)}`);
      } else if (status === 429) {
        failure = 'rate_limited';
      } else if (init.expect && !init.expect.includes(status)) {
        failure = 'unexpected';
      }
    } catch (err) {
      failure = (err as Error).name === 'TimeoutError' ? 'timeout' : 'network';
      body = (err as Error).message;
    }
    const detail = failure
      ? String(typeof body === 'object' && body ? `${body.error}: ${body.error_description}` : body).slice(0, 160)
      : undefined;
    this.ledger.samples.push({ endpoint, status, ms: performance.now() - started, at: Date.now(), failure, detail });
    if (failure && process.env.FAULTS_DEBUG)
      process.stderr.write(`[faults] ${endpoint} ${status} ${failure} ${detail}\n`);
    return { status, body, failure };
  }

  private tokenRequest(
    endpoint: string,
    params: Record<string, string>,
    client: { client_id: string; client_secret: string },
    expect = [200],
  ) {
    return this.call(endpoint, `${this.target}/token`, {
      method: 'POST',
      headers: { authorization: basic(client), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(params).toString(),
      expect,
    });
  }

  private recordTokens(body: any, clientId: string, userId?: string, grant?: string): void {
    const now = Math.floor(Date.now() / 1000);
    this.ledger.tokenResponse(clientId);
    if (body.access_token) {
      this.ledger.issue({
        kind: 'access_token',
        value: body.access_token,
        clientId,
        userId,
        grant,
        exp: now + Number(body.expires_in ?? 0),
      });
    }
    if (body.refresh_token) {
      // Refresh tokens are opaque: their expiry is far beyond any scenario.
      this.ledger.issue({
        kind: 'refresh_token',
        value: body.refresh_token,
        clientId,
        userId,
        grant,
        exp: now + 86_400,
      });
    }
    if (body.id_token) {
      const claims = decodeJwt(body.id_token);
      if (userId && claims.sub !== userId)
        this.ledger.violation(`session leak: an ID token for ${claims.sub} answered the flow of ${userId}`);
      this.ledger.issue({ kind: 'id_token', value: body.id_token, clientId, userId, grant, exp: claims.exp ?? now });
    }
  }

  /** Authorization code + PKCE with a programmatic login; returns the tokens or undefined on a failed step. */
  async codeFlow(user: { id: string; email: string }, grant = `g${++this.grants}`): Promise<any | undefined> {
    const authorized = await this.authorize(user);
    if (!authorized) return undefined;
    const { code, verifier, nonce } = authorized;
    const answer = await this.tokenRequest(
      'token:authorization_code',
      { grant_type: 'authorization_code', code, redirect_uri: CALLBACK, code_verifier: verifier },
      this.fx.webClient,
    );
    if (answer.status !== 200) return undefined;
    this.ledger.redeemed(`code:${code}`);
    this.recordTokens(answer.body, this.fx.webClient.client_id, user.id, grant);
    await this.verifyIdToken(answer.body.id_token);
    const idClaims = decodeJwt(answer.body.id_token);
    if (idClaims.nonce !== nonce) this.ledger.violation('ID token nonce mismatch');
    this.ledger.flows++;
    return answer.body;
  }

  /** The front-channel part: authorize, sign in, back at the callback with a code (not yet redeemed). */
  async authorize(user: {
    id: string;
    email: string;
  }): Promise<{ code: string; verifier: string; nonce: string } | undefined> {
    const address = this.nextAddress();
    try {
      return await this.signIn(user, new UserAgent(this.fetchFrom(address)));
    } finally {
      // One address per sign-in: release its connections.
      await this.agents.get(address)?.close();
      this.agents.delete(address);
    }
  }

  private async signIn(
    user: { id: string; email: string },
    ua: UserAgent,
  ): Promise<{ code: string; verifier: string; nonce: string } | undefined> {
    const verifier = b64url(randomBytes(32));
    const challenge = b64url(createHash('sha256').update(verifier).digest());
    const state = b64url(randomBytes(12));
    const nonce = b64url(randomBytes(12));
    const q = new URLSearchParams({
      client_id: this.fx.webClient.client_id,
      redirect_uri: CALLBACK,
      response_type: 'code',
      scope: 'openid email offline_access',
      code_challenge: challenge,
      code_challenge_method: 'S256',
      state,
      nonce,
      prompt: 'consent',
    });
    let url = `${this.target}/authorize?${q}`;
    let code: string | undefined;
    for (let hop = 0; hop < 12 && !code; hop++) {
      const started = performance.now();
      let res: Response;
      try {
        res = await ua.request(url);
      } catch {
        this.ledger.samples.push({
          endpoint: 'login',
          status: 0,
          ms: performance.now() - started,
          at: Date.now(),
          failure: 'network',
        });
        return undefined;
      }
      const location = res.headers.get('location');
      if (res.status >= 300 && res.status < 400 && location) {
        await res.arrayBuffer();
        url = new URL(location, this.target).toString();
        if (url.startsWith(CALLBACK)) {
          const cb = new URL(url);
          if (cb.searchParams.get('state') !== state) this.ledger.violation('callback state mismatch');
          code = cb.searchParams.get('code') ?? undefined;
          if (!code) {
            this.ledger.samples.push({
              endpoint: 'authorize',
              status: res.status,
              ms: performance.now() - started,
              at: Date.now(),
              failure: cb.searchParams.get('error') === 'temporarily_unavailable' ? 'unavailable' : 'unexpected',
            });
            return undefined;
          }
        }
        continue;
      }
      const html = await res.text();
      if (res.status !== 200 || !html.includes('name="password"')) {
        if (process.env.FAULTS_DEBUG)
          process.stderr.write(
            `[faults] login page ${res.status} ${url.replace(/\?.*/, '')} ${html.slice(0, 200).replace(/\s+/g, ' ')}\n`,
          );
        this.ledger.samples.push({
          endpoint: 'login',
          status: res.status,
          ms: performance.now() - started,
          at: Date.now(),
          failure:
            res.status === 503
              ? 'unavailable'
              : res.status === 429
                ? 'rate_limited'
                : res.status >= 500
                  ? 'server_error'
                  : 'unexpected',
        });
        if (res.status >= 500 && res.status !== 503) this.ledger.violation(`login page: ${res.status}`);
        return undefined;
      }
      const loginStarted = performance.now();
      const posted = await ua
        .request(new URL(formAction(html), this.target).toString(), {
          form: { csrf: hiddenField(html, 'csrf'), email: user.email, password: PASSWORD },
        })
        .catch(() => undefined);
      const status = posted?.status ?? 0;
      this.ledger.samples.push({
        endpoint: 'login',
        status,
        ms: performance.now() - loginStarted,
        at: Date.now(),
        failure:
          status === 303
            ? undefined
            : status === 503
              ? 'unavailable'
              : status === 429
                ? 'rate_limited'
                : status === 0
                  ? 'network'
                  : status >= 500
                    ? 'server_error'
                    : 'unexpected',
      });
      if (status >= 500 && status !== 503) this.ledger.violation(`login post: ${status}`);
      if (status !== 303) return undefined;
      url = new URL(posted!.headers.get('location')!, this.target).toString();
    }
    return code ? { code, verifier, nonce } : undefined;
  }

  /**
   * One rotation of a chain. An ambiguous failure (timeout, connection lost, 5xx) is retried
   * with the same token: the old token must still work, or the grace window must hand back the
   * successor. invalid_grant for a token the ledger holds as live is a lost chain.
   */
  async refresh(worker: number): Promise<void> {
    const chain = this.chains.get(worker);
    if (!chain?.refreshToken) return;
    const presented = chain.refreshToken;
    const answer = await this.tokenRequest(
      'token:refresh_token',
      { grant_type: 'refresh_token', refresh_token: presented },
      this.fx.webClient,
      [200],
    );
    if (answer.status === 200) {
      // A retry after an unclear answer may be handed the successor committed the first time (grace).
      this.ledger.redeemed(`refresh:${presented}:${answer.body.refresh_token}`);
      this.ledger.mark(presented, 'consumed');
      this.recordTokens(answer.body, this.fx.webClient.client_id, chain.userId, chain.grant);
      chain.refreshToken = answer.body.refresh_token;
      if (answer.body.id_token) await this.verifyIdToken(answer.body.id_token);
      return;
    }
    if (answer.status === 400 && answer.body?.error === 'invalid_grant') {
      this.ledger.violation(
        `lost refresh chain: a live refresh token was refused (${answer.body.error_description ?? ''})`,
      );
      chain.refreshToken = undefined;
    }
    // Anything else: the rotation may or may not have committed. Keep presenting the token (the
    // grace window answers a committed rotation with its successor); meanwhile it is neither live nor consumed.
    this.ledger.mark(presented, 'uncertain');
  }

  async clientCredentials(): Promise<void> {
    const answer = await this.tokenRequest(
      'token:client_credentials',
      { grant_type: 'client_credentials', scope: 'read', resource: this.fx.api },
      this.fx.machineClient,
    );
    if (answer.status === 200) this.recordTokens(answer.body, this.fx.machineClient.client_id);
  }

  /** Introspects a random live token of this worker's grant (no other worker revokes it meanwhile): it must be active. */
  async introspect(worker: number): Promise<void> {
    const now = Math.floor(Date.now() / 1000);
    const grant = this.chains.get(worker)?.grant;
    const live = [...this.ledger.tokens.values()].filter(
      (t) => t.state === 'live' && t.kind !== 'id_token' && t.grant === grant && t.exp > now + 2,
    );
    if (!live.length) return;
    const token = live[Math.floor(Math.random() * live.length)]!;
    const answer = await this.introspection(token.value, 'introspection');
    if (answer.status === 200 && answer.body.active !== true)
      this.ledger.violation(`lost issuance: a live ${token.kind} introspected inactive`);
  }

  /** Retries the revocations that failed during a fault; each must now succeed. */
  async retryRevocations(): Promise<void> {
    for (const value of this.pendingRevocations.splice(0)) {
      const token = this.ledger.tokens.get(value);
      const answer = await this.call('revocation', `${this.target}/token/revocation`, {
        method: 'POST',
        headers: { authorization: basic(this.fx.webClient), 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token: value, token_type_hint: 'access_token' }).toString(),
        expect: [200],
      });
      if (answer.status !== 200) this.ledger.violation(`a retried revocation failed after recovery: ${answer.status}`);
      else if (token?.grant) this.ledger.revokeGrant(token.grant, 'revoked', ['live', 'uncertain']);
    }
  }

  introspection(token: string, endpoint = 'introspection', base = this.target): Promise<Answer> {
    return this.call(endpoint, `${base}/token/introspection`, {
      method: 'POST',
      headers: { authorization: basic(this.fx.webClient), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token }).toString(),
      expect: [200],
    });
  }

  async jwks(): Promise<void> {
    await this.call('jwks', `${this.target}/jwks`, { expect: [200] });
  }

  /**
   * Revokes one of this worker's live access tokens: an explicit revocation, which (RFC 7009
   * §2.1, as oidc-provider does it) revokes the whole grant — the chain ends and the worker signs in again.
   */
  async revokeOne(worker: number): Promise<void> {
    const chain = this.chains.get(worker);
    if (!chain) return;
    const token = [...this.ledger.tokens.values()].find(
      (t) => t.state === 'live' && t.kind === 'access_token' && t.grant === chain.grant,
    );
    if (!token) return;
    const answer = await this.call('revocation', `${this.target}/token/revocation`, {
      method: 'POST',
      headers: { authorization: basic(this.fx.webClient), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: token.value, token_type_hint: 'access_token' }).toString(),
      expect: [200],
    });
    if (process.env.FAULTS_DEBUG)
      process.stderr.write(`[faults] revoke grant=${chain.grant} -> ${answer.status} at ${new Date().toISOString()}\n`);
    if (answer.status === 200) {
      this.ledger.revokeGrant(chain.grant);
      this.ledger.revocations.push(token.value);
    } else {
      // Asked, not confirmed: the client retries the revocation later (RFC 7009); until then the
      // grant's tokens are neither live nor revoked for the checks.
      this.ledger.revokeGrant(chain.grant, 'uncertain');
      this.pendingRevocations.push(token.value);
    }
    // Either way the client has given this grant up and signs in again.
    chain.refreshToken = undefined;
  }

  /** `workers` loops of mixed traffic until stop(). */
  start(workers: number, pauseMs = 20): void {
    this.stopping = false;
    for (let w = 0; w < workers; w++) {
      this.workers.push(
        (async () => {
          const user = this.fx.users[w % this.fx.users.length]!;
          while (!this.stopping) {
            const chain = this.chains.get(w);
            if (!chain?.refreshToken) {
              const grant = `g${++this.grants}`;
              const tokens = await this.codeFlow(user, grant);
              if (tokens?.refresh_token)
                this.chains.set(w, { userId: user.id, refreshToken: tokens.refresh_token, grant });
              else await sleep(200); // a failed flow during a fault: back off a little
              continue;
            }
            const r = Math.random();
            if (r < 0.35) await this.refresh(w);
            else if (r < 0.6) await this.clientCredentials();
            else if (r < 0.85) await this.introspect(w);
            else if (r < 0.95) await this.jwks();
            else await this.revokeOne(w);
            if (pauseMs) await sleep(pauseMs);
          }
        })(),
      );
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.workers);
    this.workers = [];
  }

  async close(): Promise<void> {
    await Promise.all([...this.agents.values()].map((a) => a.close()));
    this.agents.clear();
  }
}
