import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { backends } from '../support/backends.js';
import { startGatehouse, type RunningGatehouse } from '../support/gatehouse.js';
import { CALLBACK, client, createClient, createUser, discover } from '../support/relying-party.js';
import { UserAgent, formAction, hiddenField } from '../support/user-agent.js';

type User = { id: string; email: string; password: string };

/**
 * A sign-in in a fresh browser as openid-client sends it — without `prompt` unless given —
 * allowing consent when asked. Answers the permissions a consent page listed (none: not asked).
 */
async function signIn(
  gh: RunningGatehouse,
  config: client.Configuration,
  user: User,
  opts: { scope: string; prompt?: string; par?: boolean; ua?: UserAgent },
) {
  const ua = opts.ua ?? new UserAgent();
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const params: Record<string, string> = {
    redirect_uri: CALLBACK,
    scope: opts.scope,
    state,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    ...(opts.prompt ? { prompt: opts.prompt } : {}),
  };
  const url = opts.par
    ? await client.buildAuthorizationUrlWithPAR(config, params)
    : client.buildAuthorizationUrl(config, params);
  let step = await ua.follow(url.toString(), gh.issuer);
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
  return { consentItems, tokens, scopes: tokens.scope?.split(' ').sort() ?? [] };
}

const STAY_SIGNED_IN = 'Stay signed in and access your data while you are away';

for (const backend of backends()) {
  describe(`offline_access without prompt=consent (${backend})`, () => {
    let gh: RunningGatehouse;
    before(async () => {
      gh = await startGatehouse(backend);
    });
    after(async () => {
      await gh?.destroy();
    });

    it('issues a refresh token to a first-party client without prompt=consent', async () => {
      const user = await createUser(gh);
      const config = await discover(gh, await createClient(gh, { first_party: true }));
      const { consentItems, tokens, scopes } = await signIn(gh, config, user, { scope: 'openid offline_access' });
      assert.equal(consentItems, undefined, 'first-party: no consent page');
      assert.ok(tokens.refresh_token, 'a refresh token');
      assert.deepEqual(scopes, ['offline_access', 'openid']);
      const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token!);
      assert.ok(refreshed.access_token);
    });

    it('issues a refresh token to a first-party client through a pushed request (PAR)', async () => {
      const user = await createUser(gh);
      const config = await discover(gh, await createClient(gh, { first_party: true }));
      const { tokens } = await signIn(gh, config, user, { scope: 'openid offline_access', par: true });
      assert.ok(tokens.refresh_token);
    });

    it('keeps a first-party silent request (prompt=none) silent: offline_access only if already granted', async () => {
      const user = await createUser(gh);
      const config = await discover(gh, await createClient(gh, { first_party: true }));
      const ua = new UserAgent();
      await signIn(gh, config, user, { scope: 'openid', ua });
      const silent = async (scope: string) => {
        const verifier = client.randomPKCECodeVerifier();
        const url = client.buildAuthorizationUrl(config, {
          redirect_uri: CALLBACK,
          scope,
          prompt: 'none',
          state: 's',
          code_challenge: await client.calculatePKCECodeChallenge(verifier),
          code_challenge_method: 'S256',
        });
        const step = await ua.follow(url.toString(), gh.issuer);
        const back = new URL(step.url);
        assert.equal(back.searchParams.get('error'), null, `silent request: ${step.url}`);
        return client.authorizationCodeGrant(config, back, { pkceCodeVerifier: verifier, expectedState: 's' });
      };
      const first = await silent('openid offline_access');
      assert.equal(first.refresh_token, undefined, 'the grant lacks offline_access and prompt=none cannot add it');
      // Once granted (an interactive sign-in), silent requests get it too.
      await signIn(gh, config, user, { scope: 'openid offline_access', ua: new UserAgent() });
      assert.ok((await silent('openid offline_access')).refresh_token);
    });

    it('drops offline_access for a third-party client without prompt=consent and no stored offline grant', async () => {
      const user = await createUser(gh);
      const config = await discover(gh, await createClient(gh));
      const { consentItems, tokens, scopes } = await signIn(gh, config, user, { scope: 'openid email offline_access' });
      assert.deepEqual(
        consentItems,
        ['Confirm your identity', 'See your email address'],
        'consent is not asked for offline access',
      );
      assert.equal(tokens.refresh_token, undefined, 'no refresh token');
      assert.deepEqual(scopes, ['email', 'openid']);
    });

    it('keeps offline_access for a third-party client whose stored grant already includes it', async () => {
      const user = await createUser(gh);
      const config = await discover(gh, await createClient(gh));
      const first = await signIn(gh, config, user, { scope: 'openid offline_access', prompt: 'consent' });
      assert.ok(first.consentItems?.includes(STAY_SIGNED_IN));
      assert.ok(first.tokens.refresh_token);
      // A later sign-in, new browser, no prompt=consent: the grant already has offline_access.
      const later = await signIn(gh, config, user, { scope: 'openid offline_access' });
      assert.equal(later.consentItems, undefined);
      assert.ok(later.tokens.refresh_token, 'a refresh token without asking again');
      assert.deepEqual(later.scopes, ['offline_access', 'openid']);
    });

    it('never grants offline_access to a client not allowed refresh tokens', async () => {
      const user = await createUser(gh);
      const config = await discover(
        gh,
        await createClient(gh, { first_party: true, grant_types: ['authorization_code'] }),
      );
      const { tokens, scopes } = await signIn(gh, config, user, { scope: 'openid offline_access' });
      assert.equal(tokens.refresh_token, undefined);
      assert.deepEqual(scopes, ['openid']);
    });
  });
}
