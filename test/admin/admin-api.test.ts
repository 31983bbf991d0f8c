import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { backends } from '../support/backends.js';
import { startGatehouse, type RunningGatehouse } from '../support/gatehouse.js';
import {
  CALLBACK,
  PASSWORD,
  client,
  codeFlow,
  createClient,
  createUser,
  discover,
  loginAndGetTokens,
} from '../support/relying-party.js';

interface RawResponse {
  status: number;
  headers: Headers;
  text: string;
  json: any;
}

/** One admin request with full control of auth, headers and the raw body; keeps the raw text. */
async function call(
  gh: RunningGatehouse,
  method: string,
  path: string,
  opts: { body?: BodyInit; headers?: Record<string, string>; auth?: string | null; base?: string } = {},
): Promise<RawResponse> {
  const headers: Record<string, string> = { ...opts.headers };
  const auth = opts.auth === undefined ? `Bearer ${gh.adminKey}` : opts.auth;
  if (auth !== null) headers.authorization = auth;
  const init: RequestInit & { duplex?: 'half' } = { method, headers, body: opts.body, redirect: 'manual' };
  if (opts.body instanceof ReadableStream) init.duplex = 'half';
  const res = await fetch(`${opts.base ?? gh.adminUrl}${path}`, init);
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

const json = (gh: RunningGatehouse, method: string, path: string, body: unknown) =>
  call(gh, method, path, {
    body: typeof body === 'string' ? body : JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
  });

/** Traces of internals that must never reach an API caller. */
const LEAKS = [
  /\n\s+at /,
  /\bat \S+ \(.*:\d+:\d+\)/,
  /Error:/,
  /node_modules/,
  /\.ts:\d+/,
  /\b(select|insert|update|delete) .* (from|into|set) /i,
];

/** A 4xx in the OAuth JSON shape, with no stack, SQL or file path in it. */
function assertCleanError(res: RawResponse, status: number, error?: string): void {
  const where = `${res.status} ${res.text.slice(0, 300)}`;
  assert.equal(res.status, status, where);
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/, where);
  assert.equal(typeof res.json?.error, 'string', where);
  assert.ok(res.json.error.length > 0, where);
  assert.equal(typeof res.json?.error_description, 'string', where);
  assert.ok(res.json.error_description.length > 0, where);
  if (error) assert.equal(res.json.error, error, where);
  for (const leak of LEAKS) assert.doesNotMatch(res.text, leak, `response leaks internals: ${where}`);
}

const VALID_CLIENT = {
  client_name: 'Admin Test',
  redirect_uris: [CALLBACK],
  grant_types: ['authorization_code', 'refresh_token'],
};
const randomEmail = () => `admin-${Math.random().toString(36).slice(2)}@example.test`;

/** Walks a list endpoint page by page; fails on a loop or an oversized page. */
async function collectPages(
  gh: RunningGatehouse,
  path: string,
  limit: number,
): Promise<{ items: any[]; pages: number }> {
  const items: any[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const query: string = `?limit=${limit}${cursor ? `&after=${encodeURIComponent(cursor)}` : ''}`;
    const res = await call(gh, 'GET', `${path}${query}`);
    assert.equal(res.status, 200, res.text);
    assert.ok(Array.isArray(res.json.items));
    assert.ok(res.json.items.length <= limit, 'page larger than limit');
    assert.ok(res.json.next_cursor === null || typeof res.json.next_cursor === 'string');
    if (cursor) assert.notEqual(res.json.next_cursor, cursor, 'cursor did not advance');
    items.push(...res.json.items);
    cursor = res.json.next_cursor;
    pages++;
    assert.ok(pages < 100, 'pagination does not terminate');
  } while (cursor);
  return { items, pages };
}

