import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { connectionSecretContext } from '../../src/domain/federation/connection.js';
import { KeyEncryption } from '../../src/domain/keys/key-encryption.js';
import { SqlConnectionRepository } from '../../src/storage/repositories/connections-repository.js';
import { backends } from '../support/backends.js';
import { startGatehouse, type RunningGatehouse } from '../support/gatehouse.js';
import {
  CALLBACK,
  type client,
  createClient,
  createUser,
  discover,
  type IdTokenClaims,
  redeemCode,
  startAuthorization,
} from '../support/relying-party.js';
import { UserAgent, formAction, hiddenField } from '../support/user-agent.js';

/**
 * Sign-in through an upstream OpenID Connect provider: the upstream is a second Gatehouse (its own
 * oidc-provider, on PGlite) with a client registered for the downstream's callback; the downstream
 * runs on each backend, with openid-client as its relying party.
 */
for (const backend of backends()) {
  describe(`upstream OIDC sign-in (${backend})`, () => {
    let down: RunningGatehouse;
    let up: RunningGatehouse;
    let config: client.Configuration;
    const kek = randomBytes(32).toString('base64url');

    async function addConnection(
      slug: string,
      linkExisting: 'prompt' | 'off',
      type: 'oidc' | 'oauth2' = 'oidc',
      realm: { domains: string[]; enforceSso: boolean } = { domains: [], enforceSso: false },
    ) {
      const upClient = await createClient(up, {
        client_name: 'Downstream',
        redirect_uris: [`${down.issuer}/federation/${slug}/callback`],
        grant_types: ['authorization_code'],
        token_endpoint_auth_method: 'client_secret_post',
      });
      const id = randomUUID();
      const sealed = new KeyEncryption(Buffer.from(kek, 'base64url')).encrypt(
        upClient.client_secret!,
        connectionSecretContext(id),
      );
      const common = {
        id,
        slug,
        name: { up: 'Upstream', strict: 'Strict', corp: 'Corp' }[slug] ?? 'Plain',
        enabled: true,
        ...realm,
        jit: true,
        linkExisting,
        trustedMfa: false,
        secretSealed: sealed,
      };
      const repo = new SqlConnectionRepository(down.instance.database);
      if (type === 'oidc') {
        const scopes = ['openid', 'email', 'profile'];
        await repo.insert({ ...common, type, settings: { issuer: up.issuer, client_id: upClient.client_id, scopes } });
        return;
      }
      // A plain OAuth 2.0 connection: the endpoints by hand, the profile from the userinfo endpoint.
      const meta = await (await fetch(`${up.issuer}/.well-known/openid-configuration`)).json();
      await repo.insert({
        ...common,
        type,
        settings: {
          authorization_endpoint: meta.authorization_endpoint,
          token_endpoint: meta.token_endpoint,
          userinfo_endpoint: meta.userinfo_endpoint,
          client_id: upClient.client_id,
          scopes: ['openid', 'email'],
        },
      });
    }

    before(async () => {
      down = await startGatehouse(backend, { env: { GATEHOUSE_KEK: kek } });
      up = await startGatehouse('pglite');
      config = await discover(down, await createClient(down));
      await addConnection('up', 'prompt');
      await addConnection('strict', 'off');
      await addConnection('plain', 'prompt', 'oauth2');
      await addConnection('corp', 'prompt', 'oidc', { domains: ['corp.test'], enforceSso: true });
    });
    after(async () => {
      await down?.destroy();
      await up?.destroy();
    });

    /** The "Continue with <name>" form on the downstream's sign-in page. */
    function continueWith(html: string, name: string) {
      const forms = html.split('<form').filter((f) => f.includes(`Continue with ${name}<`));
      assert.equal(forms.length, 1, `one "Continue with ${name}" button`);
      return { action: formAction(`<form${forms[0]}`), csrf: hiddenField(forms[0]!, 'csrf') };
    }

    /** Answers the consent page, if one is shown. */
    type Step = Awaited<ReturnType<UserAgent['follow']>>;
    async function consent(ua: UserAgent, step: Step, origin: string): Promise<Step> {
      if (!step.html?.includes('name="decision"')) return step;
      return ua.follow(new URL(formAction(step.html), origin).toString(), origin, {
        form: { csrf: hiddenField(step.html, 'csrf'), decision: 'allow' },
      });
    }

    /** From the downstream's sign-in page through the upstream (signing in there) back to the downstream. */
    async function viaUpstream(
      ua: UserAgent,
      loginHtml: string,
      upUser: { email: string; password: string },
      name = 'Upstream',
    ) {
      const button = continueWith(loginHtml, name);
      const toUpstream = await ua.follow(new URL(button.action, down.issuer).toString(), down.issuer, {
        form: { csrf: button.csrf },
      });
      assert.ok(toUpstream.url.startsWith(up.issuer), toUpstream.url);
      const authorize = new URL(toUpstream.url);
      assert.equal(authorize.searchParams.get('code_challenge_method'), 'S256');
      assert.ok(authorize.searchParams.get('state'));
      // A nonce for OpenID Connect only (a plain OAuth 2.0 upstream has no ID token to carry it back).
      assert.equal(authorize.searchParams.has('nonce'), name !== 'Plain');
      const callbackUrl = await atUpstream(toUpstream.url, upUser);
      return { callbackUrl, back: await consent(ua, await ua.follow(callbackUrl, down.issuer), down.issuer) };
    }

    /** Signs in at the upstream (its own browser session): the callback URL it sends the browser to. */
    async function atUpstream(authorizeUrl: string, upUser: { email: string; password: string }) {
      const upUa = new UserAgent();
      let step = await upUa.follow(authorizeUrl, up.issuer);
      step = await upUa.follow(new URL(formAction(step.html!), up.issuer).toString(), up.issuer, {
        form: { csrf: hiddenField(step.html!, 'csrf'), email: upUser.email, password: upUser.password },
      });
      step = await consent(upUa, step, up.issuer);
      assert.ok(step.url.startsWith(`${down.issuer}/federation/`), `back at the callback: ${step.url}`);
      return step.url;
    }

    async function federatedSignIn(upUser: { email: string; password: string }) {
      const start = await startAuthorization(down, config, { scope: 'openid email' });
      const { back, callbackUrl } = await viaUpstream(start.ua, start.step.html!, upUser);
      return { ...start, back, callbackUrl };
    }

    async function tokensOf(flow: Awaited<ReturnType<typeof federatedSignIn>>) {
      assert.ok(flow.back.url.startsWith(CALLBACK), `reached the app: ${flow.back.res.status} ${flow.back.url}`);
      const tokens = await redeemCode(config, new URL(flow.back.url), flow);
      return tokens.claims() as IdTokenClaims;
    }

    async function downUser(email: string) {
      const res = await down.admin('GET', `/admin/users?q=${encodeURIComponent(email)}`);
      return res.body.items[0] as { id: string; email: string; email_verified: boolean } | undefined;
    }

    it('creates the account on first sign-in (email verified as the upstream says) and finds the link next time', async () => {
      const upUser = await createUser(up, { email_verified: true });
      const first = await tokensOf(await federatedSignIn(upUser));
      assert.ok(first.amr?.includes('fed'), `amr ${first.amr}`);
      const created = await downUser(upUser.email);
      assert.equal(created?.id, first.sub);
      assert.equal(created?.email_verified, true);
      const second = await tokensOf(await federatedSignIn(upUser));
      assert.equal(second.sub, first.sub);
      const audit = await down.admin('GET', '/admin/audit-events?type=identity.linked');
      assert.ok(audit.body.items.some((e: { subject?: string }) => e.subject === first.sub));
    });

    it('does not mark the email verified when the upstream does not assert it', async () => {
      const upUser = await createUser(up, { email_verified: false });
      const claims = await tokensOf(await federatedSignIn(upUser));
      assert.equal((await downUser(upUser.email))?.email_verified, false);
      assert.ok(claims.amr?.includes('fed'));
    });

    it('an existing account with the email: asks to sign in to it, then links', async () => {
      const local = await createUser(down);
      const upUser = await createUser(up, { email: local.email, email_verified: true });
      const flow = await federatedSignIn(upUser);
      assert.equal(flow.back.res.status, 200);
      assert.match(
        flow.back.html ?? '',
        new RegExp(`An account with ${local.email} already exists\\. Sign in to it to link your Upstream account\\.`),
      );
      const html = flow.back.html!;
      let step = await flow.ua.follow(new URL(formAction(html), down.issuer).toString(), down.issuer, {
        form: { csrf: hiddenField(html, 'csrf'), email: local.email, password: local.password },
      });
      step = await consent(flow.ua, step, down.issuer);
      assert.ok(step.url.startsWith(CALLBACK), step.url);
      // Now linked: the upstream alone signs in to the same account.
      const again = await tokensOf(await federatedSignIn(upUser));
      assert.equal(again.sub, local.id);
    });

    it('a pending link is made only on the account with that email', async () => {
      const local = await createUser(down);
      const other = await createUser(down);
      const upUser = await createUser(up, { email: local.email, email_verified: true });
      const flow = await federatedSignIn(upUser);
      assert.match(flow.back.html ?? '', /Sign in to it to link your Upstream account/);
      const html = flow.back.html!;
      const step = await flow.ua.follow(new URL(formAction(html), down.issuer).toString(), down.issuer, {
        form: { csrf: hiddenField(html, 'csrf'), email: other.email, password: other.password },
      });
      assert.ok((await consent(flow.ua, step, down.issuer)).url.startsWith(CALLBACK));
      // Not linked to the other account: the upstream still asks to sign in to the one with its email.
      const again = await federatedSignIn(upUser);
      assert.match(again.back.html ?? '', /already exists\. Sign in to it to link/);
    });

    it('a disabled account is refused', async () => {
      const upUser = await createUser(up, { email_verified: true });
      const claims = await tokensOf(await federatedSignIn(upUser));
      assert.equal((await down.admin('PATCH', `/admin/users/${claims.sub}`, { disabled: true })).status, 200);
      const refused = await federatedSignIn(upUser);
      assert.equal(refused.back.res.status, 400);
      assert.match(refused.back.html ?? '', /Signing in with Upstream did not work/);
    });

    it("home-realm discovery: an email of an enforce_sso connection's domain goes there, never to the password", async () => {
      const email = `u-${randomUUID().slice(0, 8)}@corp.test`;
      const local = await createUser(down, { email });
      const upUser = await createUser(up, { email: `other-${email}`, email_verified: true });
      const start = await startAuthorization(down, config, { scope: 'openid email' });
      const html = start.step.html!;
      const toUpstream = await start.ua.follow(new URL(formAction(html), down.issuer).toString(), down.issuer, {
        form: { csrf: hiddenField(html, 'csrf'), email: local.email, password: local.password },
      });
      assert.ok(toUpstream.url.startsWith(up.issuer), `sent to the upstream, not signed in: ${toUpstream.url}`);
      const callbackUrl = await atUpstream(toUpstream.url, upUser);
      const back = await consent(start.ua, await start.ua.follow(callbackUrl, down.issuer), down.issuer);
      const claims = await tokensOf({ ...start, back, callbackUrl });
      assert.notEqual(claims.sub, local.id);
      assert.ok(claims.amr?.includes('fed'));
    });

    it('a plain OAuth 2.0 connection signs in with the userinfo profile', async () => {
      const upUser = await createUser(up, { email_verified: true });
      const start = await startAuthorization(down, config, { scope: 'openid email' });
      const { back } = await viaUpstream(start.ua, start.step.html!, upUser, 'Plain');
      const claims = await tokensOf({ ...start, back, callbackUrl: '' });
      assert.ok(claims.amr?.includes('fed'));
      const created = await downUser(upUser.email);
      assert.equal(created?.id, claims.sub);
      assert.equal(created?.email_verified, true);
    });

    it('link_existing off: a clear refusal with a way back', async () => {
      const local = await createUser(down);
      const upUser = await createUser(up, { email: local.email, email_verified: true });
      const start = await startAuthorization(down, config, { scope: 'openid email' });
      const { back } = await viaUpstream(start.ua, start.step.html!, upUser, 'Strict');
      assert.equal(back.res.status, 400);
      assert.match(back.html ?? '', /already exists/);
      assert.match(back.html ?? '', /name="password"/, 'the sign-in form is the way back');
    });

    it("the upstream's answer in another browser than the one that began signs no one in", async () => {
      const upUser = await createUser(up, { email_verified: true });
      const attacker = await startAuthorization(down, config, { scope: 'openid email' });
      const button = continueWith(attacker.step.html!, 'Upstream');
      const toUpstream = await attacker.ua.follow(new URL(button.action, down.issuer).toString(), down.issuer, {
        form: { csrf: button.csrf },
      });
      // The attacker's authorization link, completed by a victim signed in at the upstream.
      const callbackUrl = await atUpstream(toUpstream.url, upUser);
      const victim = await new UserAgent().follow(callbackUrl, down.issuer);
      assert.equal(victim.res.status, 400);
      const interaction = new URL(button.action, down.issuer).pathname.replace(/\/begin\/.*$/, '');
      const page = await attacker.ua.follow(`${down.issuer}${interaction}?method=oidc:up`, down.issuer);
      assert.ok(!page.url.startsWith(CALLBACK), 'the attacker is not signed in as the victim');
      assert.match(page.html ?? '', /name="password"/);
      const failed = await down.admin('GET', '/admin/audit-events?type=federation.failed');
      assert.ok(failed.body.items.some((e: { data?: { reason?: string } }) => e.data?.reason === 'browser_mismatch'));
    });

    it('wrong or replayed state, and an upstream error, give a page with a way back (never a 500)', async () => {
      const bogus = await fetch(`${down.issuer}/federation/up/callback?state=nope&code=x`, {
        headers: { accept: 'text/html' },
      });
      assert.equal(bogus.status, 400);
      assert.match(await bogus.text(), /href="\/"/);

      const upUser = await createUser(up, { email_verified: true });
      const flow = await federatedSignIn(upUser);
      await tokensOf(flow);
      const replay = await flow.ua.follow(flow.callbackUrl, down.issuer);
      assert.equal(replay.res.status, 400);

      const start = await startAuthorization(down, config, { scope: 'openid email' });
      const button = continueWith(start.step.html!, 'Upstream');
      const toUpstream = await start.ua.follow(new URL(button.action, down.issuer).toString(), down.issuer, {
        form: { csrf: button.csrf },
      });
      const state = new URL(toUpstream.url).searchParams.get('state')!;
      const denied = await start.ua.follow(
        `${down.issuer}/federation/up/callback?error=access_denied&state=${state}`,
        down.issuer,
      );
      assert.equal(denied.res.status, 400);
      assert.match(denied.html ?? '', /Signing in with Upstream did not work/);
      assert.match(denied.html ?? '', /Continue with Upstream/);
      const failed = await down.admin('GET', '/admin/audit-events?type=federation.failed');
      assert.ok(
        failed.body.items.some(
          (e: { data?: { reason?: string } }) => e.data?.reason === 'upstream_error:access_denied',
        ),
      );
    });
  });
}
