import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';

type Claims = Record<string, unknown>;

/** How the next ID token is made: claims changed (undefined deletes), and/or another key signs it. */
export interface Tamper {
  claims?: (claims: Claims) => Claims;
  /** Sign with a key that is not in the JWKS (same `kid` as the published one, so only the signature fails). */
  foreignKey?: boolean;
}

export interface HostileUpstream {
  /** The issuer as discovered (`/.well-known/openid-configuration` under it). */
  issuer: string;
  origin: string;
  clientId: string;
  clientSecret: string;
  /** Applied to the ID tokens issued from now on; reset with `{}`. */
  tamper: Tamper;
  /** Every nonce the authorization endpoint was sent, in order. */
  nonces: string[];
  close(): Promise<void>;
}

/**
 * A deliberately simple, controllable OpenID provider for negative tests: discovery, an ES256
 * JWKS, an authorization endpoint that sends the browser straight back with a code (no sign-in),
 * and a token endpoint whose ID token the test shapes (wrong aud, expired, foreign key …).
 * `issuerPath` (e.g. `/{tenantid}/v2.0`) lets discovery publish a Microsoft-shaped issuer template;
 * `publicOrigin` is the origin it names in its metadata (a test's fetch routes that origin here).
 */
export async function startHostileUpstream(
  options: { issuerPath?: string; publicOrigin?: string; claims?: Claims } = {},
): Promise<HostileUpstream> {
  const key = await generateKeyPair('ES256', { extractable: true });
  const foreign = await generateKeyPair('ES256');
  const kid = randomBytes(8).toString('hex');
  const jwk: JWK = { ...(await exportJWK(key.publicKey)), kid, alg: 'ES256', use: 'sig' };
  const codes = new Map<string, { nonce?: string }>();
  const server = http.createServer((req, res) => {
    handle(req, res).catch(() => {
      res.writeHead(500).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const issuerPath = options.issuerPath ?? '';
  const named = options.publicOrigin ?? origin;
  const up: HostileUpstream = {
    issuer: `${named}${issuerPath}`,
    origin,
    clientId: `client-${randomBytes(4).toString('hex')}`,
    clientSecret: randomBytes(16).toString('base64url'),
    tamper: {},
    nonces: [],
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };

  async function idToken(nonce: string | undefined): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    let claims: Claims = {
      iss: up.issuer,
      aud: up.clientId,
      sub: `hostile-${randomBytes(6).toString('hex')}`,
      email: `h-${randomBytes(4).toString('hex')}@hostile.test`,
      email_verified: true,
      iat: now,
      exp: now + 300,
      ...(nonce ? { nonce } : {}),
      ...options.claims,
    };
    if (up.tamper.claims) claims = up.tamper.claims(claims);
    for (const k of Object.keys(claims)) if (claims[k] === undefined) delete claims[k];
    return new SignJWT(claims)
      .setProtectedHeader({ alg: 'ES256', kid, typ: 'JWT' })
      .sign(up.tamper.foreignKey ? foreign.privateKey : key.privateKey);
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse) {
    const url = new URL(req.url ?? '/', origin);
    const json = (status: number, body: unknown) =>
      res
        .writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' })
        .end(JSON.stringify(body));
    if (req.method === 'GET' && url.pathname.endsWith('/.well-known/openid-configuration')) {
      return json(200, {
        issuer: up.issuer,
        authorization_endpoint: `${named}/authorize`,
        token_endpoint: `${named}/token`,
        jwks_uri: `${named}/jwks`,
        response_types_supported: ['code'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['ES256'],
        code_challenge_methods_supported: ['S256'],
        token_endpoint_auth_methods_supported: ['client_secret_post'],
      });
    }
    if (req.method === 'GET' && url.pathname === '/jwks') return json(200, { keys: [jwk] });
    if (req.method === 'GET' && url.pathname === '/authorize') {
      const nonce = url.searchParams.get('nonce') ?? undefined;
      if (nonce) up.nonces.push(nonce);
      const code = randomBytes(16).toString('base64url');
      codes.set(code, { nonce });
      const back = new URL(url.searchParams.get('redirect_uri') ?? '');
      back.searchParams.set('code', code);
      back.searchParams.set('state', url.searchParams.get('state') ?? '');
      res.writeHead(302, { location: back.href }).end();
      return;
    }
    if (req.method === 'POST' && url.pathname === '/token') {
      let body = '';
      for await (const chunk of req) body += chunk;
      const form = new URLSearchParams(body);
      const grant = codes.get(form.get('code') ?? '');
      if (!grant || form.get('client_id') !== up.clientId || form.get('client_secret') !== up.clientSecret)
        return json(400, { error: 'invalid_grant' });
      codes.delete(form.get('code')!);
      return json(200, {
        access_token: randomBytes(16).toString('base64url'),
        token_type: 'Bearer',
        expires_in: 300,
        id_token: await idToken(grant.nonce),
      });
    }
    res.writeHead(404).end();
  }
  return up;
}