for (const backend of backends()) {
  describe(`admin API (${backend})`, () => {
    let gh: RunningGatehouse;
    before(async () => {
      gh = await startGatehouse(backend);
    });
    after(async () => {
      await gh?.destroy();
    });

    describe('authentication and port separation', () => {
      it('refuses a request without a bearer key with 401 and WWW-Authenticate', async () => {
        const res = await call(gh, 'GET', '/admin/clients', { auth: null });
        assertCleanError(res, 401, 'unauthorized');
        assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer /);
        assert.equal(res.json.items, undefined);
      });

      it('refuses a wrong key, a wrong scheme and a near-miss key', async () => {
        for (const auth of [
          'Bearer wrong-key',
          `Basic ${Buffer.from(`admin:${gh.adminKey}`).toString('base64')}`,
          `Bearer ${gh.adminKey}x`,
          `Bearer ${gh.adminKey.slice(0, -1)}`,
          'Bearer ',
          `${gh.adminKey}`,
        ]) {
          const res = await call(gh, 'GET', '/admin/users', { auth });
          assertCleanError(res, 401, 'unauthorized');
          assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer /, auth);
        }
      });

      it('checks the key before reading or validating the body', async () => {
        const res = await call(gh, 'POST', '/admin/users', {
          auth: 'Bearer nope',
          body: '{not json',
          headers: { 'content-type': 'application/json' },
        });
        assertCleanError(res, 401, 'unauthorized');
      });

      it('does not serve the admin API on the public port', async () => {
        const list = await call(gh, 'GET', '/admin/clients', { base: gh.issuer });
        assert.equal(list.status, 404);
        assert.ok(!/"items"\s*:/.test(list.text), list.text.slice(0, 200)); // no admin list (the page CSS has ul.items)
        const email = randomEmail();
        const create = await call(gh, 'POST', '/admin/users', {
          base: gh.issuer,
          body: JSON.stringify({ email, password: PASSWORD }),
          headers: { 'content-type': 'application/json' },
        });
        assert.ok(create.status >= 400 && create.status < 500, `public POST /admin/users answered ${create.status}`);
        const { items } = await collectPages(gh, '/admin/users', 200);
        assert.ok(!items.some((u) => u.email === email), 'a user was created through the public port');
      });

      it('does not serve the provider on the admin port', async () => {
        for (const auth of [null, `Bearer ${gh.adminKey}`]) {
          for (const path of ['/.well-known/openid-configuration', '/jwks', '/authorize?client_id=x']) {
            const res = await call(gh, 'GET', path, { auth });
            assert.ok(res.status === 404 || res.status === 401, `${path} on the admin port answered ${res.status}`);
            assert.equal(res.json?.issuer, undefined, 'discovery document served on the admin port');
            assert.equal(res.json?.keys, undefined, 'JWKS served on the admin port');
            assertCleanError(res, res.status);
          }
        }
      });
    });

    describe('clients', () => {
      it('creates a client, shows the secret once, never again', async () => {
        const created = await json(gh, 'POST', '/admin/clients', VALID_CLIENT);
        assert.equal(created.status, 201, created.text);
        const c = created.json;
        assert.equal(typeof c.client_id, 'string');
        assert.ok(c.client_id.length >= 16);
        assert.equal(typeof c.client_secret, 'string');
        assert.ok(c.client_secret.length >= 32, 'client secret is long enough');
        assert.equal(c.client_name, 'Admin Test');
        assert.deepEqual(c.redirect_uris, [CALLBACK]);
        assert.equal(created.headers.get('location'), `/admin/clients/${encodeURIComponent(c.client_id)}`);
        assert.equal(created.headers.get('cache-control'), 'no-store', 'a response with a secret must not be cached');

        const fetched = await call(gh, 'GET', `/admin/clients/${encodeURIComponent(c.client_id)}`);
        assert.equal(fetched.status, 200);
        assert.equal(fetched.json.client_id, c.client_id);
        assert.equal(fetched.json.client_secret, undefined);
        assert.ok(!fetched.text.includes(c.client_secret), 'GET leaks the secret');
        assert.ok(!fetched.text.includes('client_secret"'), 'GET leaks a client_secret field (hash?)');

        // The secret shown at creation is the one that works at the token endpoint.
        const config = await discover(gh, c as { client_id: string; client_secret: string });
        const user = await createUser(gh);
        const { tokens } = await loginAndGetTokens(gh, config, { user });
        assert.equal(tokens.claims()!.sub, user.id);
      });

      it('creates a public client without a secret', async () => {
        const res = await json(gh, 'POST', '/admin/clients', { ...VALID_CLIENT, token_endpoint_auth_method: 'none' });
        assert.equal(res.status, 201, res.text);
        assert.equal(res.json.client_secret, undefined);
        assert.equal(res.json.token_endpoint_auth_method, 'none');
      });

      it('changes metadata with PATCH, keeping the secret and the rest', async () => {
        const c = await createClient(gh, VALID_CLIENT);
        const res = await json(gh, 'PATCH', `/admin/clients/${c.client_id}`, {
          client_name: 'Renamed',
          redirect_uris: [CALLBACK, 'https://app.example.test/cb'],
        });
        assert.equal(res.status, 200, res.text);
        assert.equal(res.json.client_name, 'Renamed');
        assert.equal(res.json.client_secret, undefined, 'PATCH must not reveal or rotate the secret');
        const fetched = await call(gh, 'GET', `/admin/clients/${c.client_id}`);
        assert.equal(fetched.json.client_name, 'Renamed');
        assert.deepEqual(fetched.json.redirect_uris, [CALLBACK, 'https://app.example.test/cb']);
        assert.deepEqual(fetched.json.grant_types, ['authorization_code', 'refresh_token']);
        assert.equal(fetched.json.client_id_issued_at, c.client_id_issued_at);
        // The original secret still authenticates.
        const config = await discover(gh, c);
        const { tokens } = await loginAndGetTokens(gh, config, { user: await createUser(gh) });
        assert.ok(tokens.access_token);
      });

      it('deletes a client: 204, then 404 for GET, PATCH and DELETE, and the provider forgets it', async () => {
        const c = await createClient(gh, VALID_CLIENT);
        const del = await call(gh, 'DELETE', `/admin/clients/${c.client_id}`);
        assert.equal(del.status, 204);
        assert.equal(del.text, '');
        assertCleanError(await call(gh, 'GET', `/admin/clients/${c.client_id}`), 404, 'not_found');
        assertCleanError(
          await json(gh, 'PATCH', `/admin/clients/${c.client_id}`, { client_name: 'x' }),
          404,
          'not_found',
        );
        assertCleanError(await call(gh, 'DELETE', `/admin/clients/${c.client_id}`), 404, 'not_found');
        const auth = await fetch(
          `${gh.issuer}/authorize?client_id=${c.client_id}&response_type=code&scope=openid&redirect_uri=${encodeURIComponent(CALLBACK)}`,
          { redirect: 'manual' },
        );
        assert.equal(auth.status, 400, 'authorization request of a deleted client must be refused');
        assert.equal(auth.headers.get('location'), null);
      });

      it('lists clients with limit/after pagination and next_cursor, never with secrets', async () => {
        const mine = new Set<string>();
        for (let i = 0; i < 5; i++)
          mine.add((await createClient(gh, { ...VALID_CLIENT, client_name: `page ${i}` })).client_id);
        const { items, pages } = await collectPages(gh, '/admin/clients', 2);
        assert.ok(pages >= 3, `5+ clients at limit 2 take at least 3 pages, got ${pages}`);
        const ids = items.map((c) => c.client_id);
        assert.equal(new Set(ids).size, ids.length, 'a client appears on two pages');
        for (const id of mine) assert.ok(ids.includes(id), `client ${id} missing from the listing`);
        for (const c of items) assert.equal(c.client_secret, undefined);

        const first = await call(gh, 'GET', '/admin/clients?limit=1');
        assert.equal(first.json.items.length, 1);
        assert.equal(first.json.next_cursor, first.json.items[0].client_id);
        const second = await call(
          gh,
          'GET',
          `/admin/clients?limit=1&after=${encodeURIComponent(first.json.next_cursor)}`,
        );
        assert.equal(second.json.items.length, 1);
        assert.notEqual(second.json.items[0].client_id, first.json.items[0].client_id);
      });
    });

    describe('users', () => {
      it('creates a user (201) and never returns the password or its hash', async () => {
        const email = randomEmail();
        const res = await json(gh, 'POST', '/admin/users', {
          email,
          password: PASSWORD,
          name: 'Ada',
          email_verified: true,
        });
        assert.equal(res.status, 201, res.text);
        assert.equal(res.json.email, email);
        assert.equal(res.json.name, 'Ada');
        assert.equal(res.json.email_verified, true);
        assert.equal(res.json.disabled, false);
        assert.equal(typeof res.json.id, 'string');
        assert.equal(res.headers.get('location'), `/admin/users/${res.json.id}`);
        const fetched = await call(gh, 'GET', `/admin/users/${res.json.id}`);
        const listed = await call(gh, 'GET', '/admin/users?limit=200');
        assert.equal(fetched.status, 200);
        assert.equal(listed.status, 200);
        assert.ok(listed.json.items.some((u: { id: string }) => u.id === res.json.id));
        for (const r of [res, fetched, listed])
          assert.doesNotMatch(r.text, /password|argon2|correct horse/i, 'password or hash returned');
      });

      it('refuses a duplicate email case-insensitively with 409, on create and on update', async () => {
        const email = randomEmail();
        const first = await json(gh, 'POST', '/admin/users', { email, password: PASSWORD });
        assert.equal(first.status, 201);
        assertCleanError(
          await json(gh, 'POST', '/admin/users', { email: email.toUpperCase(), password: PASSWORD }),
          409,
          'conflict',
        );
        assertCleanError(
          await json(gh, 'POST', '/admin/users', { email: `  ${email}  `, password: PASSWORD }),
          409,
          'conflict',
        );
        const other = await createUser(gh);
        assertCleanError(
          await json(gh, 'PATCH', `/admin/users/${other.id}`, { email: email.toUpperCase() }),
          409,
          'conflict',
        );
        assert.equal((await call(gh, 'GET', `/admin/users/${other.id}`)).json.email, other.email);
      });

      it('reads, updates and deletes a user', async () => {
        const user = await createUser(gh);
        const got = await call(gh, 'GET', `/admin/users/${user.id}`);
        assert.equal(got.status, 200);
        assert.equal(got.json.email, user.email);

        const newEmail = randomEmail();
        const patched = await json(gh, 'PATCH', `/admin/users/${user.id}`, {
          name: 'Renamed',
          email: newEmail,
          email_verified: false,
        });
        assert.equal(patched.status, 200, patched.text);
        assert.equal(patched.json.name, 'Renamed');
        assert.equal(patched.json.email, newEmail);
        assert.equal(patched.json.email_verified, false);
        assert.doesNotMatch(patched.text, /password/i);
        assert.equal((await call(gh, 'GET', `/admin/users/${user.id}`)).json.name, 'Renamed');

        const del = await call(gh, 'DELETE', `/admin/users/${user.id}`);
        assert.equal(del.status, 204);
        assertCleanError(await call(gh, 'GET', `/admin/users/${user.id}`), 404, 'not_found');
        assertCleanError(await call(gh, 'DELETE', `/admin/users/${user.id}`), 404, 'not_found');
        assertCleanError(await json(gh, 'PATCH', `/admin/users/${user.id}`, { name: 'ghost' }), 404, 'not_found');
      });

      it('changes a password with PATCH: the old one stops working, the new one works', async () => {
        const user = await createUser(gh);
        const config = await discover(gh, await createClient(gh, VALID_CLIENT));
        const newPassword = 'a completely different passphrase';
        assert.equal((await json(gh, 'PATCH', `/admin/users/${user.id}`, { password: newPassword })).status, 200);
        await assert.rejects(codeFlow(gh, config, { user }), /did not reach the callback: 401/);
        const { tokens } = await loginAndGetTokens(gh, config, { user: { email: user.email, password: newPassword } });
        assert.equal(tokens.claims()!.sub, user.id);
      });

      it('lists users with pagination', async () => {
        const mine = [await createUser(gh), await createUser(gh), await createUser(gh)].map((u) => u.id);
        const { items } = await collectPages(gh, '/admin/users', 2);
        const ids = items.map((u) => u.id);
        assert.equal(new Set(ids).size, ids.length);
        for (const id of mine) assert.ok(ids.includes(id));
      });

      it('refuses a password shorter than the policy with 400 and a message naming the rule', async () => {
        const res = await json(gh, 'POST', '/admin/users', { email: randomEmail(), password: 'short pass' });
        assertCleanError(res, 400);
        assert.match(res.json.error_description, /at least 15 characters/);
        const tooLong = await json(gh, 'POST', '/admin/users', { email: randomEmail(), password: 'x'.repeat(257) });
        assertCleanError(tooLong, 400);
        assert.match(tooLong.json.error_description, /256/);
        const user = await createUser(gh);
        assertCleanError(await json(gh, 'PATCH', `/admin/users/${user.id}`, { password: 'fourteen chars' }), 400);
      });

      it('deleting a user ends their refresh tokens and sessions', async () => {
        const user = await createUser(gh);
        const config = await discover(gh, await createClient(gh, VALID_CLIENT));
        const { tokens, ua } = await loginAndGetTokens(gh, config, { user });
        // The refresh token works before the deletion…
        const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token!);
        const latest = refreshed.refresh_token ?? tokens.refresh_token!;
        assert.equal((await call(gh, 'DELETE', `/admin/users/${user.id}`)).status, 204);
        // …and not after it.
        await assert.rejects(client.refreshTokenGrant(config, latest), (err: any) => err.error === 'invalid_grant');
        await assert.rejects(client.fetchUserInfo(config, refreshed.access_token, user.id));
        // The browser session no longer signs anyone in silently.
        const silent = await codeFlow(gh, config, { user, ua, extra: { prompt: 'none' } });
        assert.equal(silent.callbackUrl.searchParams.get('error'), 'login_required');
        assert.equal(silent.callbackUrl.searchParams.get('code'), null);
      });

      it('PATCH disabled:true stops sign-in and refresh; re-enabling allows sign-in again', async () => {
        const user = await createUser(gh);
        const config = await discover(gh, await createClient(gh, VALID_CLIENT));
        const { tokens, ua } = await loginAndGetTokens(gh, config, { user });
        const disabled = await json(gh, 'PATCH', `/admin/users/${user.id}`, { disabled: true });
        assert.equal(disabled.status, 200, disabled.text);
        assert.equal(disabled.json.disabled, true);
        await assert.rejects(
          client.refreshTokenGrant(config, tokens.refresh_token!),
          (err: any) => err.error === 'invalid_grant',
        );
        await assert.rejects(
          codeFlow(gh, config, { user }),
          /did not reach the callback: 401/,
          'a disabled user signed in',
        );
        const silent = await codeFlow(gh, config, { user, ua, extra: { prompt: 'none' } });
        assert.equal(silent.callbackUrl.searchParams.get('error'), 'login_required');

        assert.equal((await json(gh, 'PATCH', `/admin/users/${user.id}`, { disabled: false })).json.disabled, false);
        const again = await loginAndGetTokens(gh, config, { user });
        assert.equal(again.tokens.claims()!.sub, user.id);
      });
    });

    describe('bad input is a clean 4xx', () => {
      const bodyPaths = ['/admin/clients', '/admin/users'];

      it('malformed JSON → 400', async () => {
        for (const path of bodyPaths) {
          for (const body of [
            '{"a":',
            '{a: 1}',
            "{'a': 1}",
            '{"a": 1}}',
            '\u00ff\u00fe{}',
            'undefined',
            '{"a": NaN}',
          ]) {
            assertCleanError(await json(gh, 'POST', path, body), 400, 'invalid_request');
          }
        }
        assertCleanError(
          await call(gh, 'POST', '/admin/users', {
            body: Buffer.from([0xff, 0xfe, 0x7b, 0x7d]),
            headers: { 'content-type': 'application/json' },
          }),
          400,
        );
      });

      it('a JSON array, string, number or null body → 400', async () => {
        for (const path of bodyPaths) {
          for (const body of ['[]', '[{"email":"a@b.c"}]', '"x"', '42', 'null', 'true']) {
            assertCleanError(await json(gh, 'POST', path, body), 400);
          }
        }
        const c = await createClient(gh, VALID_CLIENT);
        assertCleanError(await json(gh, 'PATCH', `/admin/clients/${c.client_id}`, '[]'), 400);
        assertCleanError(await call(gh, 'POST', '/admin/users'), 400);
      });

      it('wrong types → 400', async () => {
        const cases: Array<[string, unknown]> = [
          ['/admin/clients', { ...VALID_CLIENT, redirect_uris: 'x' }],
          ['/admin/clients', { ...VALID_CLIENT, redirect_uris: [42] }],
          ['/admin/clients', { ...VALID_CLIENT, grant_types: [1] }],
          ['/admin/clients', { ...VALID_CLIENT, grant_types: 'authorization_code' }],
          ['/admin/clients', { ...VALID_CLIENT, client_name: { a: 1 } }],
          ['/admin/clients', { ...VALID_CLIENT, first_party: 'yes' }],
          ['/admin/clients', { ...VALID_CLIENT, refresh_token_grace_seconds: 1e9 }],
          ['/admin/clients', { ...VALID_CLIENT, jwks: 'x' }],
          ['/admin/users', { email: 42, password: PASSWORD }],
          ['/admin/users', { email: randomEmail(), password: 1234567890123456 }],
          ['/admin/users', { email: randomEmail(), password: PASSWORD, email_verified: 'true' }],
          ['/admin/users', { email: 'not-an-email', password: PASSWORD }],
          ['/admin/users', { email: randomEmail(), password: PASSWORD, name: ['a'] }],
        ];
        for (const [path, body] of cases) assertCleanError(await json(gh, 'POST', path, body), 400);
        const user = await createUser(gh);
        assertCleanError(await json(gh, 'PATCH', `/admin/users/${user.id}`, { disabled: 'true' }), 400);
      });

      it('unknown fields → 400, including on PATCH and __proto__', async () => {
        assertCleanError(
          await json(gh, 'POST', '/admin/clients', { ...VALID_CLIENT, client_secret: 'chosen-by-caller' }),
          400,
        );
        assertCleanError(await json(gh, 'POST', '/admin/clients', { ...VALID_CLIENT, unknown_field: 1 }), 400);
        assertCleanError(
          await json(gh, 'POST', '/admin/users', { email: randomEmail(), password: PASSWORD, is_admin: true }),
          400,
        );
        assertCleanError(
          await json(gh, 'POST', '/admin/users', `{"email":"${randomEmail()}","__proto__":{"disabled":true}}`),
          400,
        );
        const user = await createUser(gh);
        assertCleanError(await json(gh, 'PATCH', `/admin/users/${user.id}`, { id: 'other' }), 400);
        const c = await createClient(gh, VALID_CLIENT);
        assertCleanError(await json(gh, 'PATCH', `/admin/clients/${c.client_id}`, { client_id: 'other' }), 400);
      });

      it('a body over 1 MiB → 413, with or without Content-Length', async () => {
        const big = JSON.stringify({ ...VALID_CLIENT, client_name: 'x'.repeat(1024 * 1024 + 16) });
        assertCleanError(await json(gh, 'POST', '/admin/clients', big), 413, 'payload_too_large');
        const chunks = [
          Buffer.from('{"client_name":"'),
          ...Array.from({ length: 20 }, () => Buffer.alloc(64 * 1024, 'y')),
          Buffer.from('"}'),
        ];
        const stream = new ReadableStream<Uint8Array>({
          pull(controller) {
            const next = chunks.shift();
            if (next) controller.enqueue(next);
            else controller.close();
          },
        });
        assertCleanError(
          await call(gh, 'POST', '/admin/users', { body: stream, headers: { 'content-type': 'application/json' } }),
          413,
          'payload_too_large',
        );
        // The half-read connections are not handed back for reuse: the next requests all work.
        for (let i = 0; i < 4; i++) {
          assertCleanError(
            await call(gh, 'POST', '/admin/clients', { body: '{}', headers: { 'content-type': 'text/plain' } }),
            415,
          );
          assert.equal((await call(gh, 'GET', '/admin/users?limit=1')).status, 200);
        }
      });

      it('a wrong content type → 415', async () => {
        for (const type of [
          'text/plain',
          'application/x-www-form-urlencoded',
          'multipart/form-data; boundary=x',
          'application/xml',
        ]) {
          assertCleanError(
            await call(gh, 'POST', '/admin/clients', {
              body: JSON.stringify(VALID_CLIENT),
              headers: { 'content-type': type },
            }),
            415,
            'unsupported_media_type',
          );
        }
        const user = await createUser(gh);
        assertCleanError(
          await call(gh, 'PATCH', `/admin/users/${user.id}`, {
            body: 'name=x',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
          }),
          415,
        );
        assert.equal(
          (await call(gh, 'GET', `/admin/users/${user.id}`)).json.name,
          'Test User',
          'the form body was applied anyway',
        );
      });

      it('unknown client and user ids → 404', async () => {
        for (const id of [
          'does-not-exist',
          '00000000-0000-0000-0000-000000000000',
          'x'.repeat(5000),
          '%E2%98%83',
          "'%20or%201=1--",
        ]) {
          assertCleanError(await call(gh, 'GET', `/admin/clients/${id}`), 404, 'not_found');
          assertCleanError(await call(gh, 'GET', `/admin/users/${id}`), 404, 'not_found');
          assertCleanError(await call(gh, 'DELETE', `/admin/users/${id}`), 404, 'not_found');
          assertCleanError(await json(gh, 'PATCH', `/admin/clients/${id}`, { client_name: 'x' }), 404, 'not_found');
        }
        assertCleanError(await call(gh, 'GET', '/admin/nothing-here'), 404, 'not_found');
      });

      it('NUL characters in ids, cursors and body strings → 4xx, not a database error', async () => {
        for (const path of [
          '/admin/users/%00',
          '/admin/clients/a%00b',
          '/admin/resources/%00',
          '/admin/users?after=%00',
          '/admin/clients?after=a%00',
        ]) {
          const res = await call(gh, 'GET', path);
          assert.ok(res.status === 400 || res.status === 404, `${path} → ${res.status}`);
          assertCleanError(res, res.status);
        }
        assertCleanError(
          await json(gh, 'POST', '/admin/users', { email: 'nul\u0000@example.test', password: PASSWORD }),
          400,
        );
        assertCleanError(
          await json(gh, 'POST', '/admin/users', { email: randomEmail(), password: PASSWORD, name: 'a\u0000b' }),
          400,
        );
        assertCleanError(await json(gh, 'POST', '/admin/clients', { ...VALID_CLIENT, client_name: 'a\u0000b' }), 400);
        assertCleanError(
          await json(gh, 'POST', '/admin/clients', { ...VALID_CLIENT, jwks: { keys: [{ 'k\u0000': 'v' }] } }),
          400,
        );
      });

      it('invalid redirect URIs → 400 invalid_redirect_uri', async () => {
        for (const uri of [
          `${CALLBACK}#x`,
          '/cb',
          'cb',
          'javascript:alert(1)',
          'JavaScript:alert(1)',
          'data:text/html,hi',
          '',
          'https://*.example.test/cb',
        ]) {
          const res = await json(gh, 'POST', '/admin/clients', { ...VALID_CLIENT, redirect_uris: [uri] });
          assertCleanError(res, 400, 'invalid_redirect_uri');
          assert.ok(res.json.error_description.length < 500);
        }
        assertCleanError(
          await json(gh, 'POST', '/admin/clients', { ...VALID_CLIENT, redirect_uris: [] }),
          400,
          'invalid_redirect_uri',
        );
        assertCleanError(
          await json(gh, 'POST', '/admin/clients', {
            ...VALID_CLIENT,
            post_logout_redirect_uris: ['javascript:alert(1)'],
          }),
          400,
          'invalid_redirect_uri',
        );
        const c = await createClient(gh, VALID_CLIENT);
        assertCleanError(
          await json(gh, 'PATCH', `/admin/clients/${c.client_id}`, { redirect_uris: [`${CALLBACK}#frag`] }),
          400,
          'invalid_redirect_uri',
        );
        assert.deepEqual(
          (await call(gh, 'GET', `/admin/clients/${c.client_id}`)).json.redirect_uris,
          [CALLBACK],
          'a refused PATCH changed the client',
        );
      });

      it('grant and response types outside OAuth 2.1 → 400', async () => {
        for (const grant_types of [
          ['implicit'],
          ['password'],
          ['authorization_code', 'password'],
          ['urn:ietf:params:oauth:grant-type:device_code'],
          [],
        ]) {
          assertCleanError(await json(gh, 'POST', '/admin/clients', { ...VALID_CLIENT, grant_types }), 400);
        }
        for (const response_types of [['token'], ['id_token'], ['code token'], ['code id_token']]) {
          assertCleanError(await json(gh, 'POST', '/admin/clients', { ...VALID_CLIENT, response_types }), 400);
        }
        assertCleanError(
          await json(gh, 'POST', '/admin/clients', {
            ...VALID_CLIENT,
            token_endpoint_auth_method: 'client_secret_jwt',
          }),
          400,
        );
      });

      it('bad pagination parameters → 400', async () => {
        for (const path of ['/admin/clients', '/admin/users']) {
          for (const q of [
            'limit=0',
            'limit=abc',
            'limit=-1',
            'limit=1.5',
            'limit=201',
            'limit=',
            'limit=1e2x',
            'limit=1&limit=2',
          ]) {
            assertCleanError(await call(gh, 'GET', `${path}?${q}`), 400, 'invalid_request');
          }
        }
      });

      it('an unsupported method → 405 JSON, not a crash', async () => {
        const res = await json(gh, 'PUT', '/admin/clients', VALID_CLIENT);
        assertCleanError(res, 405);
      });
    });
  });
}
