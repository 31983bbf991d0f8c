import { createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeProtectedHeader, exportJWK, generateKeyPair, type JWK, jwtVerify, SignJWT } from 'jose';

/** Who signs in at the Apple-shaped upstream next. */
export interface ApplePerson {
  sub: string;
  email: string;
  firstName: string;
  lastName: string;
  /** Apple sends it as a string. @default 'true' */
  emailVerified?: 'true' | 'false';
}

export interface AppleUpstream {
  issuer: string;
  /** The Services ID (Gatehouse's client_id at Apple). */
  clientId: string;
  teamId: string;
  keyId: string;
  /** The `.p8` Apple holds the public half of (PKCS#8 PEM, EC P-256). */
  p8: string;
  person: ApplePerson;
  /** The last client-secret JWT the token endpoint accepted or refused, and why it refused it. */
  lastClientSecret?: string;
  lastRefusal?: string;
  /** The person presses Cancel at Apple: the form posts `error=user_cancelled_authorize` instead of a code. */
  cancel?: boolean;
  close(): Promise<void>;
}

export const newApplePerson = (): ApplePerson => ({
  sub: `001234.${randomBytes(16).toString('hex')}.0042`,
  email: `${randomBytes(5).toString('hex')}@privaterelay.appleid.test`,
  firstName: 'Ada',
  lastName: 'Lovelace',
});

/** A fresh `.p8`: an EC P-256 private key as PKCS#8 PEM, as Apple's developer site hands it out. */
export function newP8(): string {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
}

const AUDIENCE = 'https://appleid.apple.com';
const esc = (v: string) => v.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * An upstream that behaves like Sign in with Apple where it matters: discovery at a test issuer;
 * an authorization endpoint that insists on `response_mode=form_post` when `name` or `email` is
 * asked for and answers with an auto-submitting form POSTing `code`, `state` and — on the first
 * sign-in of a person only — `user` (JSON with the name); a token endpoint that authenticates the
 * client by an ES256 client-secret JWT checked against the public key of `p8` (kid, iss = team ID,
 * sub = client ID, aud appleid.apple.com, exp in the future) and answers `invalid_client` otherwise;
 * ID tokens without a name and with `email_verified` as the string "true".
 */
