import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { backends } from '../support/backends.js';
import { startGatehouse, type RunningGatehouse } from '../support/gatehouse.js';
import {
  CALLBACK,
  authorizationRequest,
  client,
  createClient,
  createUser,
  discover,
  redeemCode,
} from '../support/relying-party.js';
import { UserAgent, formAction, hiddenField } from '../support/user-agent.js';

/**
 * Browser session lifetimes over real HTTP with openid-client: the "Stay signed in" cookie, the
 * absolute end from sign-in (silent prompt=none never moves it), the idle end, and refresh-token
 * chains that keep their own absolute end through silent sign-ins. The provider's clock is the
 * wall clock (oidc-provider reads Date.now), so the lifetimes are seconds long and the scenarios
 * run side by side.
 */
const ABSOLUTE = 6;
const IDLE = 3;
const REFRESH_CHAIN = 4;

/** A browser that also keeps every session Set-Cookie line it was sent, with when it came. */
function recordingBrowser() {
  const sessionCookies: Array<{ line: string; at: number }> = [];
  const ua = new UserAgent(async (url, init) => {
    const res = await fetch(url, init);
    for (const line of res.headers.getSetCookie())
      if (line.startsWith('_session=')) sessionCookies.push({ line, at: Date.now() });
    return res;
  });
  return { ua, sessionCookies };
}

const expiresOf = (line: string) => {
  const m = /;\s*expires=([^;]+)/i.exec(line);
  return m ? Date.parse(m[1]!) : undefined;
};

/** An interactive sign-in through the login page, ticking "Stay signed in" or not; returns the callback. */
async function signIn(
  gh: RunningGatehouse,
  config: client.Configuration,
  ua: UserAgent,
  user: { email: string; password: string },
  stay: boolean,
  params: Record<string, string> = {},
) {
  const request = await authorizationRequest(config, { scope: 'openid email offline_access', ...params });
  let step = await ua.follow(request.url.toString(), gh.issuer);
  const html = step.html ?? '';
  // The checkbox is labelled exactly "Stay signed in", inside the password form, unticked by default.
  const box = new RegExp(
    '<label class="check" for="remember">\\s*<input id="remember" type="checkbox" name="remember" value="yes"( checked)?>' +
      '\\s*Stay signed in\\s*</label>',
  ).exec(html);
  assert.ok(box, 'the sign-in page has a "Stay signed in" checkbox');
  assert.equal(box[1], undefined, 'unticked by default');
  assert.ok(html.indexOf(box[0]) < html.indexOf('<button type="submit">Sign in</button>'), 'inside the password form');
  step = await ua.follow(new URL(formAction(html), gh.issuer).toString(), gh.issuer, {
    form: {
      csrf: hiddenField(html, 'csrf'),
      email: user.email,
      password: user.password,
      ...(stay ? { remember: 'yes' } : {}),
    },
  });
  assert.ok(step.url.startsWith(CALLBACK), `sign-in reaches the callback: ${step.res.status} ${step.url}`);
  return { callbackUrl: new URL(step.url), request };
}

/** A silent (prompt=none) authorization request: the code, or the error it answered. */
async function silent(gh: RunningGatehouse, config: client.Configuration, ua: UserAgent) {
  const request = await authorizationRequest(config, { prompt: 'none', scope: 'openid email' });
  const step = await ua.follow(request.url.toString(), gh.issuer);
  assert.ok(step.url.startsWith(CALLBACK), `silent request ends at the callback: ${step.res.status} ${step.url}`);
  const url = new URL(step.url);
  return { error: url.searchParams.get('error'), code: url.searchParams.get('code'), url, request };
}

