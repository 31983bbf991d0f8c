import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { backends } from '../support/backends.js';
import { startGatehouse, type RunningGatehouse } from '../support/gatehouse.js';
import { CALLBACK, client, codeFlow, createClient, createUser, discover } from '../support/relying-party.js';
import { UserAgent, formAction, hiddenField } from '../support/user-agent.js';

type User = { id: string; email: string; password: string };

/**
 * One sign-in in a fresh browser (its own cookie jar), as openid-client builds the request:
 * signs in, allows consent if a consent page comes, and redeems the code.
 * Answers whether consent was asked and, if so, the permissions the page listed.
 */
async function signInFreshBrowser(gh: RunningGatehouse, config: client.Configuration, user: User, scope: string) {
  const ua = new UserAgent();
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: CALLBACK,
    scope,
    state,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  });
  let step = await ua.follow(url.toString(), gh.issuer);
  assert.ok(step.html?.includes('name="password"'), 'a new browser signs in');
  step = await ua.follow(new URL(formAction(step.html!), gh.issuer).toString(), gh.issuer, {
    form: { csrf: hiddenField(step.html!, 'csrf'), email: user.email, password: user.password },
  });
  let consentItems: string[] | undefined;
  if (step.html?.includes('name="decision"')) {
    consentItems = [...step.html.matchAll(/<li>([^<]*)<\/li>/g)].map((m) => m[1]!);
    step = await ua.follow(new URL(formAction(step.html), gh.issuer).toString(), gh.issuer, {
      form: { csrf: hiddenField(step.html, 'csrf'), decision: 'allow' },
    });
  }
  assert.ok(step.url.startsWith(CALLBACK), `reaches the callback: ${step.res.status} ${step.url}`);
  const tokens = await client.authorizationCodeGrant(config, new URL(step.url), {
    pkceCodeVerifier: verifier,
    expectedState: state,
  });
  return { consentAsked: consentItems !== undefined, consentItems: consentItems ?? [], tokens };
}

for (const backend of backends()) {
  describe(`consent is remembered across browser sessions (${backend})`, () => {
    let gh: RunningGatehouse;
    before(async () => {
      gh = await startGatehouse(backend);
    });
    after(async () => {
      await gh?.destroy();
    });

    it('asks once; a new browser session for the same user and client finds the grant', async () => {
      const user = await createUser(gh);
      const config = await discover(gh, await createClient(gh));
      const first = await signInFreshBrowser(gh, config, user, 'openid email');
      assert.equal(first.consentAsked, true, 'the first sign-in asks');
      const second = await signInFreshBrowser(gh, config, user, 'openid email');
      assert.equal(second.consentAsked, false, 'a new session for the same user and client does not ask again');
      assert.deepEqual(second.tokens.scope?.split(' ').sort(), ['email', 'openid']);
      assert.equal(second.tokens.claims()?.sub, user.id);
    });

    it('asks only for newly requested scopes, and remembers those too', async () => {
      const user = await createUser(gh);
      const config = await discover(gh, await createClient(gh));
      await signInFreshBrowser(gh, config, user, 'openid email');
      const wider = await signInFreshBrowser(gh, config, user, 'openid email profile');
      assert.equal(wider.consentAsked, true, 'a scope the grant lacks still prompts');
      assert.deepEqual(wider.consentItems, ['See your name']);
      const again = await signInFreshBrowser(gh, config, user, 'openid email profile');
      assert.equal(again.consentAsked, false);
    });

    it('is per user and per client', async () => {
      const alice = await createUser(gh);
      const bob = await createUser(gh);
      const app = await discover(gh, await createClient(gh));
      const other = await discover(gh, await createClient(gh));
      await signInFreshBrowser(gh, app, alice, 'openid email');
      assert.equal(
        (await signInFreshBrowser(gh, app, bob, 'openid email')).consentAsked,
        true,
        'another user is asked',
      );
      assert.equal(
        (await signInFreshBrowser(gh, other, alice, 'openid email')).consentAsked,
        true,
        'another client is asked',
      );
    });

    it('asks again after the grant is removed ("Remove access")', async () => {
      const user = await createUser(gh);
      const config = await discover(gh, await createClient(gh));
      const first = await signInFreshBrowser(gh, config, user, 'openid email');
      const grants = await gh.admin('GET', `/admin/users/${user.id}/grants`);
      assert.equal(grants.body.items.length, 1, JSON.stringify(grants.body));
      assert.equal((await gh.admin('DELETE', `/admin/users/${user.id}/grants/${grants.body.items[0].id}`)).status, 204);
      assert.deepEqual(await client.tokenIntrospection(config, first.tokens.access_token), { active: false });
      assert.equal(
        (await signInFreshBrowser(gh, config, user, 'openid email')).consentAsked,
        true,
        'the next sign-in asks again',
      );
      assert.equal(
        (await signInFreshBrowser(gh, config, user, 'openid email')).consentAsked,
        false,
        'and the new grant is remembered',
      );
    });

    it('carries the consent, not the token family: a code replayed in one browser leaves the other signed in', async () => {
      const user = await createUser(gh);
      const config = await discover(gh, await createClient(gh, { first_party: true }));
      const first = await signInFreshBrowser(gh, config, user, 'openid offline_access');
      assert.ok(first.tokens.refresh_token);
      // Another browser signs in (consent carried over) and its code is replayed: that grant dies.
      const second = await codeFlow(gh, config, { user, scope: 'openid offline_access', extra: { prompt: 'login' } });
      const redeem = () =>
        client.authorizationCodeGrant(config, second.callbackUrl, {
          pkceCodeVerifier: second.verifier,
          expectedState: second.state,
          expectedNonce: second.nonce,
        });
      const secondTokens = await redeem();
      await assert.rejects(redeem(), (e: Error & { error?: string }) => e.error === 'invalid_grant');
      await assert.rejects(
        client.refreshTokenGrant(config, secondTokens.refresh_token!),
        (e: Error & { error?: string }) => e.error === 'invalid_grant',
        'the replay revoked what its own code issued',
      );
      // The first browser's tokens were issued under another grant and live on.
      const refreshed = await client.refreshTokenGrant(config, first.tokens.refresh_token!);
      assert.ok(refreshed.refresh_token);
    });
  });
}
