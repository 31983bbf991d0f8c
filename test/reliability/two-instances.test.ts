import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { backends } from '../support/backends.js';
import { startGatehouse, type RunningGatehouse } from '../support/gatehouse.js';
import { CALLBACK, PASSWORD, client, createClient, createUser } from '../support/relying-party.js';
import { UserAgent, formAction, hiddenField } from '../support/user-agent.js';

/**
 * Two instances on one PostgreSQL + Redis, and every request of a flow sent to the other
 * instance than the one before: nothing may depend on process memory.
 */
describe('two instances, alternating requests (postgres)', {
  skip: !backends().includes('postgres') && 'postgres backend not selected',
}, () => {
  let a: RunningGatehouse;
  let b: RunningGatehouse;
  before(async () => {
    a = await startGatehouse('postgres');
    b = await startGatehouse('postgres', {
      storage: a.storage,
      env: { ISSUER: a.issuer, GATEHOUSE_ADMIN_KEY: a.adminKey },
    });
  });
  after(async () => {
    await b?.stop();
    await a?.destroy();
  });

  let turn = 0;
  /** The same URL on the next instance (both share one issuer; only the port differs). */
  const next = (url: string) => {
    const u = new URL(url);
    u.port = String([a, b][turn++ % 2]!.port);
    return u.toString();
  };

  it('completes login, consent, token, refresh, userinfo, introspection and revocation across instances', async () => {
    const user = await createUser(a);
    const app = await createClient(a);
    const ua = new UserAgent();
    // A relying party whose every HTTP call goes to the other instance.
    const config = await client.discovery(
      new URL(a.issuer),
      app.client_id,
      app.client_secret,
      client.ClientSecretBasic(app.client_secret!),
      {
        execute: [client.allowInsecureRequests],
      },
    );
    config[client.customFetch] = (url, options) => fetch(next(url), options as RequestInit);

    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const authUrl = client.buildAuthorizationUrl(config, {
      redirect_uri: CALLBACK,
      scope: 'openid email offline_access',
      state,
      prompt: 'consent',
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });

    let url = authUrl.toString();
    let callback: URL | undefined;
    for (let hops = 0; hops < 20 && !callback; hops++) {
      const res = await ua.request(next(url));
      const location = res.headers.get('location');
      if (location) {
        url = new URL(location, a.issuer).toString();
        if (url.startsWith(CALLBACK)) callback = new URL(url);
        continue;
      }
      const html = await res.text();
      assert.equal(res.status, 200, html.slice(0, 300));
      const form: Record<string, string> = html.includes('name="password"')
        ? { csrf: hiddenField(html, 'csrf'), email: user.email, password: PASSWORD }
        : { csrf: hiddenField(html, 'csrf'), decision: 'allow' };
      const posted = await ua.request(next(new URL(formAction(html), a.issuer).toString()), { form });
      assert.equal(posted.status, 303, `form post answered ${posted.status}`);
      url = new URL(posted.headers.get('location')!, a.issuer).toString();
    }
    assert.ok(callback?.searchParams.get('code'), 'reached the callback with a code');

    const tokens = await client.authorizationCodeGrant(config, callback!, {
      pkceCodeVerifier: verifier,
      expectedState: state,
    });
    assert.equal(tokens.claims()?.sub, user.id);
    const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token!);
    const info = await client.fetchUserInfo(config, refreshed.access_token, user.id);
    assert.equal(info.email, user.email);
    assert.equal((await client.tokenIntrospection(config, refreshed.refresh_token!)).active, true);
    await client.tokenRevocation(config, refreshed.refresh_token!);
    assert.equal((await client.tokenIntrospection(config, refreshed.refresh_token!)).active, false);
    await assert.rejects(
      client.refreshTokenGrant(config, tokens.refresh_token!),
      (e: Error & { error?: string }) => e.error === 'invalid_grant',
    );
  });
});