export async function startAppleUpstream(): Promise<AppleUpstream> {
  const signing = await generateKeyPair('RS256', { extractable: true });
  const kid = randomBytes(5).toString('hex');
  const jwk: JWK = { ...(await exportJWK(signing.publicKey)), kid, alg: 'RS256', use: 'sig' };
  const p8 = newP8();
  const clientKey = createPublicKey(p8);
  const codes = new Map<string, { nonce?: string; redirectUri: string; person: ApplePerson }>();
  const seen = new Set<string>();
  const server = http.createServer((req, res) => {
    handle(req, res).catch(() => {
      res.writeHead(500).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const up: AppleUpstream = {
    issuer: origin,
    clientId: `com.example.${randomBytes(3).toString('hex')}.signin`,
    teamId: randomBytes(5).toString('hex').toUpperCase(),
    keyId: randomBytes(5).toString('hex').toUpperCase(),
    p8,
    person: newApplePerson(),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };

  /** Why the client secret is refused, or undefined. */
  async function clientSecretProblem(secret: string | null, clientId: string | null): Promise<string | undefined> {
    if (!secret || clientId !== up.clientId) return 'client_id';
    try {
      if (decodeProtectedHeader(secret).kid !== up.keyId) return 'kid';
      const { payload } = await jwtVerify(secret, clientKey, {
        algorithms: ['ES256'],
        issuer: up.teamId,
        subject: up.clientId,
        audience: AUDIENCE,
        requiredClaims: ['exp', 'iat'],
      });
      if (payload.exp! - payload.iat! > 15_777_000) return 'lifetime';
    } catch (err) {
      return (err as { code?: string }).code ?? 'jwt';
    }
    return undefined;
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse) {
    const url = new URL(req.url ?? '/', origin);
    const json = (status: number, body: unknown) =>
      res
        .writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' })
        .end(JSON.stringify(body));
    if (req.method === 'GET' && url.pathname === '/.well-known/openid-configuration') {
      return json(200, {
        issuer: up.issuer,
        authorization_endpoint: `${origin}/auth/authorize`,
        token_endpoint: `${origin}/auth/token`,
        jwks_uri: `${origin}/auth/keys`,
        response_types_supported: ['code'],
        response_modes_supported: ['query', 'fragment', 'form_post'],
        subject_types_supported: ['pairwise'],
        id_token_signing_alg_values_supported: ['RS256'],
        scopes_supported: ['openid', 'email', 'name'],
        token_endpoint_auth_methods_supported: ['client_secret_post'],
        claims_supported: ['aud', 'email', 'email_verified', 'exp', 'iat', 'is_private_email', 'iss', 'nonce', 'sub'],
      });
    }
    if (req.method === 'GET' && url.pathname === '/auth/keys') return json(200, { keys: [jwk] });
    if (req.method === 'GET' && url.pathname === '/auth/authorize') {
      const q = url.searchParams;
      const scopes = (q.get('scope') ?? '').split(' ');
      if (q.get('client_id') !== up.clientId) return json(400, { error: 'invalid_client' });
      if ((scopes.includes('name') || scopes.includes('email')) && q.get('response_mode') !== 'form_post')
        return json(400, { error: 'invalid_request', error_description: 'response_mode must be form_post' });
      const code = randomBytes(16).toString('base64url');
      const person = { ...up.person };
      codes.set(code, { nonce: q.get('nonce') ?? undefined, redirectUri: q.get('redirect_uri') ?? '', person });
      const fields: Record<string, string> = up.cancel
        ? { state: q.get('state') ?? '', error: 'user_cancelled_authorize' }
        : { state: q.get('state') ?? '', code };
      // The name only the first time this person signs in to this client.
      if (!up.cancel && !seen.has(person.sub)) {
        seen.add(person.sub);
        fields.user = JSON.stringify({
          name: { firstName: person.firstName, lastName: person.lastName },
          email: 'not-the-id-token-email@attacker.test',
        });
      }
      const inputs = Object.entries(fields)
        .map(([k, v]) => `<input type="hidden" name="${k}" value="${esc(v)}">`)
        .join('');
      res
        .writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' })
        .end(
          `<!doctype html><html><body onload="document.forms[0].submit()">` +
            `<form method="post" action="${esc(q.get('redirect_uri') ?? '')}">${inputs}</form></body></html>`,
        );
      return;
    }
    if (req.method === 'POST' && url.pathname === '/auth/token') {
      let body = '';
      for await (const chunk of req) body += chunk;
      const form = new URLSearchParams(body);
      up.lastClientSecret = form.get('client_secret') ?? undefined;
      up.lastRefusal = await clientSecretProblem(form.get('client_secret'), form.get('client_id'));
      if (up.lastRefusal) return json(400, { error: 'invalid_client' });
      const grant = codes.get(form.get('code') ?? '');
      if (!grant || grant.redirectUri !== form.get('redirect_uri')) return json(400, { error: 'invalid_grant' });
      codes.delete(form.get('code')!);
      const now = Math.floor(Date.now() / 1000);
      const idToken = await new SignJWT({
        email: grant.person.email,
        email_verified: grant.person.emailVerified ?? 'true',
        is_private_email: 'true',
        auth_time: now,
        nonce_supported: true,
        ...(grant.nonce ? { nonce: grant.nonce } : {}),
      })
        .setProtectedHeader({ alg: 'RS256', kid })
        .setIssuer(up.issuer)
        .setAudience(up.clientId)
        .setSubject(grant.person.sub)
        .setIssuedAt(now)
        .setExpirationTime(now + 600)
        .sign(signing.privateKey);
      return json(200, {
        access_token: randomBytes(16).toString('base64url'),
        token_type: 'Bearer',
        expires_in: 3600,
        refresh_token: randomBytes(16).toString('base64url'),
        id_token: idToken,
      });
    }
    res.writeHead(404).end();
  }
  return up;
}