for (const backend of backends()) {
  describe(`session lifetimes (${backend})`, { concurrency: true }, () => {
    let gh: RunningGatehouse;
    let config: client.Configuration;
    before(async () => {
      gh = await startGatehouse(backend, {
        env: {
          SESSION_TTL_SECONDS: String(ABSOLUTE),
          SESSION_IDLE_TTL_SECONDS: String(IDLE),
          REFRESH_TOKEN_ABSOLUTE_TTL_SECONDS: String(REFRESH_CHAIN),
        },
      });
      // First party: consent is implied, so every sign-in goes straight back to the client.
      config = await discover(gh, await createClient(gh, { first_party: true }));
    });
    after(async () => {
      await gh?.destroy();
    });

    it('"Stay signed in" unticked: a browser-session cookie (no Expires or Max-Age)', async () => {
      const user = await createUser(gh);
      const { ua, sessionCookies } = recordingBrowser();
      await signIn(gh, config, ua, user, false);
      assert.ok(sessionCookies.length > 0, 'a session cookie was set');
      for (const { line } of sessionCookies) assert.doesNotMatch(line, /expires=|max-age=/i, line);
      // Still a session: a silent request signs in, and its cookie stays a browser-session one.
      assert.equal((await silent(gh, config, ua)).error, null);
      for (const { line } of sessionCookies) assert.doesNotMatch(line, /expires=|max-age=/i, line);

      // Signing in again, ticked this time, makes the cookie persistent.
      sessionCookies.length = 0;
      await signIn(gh, config, ua, user, true, { prompt: 'login' });
      const last = sessionCookies.at(-1)!.line;
      assert.ok(expiresOf(last) !== undefined, `persistent after ticking: ${last}`);
    });

    it('"Stay signed in" ticked: a persistent cookie that ends no later than the session', async () => {
      const user = await createUser(gh);
      const { ua, sessionCookies } = recordingBrowser();
      const signedInAt = Date.now();
      await signIn(gh, config, ua, user, true);
      assert.ok(sessionCookies.length > 0);
      for (const { line, at } of sessionCookies) {
        const expires = expiresOf(line);
        assert.ok(expires !== undefined, `Expires on ${line}`);
        assert.doesNotMatch(line, /max-age=/i);
        // The idle end (the sooner one here); never past the absolute end.
        assert.ok(expires <= at + IDLE * 1000 + 1000, `${line} ends within the idle time`);
        assert.ok(expires <= signedInAt + ABSOLUTE * 1000 + 1000);
      }
    });

    it('prompt=none works within the limits but never past the absolute end, even when used constantly', async () => {
      const user = await createUser(gh);
      const { ua, sessionCookies } = recordingBrowser();
      const signedIn = await signIn(gh, config, ua, user, true);
      const first = await redeemCode(config, signedIn.callbackUrl, signedIn.request);
      const authTime = first.claims()!.auth_time!;
      const absoluteEnd = (authTime + ABSOLUTE) * 1000;
      // Used every second (the idle limit is never hit) until the absolute end.
      while (Date.now() < absoluteEnd - 1200) {
        await sleep(1000);
        const answer = await silent(gh, config, ua);
        assert.equal(answer.error, null, `silent sign-in at +${Date.now() - authTime * 1000} ms`);
        const tokens = await redeemCode(config, answer.url, answer.request);
        assert.equal(tokens.claims()!.auth_time, authTime, 'a silent sign-in is not a new sign-in');
      }
      // No silent request pushed the cookie (or the session) past the end counted from sign-in.
      for (const { line } of sessionCookies) assert.ok(expiresOf(line)! <= absoluteEnd, line);
      await sleep(Math.max(0, absoluteEnd - Date.now()) + 1100);
      assert.equal((await silent(gh, config, ua)).error, 'login_required');

      // An interactive sign-in starts a new period.
      await signIn(gh, config, ua, user, true);
      assert.equal((await silent(gh, config, ua)).error, null);
    });

    it('a session unused for the idle time is gone: prompt=none answers login_required', async () => {
      const user = await createUser(gh);
      const { ua } = recordingBrowser();
      await signIn(gh, config, ua, user, true);
      await sleep((IDLE + 1) * 1000);
      assert.equal((await silent(gh, config, ua)).error, 'login_required');
    });

    it('a refresh-token chain keeps its absolute end through silent sign-ins', async () => {
      const user = await createUser(gh);
      const { ua } = recordingBrowser();
      const signedIn = await signIn(gh, config, ua, user, true);
      const first = await redeemCode(config, signedIn.callbackUrl, signedIn.request);
      const chainEnd = (first.claims()!.auth_time! + REFRESH_CHAIN) * 1000;
      let refreshToken = first.refresh_token!;
      assert.ok(refreshToken, 'the sign-in gave a refresh token');
      while (Date.now() < chainEnd - 1200) {
        await sleep(1000);
        const answer = await silent(gh, config, ua);
        assert.equal(answer.error, null);
        await redeemCode(config, answer.url, answer.request);
        refreshToken = (await client.refreshTokenGrant(config, refreshToken)).refresh_token!;
      }
      await sleep(Math.max(0, chainEnd - Date.now()) + 1100);
      // The session still lives (its absolute end is later), the chain does not.
      assert.equal((await silent(gh, config, ua)).error, null);
      await assert.rejects(client.refreshTokenGrant(config, refreshToken), (err: { error?: string }) => {
        assert.equal(err.error, 'invalid_grant');
        return true;
      });
    });
  });
}
