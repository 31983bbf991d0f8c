import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { appleKeyProblem, normalizeAppleKey } from '../../src/domain/federation/apple-key.js';
import { APPLE_CLIENT_SECRET_TTL_SECONDS, appleUserName } from '../../src/federation/apple.js';
import { backends } from '../support/backends.js';
import { startGatehouse, type RunningGatehouse } from '../support/gatehouse.js';
import {
  CALLBACK,
  type client,
  createClient,
  discover,
  type IdTokenClaims,
  redeemCode,
  startAuthorization,
} from '../support/relying-party.js';
import { autoPostForm, formAction, hiddenField, type UserAgent } from '../support/user-agent.js';
import { type AppleUpstream, newApplePerson, newP8, startAppleUpstream } from './support/apple-upstream.js';

const pem = (type: 'rsa' | 'ec', namedCurve = 'P-256') =>
  (type === 'rsa'
    ? generateKeyPairSync('rsa', { modulusLength: 2048 })
    : generateKeyPairSync('ec', { namedCurve })
  ).privateKey
    .export({ format: 'pem', type: 'pkcs8' })
    .toString();

describe('Apple helpers', () => {
  it('accepts only a PKCS#8 EC P-256 private key as the .p8, also with \\n escapes', () => {
    const p8 = newP8();
    assert.equal(appleKeyProblem(normalizeAppleKey(p8)), undefined);
    assert.equal(appleKeyProblem(normalizeAppleKey(p8.trim().replace(/\n/g, '\\n'))), undefined);
    assert.equal(appleKeyProblem(normalizeAppleKey(p8.replace(/\n/g, '\r\n'))), undefined);
    assert.match(appleKeyProblem(pem('rsa')) ?? '', /\.p8/);
    assert.match(appleKeyProblem(pem('ec', 'P-384')) ?? '', /\.p8/);
    const sec1 = generateKeyPairSync('ec', { namedCurve: 'P-256' })
      .privateKey.export({ format: 'pem', type: 'sec1' })
      .toString();
    assert.match(appleKeyProblem(sec1) ?? '', /PKCS#8/);
    assert.match(appleKeyProblem('not a key') ?? '', /\.p8/);
  });

  it('reads the name from Apple’s `user` field, and nothing from a malformed one', () => {
    assert.equal(appleUserName('{"name":{"firstName":"Ada","lastName":"Lovelace"},"email":"x@y"}'), 'Ada Lovelace');
    assert.equal(appleUserName('{"name":{"firstName":" Ada\\u0007 "}}'), 'Ada');
    for (const bad of [null, '', 'not json', 'null', '[]', '{"name":"Ada"}', '{"name":{"firstName":7}}'])
      assert.equal(appleUserName(bad), undefined, String(bad));
  });
});

/**
 * Sign in with Apple: an Apple-shaped upstream (form_post, the `user` field on the first sign-in,
 * a client secret that is an ES256 JWT from the connection's .p8) behind the `apple` preset with
 * its issuer pointed at the test upstream; openid-client as the app's relying party.
 */
for (const backend of backends()) {
  describe(`Sign in with Apple (${backend})`, () => {
    let down: RunningGatehouse;
    let up: AppleUpstream;
    let config: client.Configuration;

    before(async () => {
      down = await startGatehouse(backend, { env: { GATEHOUSE_KEK: randomBytes(32).toString('base64url') } });
      up = await startAppleUpstream();
      config = await discover(down, await createClient(down));
      const apple = {
        type: 'oidc',
        preset: 'apple',
        issuer: up.issuer,
        client_id: up.clientId,
        apple_team_id: up.teamId,
        apple_key_id: up.keyId,
      };
      const made = await down.admin('POST', '/admin/connections', { ...apple, name: 'Apple', client_secret: up.p8 });
      assert.equal(made.status, 201, JSON.stringify(made.body));
      assert.deepEqual(made.body.scopes, ['openid', 'email', 'name']);
      assert.equal(made.body.client_secret, undefined);
      assert.equal(made.body.client_secret_set, true);
      assert.equal(made.body.callback_url, `${down.issuer}/federation/apple/callback`);
      // Same Services ID and key ID, but a .p8 Apple does not know (a revoked or mistyped key).
      const stale = await down.admin('POST', '/admin/connections', {
        ...apple,
        name: 'Stale Apple',
        slug: 'stale-apple',
        client_secret: newP8(),
      });
      assert.equal(stale.status, 201, JSON.stringify(stale.body));
    });
    after(async () => {
      await down?.destroy();
      await up?.close();
    });

    type Step = Awaited<ReturnType<UserAgent['follow']>>;
    async function consent(ua: UserAgent, step: Step): Promise<Step> {
      if (!step.html?.includes('name="decision"')) return step;
      return ua.follow(new URL(formAction(step.html), down.issuer).toString(), down.issuer, {
        form: { csrf: hiddenField(step.html, 'csrf'), decision: 'allow' },
      });
    }

    /**
     * The app's sign-in page → "Continue with <name>" → Apple's auto-submitting form, POSTed
     * cross-site (no Lax cookies) → the bounce to the same-site GET → the interaction.
     */
    async function signIn(name = 'Apple') {
      const start = await startAuthorization(down, config, { scope: 'openid email' });
      const forms = start.step.html!.split('<form').filter((f) => f.includes(`Continue with ${name}<`));
      assert.equal(forms.length, 1, `one "Continue with ${name}" button`);
      const toApple = await start.ua.follow(
        new URL(formAction(`<form${forms[0]}`), down.issuer).toString(),
        down.issuer,
        {
          form: { csrf: hiddenField(forms[0]!, 'csrf') },
        },
      );
      assert.ok(toApple.url.startsWith(`${up.issuer}/auth/authorize`), toApple.url);
      const authorize = new URL(toApple.url).searchParams;
      assert.equal(authorize.get('response_mode'), 'form_post');
      assert.equal(authorize.get('scope'), 'openid email name');
      const atApple = await fetch(toApple.url);
      assert.equal(atApple.status, 200, await atApple.clone().text());
      const post = autoPostForm(await atApple.text());
      const slug = name === 'Apple' ? 'apple' : 'stale-apple';
      assert.equal(post.action, `${down.issuer}/federation/${slug}/callback`);
      const posted = await start.ua.request(post.action, { form: post.fields, crossSite: true });
      assert.equal(posted.status, 303);
      const resume = new URL(posted.headers.get('location')!, down.issuer).toString();
      assert.match(resume, new RegExp(`/federation/${slug}/callback\\?resume=`));
      const back = await consent(start.ua, await start.ua.follow(resume, down.issuer));
      return { ...start, fields: post.fields, resume, back };
    }

    async function downUser(email: string) {
      const res = await down.admin('GET', `/admin/users?q=${encodeURIComponent(email)}`);
      return res.body.items[0] as { id: string; email: string; name: string | null; email_verified: boolean };
    }

    async function failureReasons(): Promise<string[]> {
      const res = await down.admin('GET', '/admin/audit-events?type=federation.failed');
      return res.body.items.map((e: { data?: { reason?: string } }) => e.data?.reason);
    }

    it('signs in by form_post: the new account’s name from `user`, its email from the ID token; later without `user`', async () => {
      up.person = newApplePerson();
      const first = await signIn();
      assert.ok(first.fields.user, 'Apple sent `user` the first time');
      assert.ok(first.back.url.startsWith(CALLBACK), `${first.back.res.status} ${first.back.url}`);
      const claims = (await redeemCode(config, new URL(first.back.url), first)).claims() as IdTokenClaims;
      assert.ok(claims.amr?.includes('fed'));

      // The client secret Apple got: a short-lived ES256 JWT naming the team, key and Services ID.
      const header = decodeProtectedHeader(up.lastClientSecret!);
      const secret = decodeJwt(up.lastClientSecret!);
      assert.deepEqual([header.alg, header.kid], ['ES256', up.keyId]);
      assert.deepEqual([secret.iss, secret.sub, secret.aud], [up.teamId, up.clientId, 'https://appleid.apple.com']);
      assert.ok(secret.exp! - secret.iat! <= APPLE_CLIENT_SECRET_TTL_SECONDS);
      assert.ok(secret.exp! > Date.now() / 1000);

      const user = await downUser(up.person.email);
      assert.equal(user.id, claims.sub);
      assert.equal(user.name, 'Ada Lovelace');
      assert.equal(user.email_verified, true, 'Apple’s "true" string is a verified email');
      assert.equal((await down.admin('GET', '/admin/users?q=attacker.test')).body.items.length, 0);

      // The held form body is spent: the same resume link again is the expired-link page.
      const replay = await first.ua.follow(first.resume, down.issuer);
      assert.equal(replay.res.status, 400);
      assert.match(replay.html ?? '', /This sign-in link has expired or was already used/);
      assert.match(replay.html ?? '', /href="\/"/);

      const second = await signIn();
      assert.equal(second.fields.user, undefined, 'no `user` after the first sign-in');
      assert.ok(second.back.url.startsWith(CALLBACK), `${second.back.res.status} ${second.back.url}`);
      const again = (await redeemCode(config, new URL(second.back.url), second)).claims() as IdTokenClaims;
      assert.equal(again.sub, claims.sub);
      assert.equal((await downUser(up.person.email)).name, 'Ada Lovelace');
    });

    it('Apple’s email_verified "false" leaves the email unverified', async () => {
      up.person = { ...newApplePerson(), emailVerified: 'false' };
      const { back } = await signIn();
      assert.ok(back.url.startsWith(CALLBACK), `${back.res.status} ${back.url}`);
      assert.equal((await downUser(up.person.email)).email_verified, false);
    });

    it('a .p8 Apple does not know: refused as invalid_client, a page with a way back, federation.failed', async () => {
      up.person = newApplePerson();
      const before = (await failureReasons()).length;
      const { back } = await signIn('Stale Apple');
      assert.equal(up.lastRefusal, 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
      assert.ok(back.res.status >= 400 && back.res.status < 500, `4xx, got ${back.res.status}`);
      assert.match(back.html ?? '', /Signing in with Stale Apple did not work/);
      assert.match(back.html ?? '', /name="password"/, 'the sign-in form is the way back');
      const reasons = await failureReasons();
      assert.equal(reasons.length, before + 1);
      assert.ok(reasons.includes('token_error:invalid_client'), String(reasons));
      assert.equal(await downUser(up.person.email), undefined, 'no account');
    });

    it('Cancel at Apple (an error in the form post): a page with a way back, federation.failed', async () => {
      up.person = newApplePerson();
      up.cancel = true;
      try {
        const { back, fields } = await signIn();
        assert.equal(fields.code, undefined);
        assert.equal(back.res.status, 400);
        assert.match(back.html ?? '', /Signing in with Apple did not work/);
        assert.match(back.html ?? '', /name="password"/);
        assert.ok((await failureReasons()).includes('upstream_error:user_cancelled_authorize'));
      } finally {
        up.cancel = false;
      }
    });

    it('a POSTed answer with an unknown state, or an unknown resume handle: the expired-link page', async () => {
      const before = (await failureReasons()).length;
      const ua = (await startAuthorization(down, config, { scope: 'openid' })).ua;
      const forged = await ua.follow(`${down.issuer}/federation/apple/callback`, down.issuer, {
        form: { code: 'c', state: 'never-issued' },
        crossSite: true,
      });
      assert.equal(forged.res.status, 400);
      assert.match(forged.html ?? '', /This sign-in link has expired or was already used/);
      const reasons = await failureReasons();
      assert.equal(reasons.length, before + 1);
      assert.ok(reasons.includes('state_unknown'), String(reasons));
      const unknown = await ua.follow(`${down.issuer}/federation/apple/callback?resume=nope`, down.issuer);
      assert.equal(unknown.res.status, 400);
      assert.match(unknown.html ?? '', /Start again/);
    });

    it('admin API: team ID, key ID and a .p8 client secret are required with preset apple', async () => {
      const base = {
        type: 'oidc',
        preset: 'apple',
        name: 'Apple Two',
        slug: 'apple-two',
        issuer: up.issuer,
        client_id: up.clientId,
        apple_team_id: up.teamId,
        apple_key_id: up.keyId,
        client_secret: newP8(),
      };
      const expect400 = async (method: string, path: string, body: Record<string, unknown>, message: RegExp) => {
        const res = await down.admin(method, path, body);
        assert.equal(res.status, 400, JSON.stringify(res.body));
        assert.match(res.body.error_description, message);
      };
      await expect400('POST', '/admin/connections', { ...base, apple_team_id: undefined }, /apple_team_id: required/);
      await expect400('POST', '/admin/connections', { ...base, apple_key_id: undefined }, /apple_key_id: required/);
      await expect400('POST', '/admin/connections', { ...base, apple_team_id: 'ABC' }, /10-character Apple team ID/);
      await expect400('POST', '/admin/connections', { ...base, client_secret: undefined }, /client_secret: required/);
      await expect400('POST', '/admin/connections', { ...base, client_secret: pem('rsa') }, /client_secret: .*\.p8/);
      await expect400('POST', '/admin/connections', { ...base, client_secret: 'hunter2' }, /EC P-256/);
      await expect400('POST', '/admin/connections', { ...base, preset: 'google' }, /only with preset apple/);

      // A .p8 pasted into one line with \n escapes (as from an environment variable) is the same key.
      const escaped = newP8().trim().replace(/\n/g, '\\n');
      const made = await down.admin('POST', '/admin/connections', { ...base, client_secret: escaped });
      assert.equal(made.status, 201, JSON.stringify(made.body));
      assert.equal(made.body.apple_team_id, up.teamId);
      assert.equal(made.body.apple_key_id, up.keyId);
      const path = `/admin/connections/${made.body.id}`;
      await expect400('PATCH', path, { client_secret: pem('ec', 'P-384') }, /\.p8/);
      await expect400('PATCH', path, { apple_key_id: null }, /apple_key_id/);
      const rotated = await down.admin('PATCH', path, { client_secret: newP8(), apple_key_id: 'zyxwv98765' });
      assert.equal(rotated.status, 200, JSON.stringify(rotated.body));
      assert.equal(rotated.body.apple_key_id, 'ZYXWV98765', 'upper-cased as Apple writes it');
      // Turned into another preset, the Apple fields go; turned back, they (and a .p8) are needed again.
      const google = await down.admin('PATCH', path, { preset: 'google', issuer: up.issuer, client_secret: 's3cret' });
      assert.equal(google.status, 200, JSON.stringify(google.body));
      assert.equal(google.body.apple_team_id, undefined);
      await expect400('PATCH', path, { preset: 'apple', issuer: up.issuer }, /apple_team_id: required/);
      await expect400(
        'PATCH',
        path,
        { preset: 'apple', issuer: up.issuer, apple_team_id: up.teamId, apple_key_id: up.keyId },
        /client_secret: must be the \.p8/,
      );
      assert.equal((await down.admin('DELETE', path)).status, 204);
    });
  });
}
