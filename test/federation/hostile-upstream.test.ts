import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { connectionSecretContext } from '../../src/domain/federation/connection.js';
import { KeyEncryption } from '../../src/domain/keys/key-encryption.js';
import { SqlConnectionRepository } from '../../src/storage/repositories/connections-repository.js';
import { startGatehouse, type RunningGatehouse } from '../support/gatehouse.js';
import { type client, createClient, discover, startAuthorization } from '../support/relying-party.js';
import { formAction, hiddenField } from '../support/user-agent.js';
import { type HostileUpstream, startHostileUpstream, type Tamper } from './support/hostile-upstream.js';

/**
 * An upstream OpenID provider that answers with ID tokens a real one would never send: each must
 * end on the sign-in page (4xx, a way back), audited as `federation.failed` with a reason, and
 * no account created or linked. One backend: nothing here depends on storage.
 */
describe('hostile upstream OIDC ID tokens (pglite)', () => {
  let down: RunningGatehouse;
  let up: HostileUpstream;
  let config: client.Configuration;
  const kek = randomBytes(32).toString('base64url');

  before(async () => {
    down = await startGatehouse('pglite', { env: { GATEHOUSE_KEK: kek } });
    up = await startHostileUpstream();
    config = await discover(down, await createClient(down));
    const id = randomUUID();
    await new SqlConnectionRepository(down.instance.database).insert({
      id,
      type: 'oidc',
      slug: 'hostile',
      name: 'Hostile',
      enabled: true,
      domains: [],
      enforceSso: false,
      jit: true,
      linkExisting: 'prompt',
      trustedMfa: false,
      secretSealed: new KeyEncryption(Buffer.from(kek, 'base64url')).encrypt(
        up.clientSecret,
        connectionSecretContext(id),
      ),
      settings: { issuer: up.issuer, client_id: up.clientId, scopes: ['openid', 'email', 'profile'] },
    });
  });
  after(async () => {
    await down?.destroy();
    await up?.close();
  });

  /** From the app's sign-in page through the upstream (which answers at once) back to Gatehouse. */
  async function signIn(tamper: Tamper) {
    up.tamper = tamper;
    const start = await startAuthorization(down, config, { scope: 'openid email' });
    const html = start.step.html!;
    const form = html.split('<form').find((f) => f.includes('Continue with Hostile<'));
    assert.ok(form, 'a "Continue with Hostile" button');
    const toUpstream = await start.ua.follow(new URL(formAction(`<form${form}`), down.issuer).toString(), down.issuer, {
      form: { csrf: hiddenField(form, 'csrf') },
    });
    assert.ok(toUpstream.url.startsWith(up.origin), toUpstream.url);
    const atUpstream = await fetch(toUpstream.url, { redirect: 'manual' });
    const callback = atUpstream.headers.get('location')!;
    assert.ok(callback.startsWith(`${down.issuer}/federation/hostile/callback`), callback);
    return start.ua.follow(callback, down.issuer);
  }

  async function failureReasons(): Promise<string[]> {
    const res = await down.admin('GET', '/admin/audit-events?type=federation.failed');
    return res.body.items.map((e: { data?: { reason?: string } }) => e.data?.reason);
  }

  async function userCount(): Promise<number> {
    const res = await down.admin('GET', '/admin/users?q=hostile.test');
    return res.body.items.length;
  }

  /** The refusal: a 4xx sign-in page naming the upstream, the other ways to sign in still there. */
  async function assertRefused(tamper: Tamper, reason: RegExp) {
    const before = (await failureReasons()).length;
    const usersBefore = await userCount();
    const back = await signIn(tamper);
    assert.ok(back.res.status >= 400 && back.res.status < 500, `4xx, got ${back.res.status}`);
    assert.match(back.html ?? '', /Signing in with Hostile did not work/);
    assert.match(back.html ?? '', /name="password"/, 'the sign-in form is the way back');
    assert.match(back.html ?? '', /Continue with Hostile/);
    const reasons = await failureReasons();
    assert.equal(reasons.length, before + 1, 'one federation.failed');
    assert.ok(
      reasons.some((r) => reason.test(r)),
      `a reason matching ${reason}: ${reasons}`,
    );
    assert.equal(await userCount(), usersBefore, 'no account created');
  }

  it('a well-formed ID token signs in (the upstream itself works)', async () => {
    const back = await signIn({});
    assert.ok(back.res.status < 400, `${back.res.status} ${back.url}`);
    assert.equal(await userCount(), 1);
  });

  it('wrong aud', async () => {
    await assertRefused({ claims: (c) => ({ ...c, aud: 'someone-else' }) }, /^invalid_id_token:aud$/);
  });

  it('expired ID token', async () => {
    const past = Math.floor(Date.now() / 1000) - 3600;
    await assertRefused({ claims: (c) => ({ ...c, iat: past - 300, exp: past }) }, /^invalid_id_token:exp$/);
  });

  it('signed by a key not in the upstream JWKS', async () => {
    await assertRefused({ foreignKey: true }, /^invalid_id_token:signature$/);
  });

  it('nonce mismatch, and a nonce replayed from an earlier sign-in', async () => {
    await assertRefused({ claims: (c) => ({ ...c, nonce: 'not-the-nonce' }) }, /^nonce_mismatch$/);
    const earlier = up.nonces[0]!;
    await assertRefused({ claims: (c) => ({ ...c, nonce: earlier }) }, /^nonce_mismatch$/);
  });

  it('wrong iss', async () => {
    await assertRefused({ claims: (c) => ({ ...c, iss: 'https://evil.example' }) }, /^issuer_mismatch$/);
  });

  it('missing sub', async () => {
    await assertRefused({ claims: (c) => ({ ...c, sub: undefined }) }, /^invalid_id_token:sub$/);
  });
});
