import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { backends } from '../support/backends.js';
import { freePort, startGatehouse, type RunningGatehouse } from '../support/gatehouse.js';
import { client, codeFlow, createClient, createUser } from '../support/relying-party.js';
import { UserAgent } from '../support/user-agent.js';

/** Cookie behaviour follows ISSUER, not the request; one backend is enough. */
const backend = backends()[0]!;

/**
 * Signs in through login and consent as a browser would and returns every Set-Cookie line seen.
 * `toServer` maps the issuer's URLs to the plain-HTTP test server (TLS "ends at a proxy").
 */
async function signInCollectingCookies(gh: RunningGatehouse, toServer: (url: string) => string) {
  const fetchVia = (url: string | URL | Request, init?: RequestInit) => fetch(toServer(String(url)), init);
  const setCookies: string[] = [];
  const ua = new UserAgent(async (url, init) => {
    const res = await fetchVia(url, init);
    setCookies.push(...res.headers.getSetCookie());
    return res;
  });
  const app = await createClient(gh);
  const auth = client.ClientSecretBasic(app.client_secret!);
  const config = await client.discovery(new URL(gh.issuer), app.client_id, app.client_secret, auth, {
    execute: [client.allowInsecureRequests],
    [client.customFetch]: fetchVia as never,
  });
  const user = await createUser(gh);
  const flow = await codeFlow(gh, config, { ua, user, scope: 'openid' });
  assert.ok(flow.callbackUrl.searchParams.get('code'), 'the flow reached the callback with a code');
  return setCookies;
}

const cookieName = (line: string) => line.slice(0, line.indexOf('='));
const attributes = (line: string) =>
  line
    .split(';')
    .slice(1)
    .map((a) => a.trim().toLowerCase());

describe(`cookies with an https ISSUER behind a TLS-terminating proxy (${backend})`, () => {
  let gh: RunningGatehouse;
  let issuer: string;
  before(async () => {
    // The server speaks plain HTTP; no proxy header says https: the issuer alone decides.
    const port = await freePort();
    issuer = `https://localhost:${port}`;
    gh = await startGatehouse(backend, { port, env: { ISSUER: issuer } });
  });
  after(async () => {
    await gh?.destroy();
  });

  it('marks every cookie Secure and uses __Host- (session) and __Secure- (per-interaction paths) names', async () => {
    const lines = await signInCollectingCookies(gh, (url) => url.replace(issuer, `http://127.0.0.1:${gh.port}`));
    const names = new Set(lines.map(cookieName));
    const expectedNames = ['__Host-session', '__Secure-interaction', '__Secure-interaction_resume'];
    for (const expected of expectedNames.flatMap((n) => [n, `${n}.sig`])) {
      assert.ok(names.has(expected), `${expected} in ${[...names].join(', ')}`);
    }
    for (const name of names) assert.match(name, /^__(Host|Secure)-/, `unprefixed cookie ${name}`);
    for (const line of lines) {
      const attrs = attributes(line);
      assert.ok(attrs.includes('secure'), `not Secure: ${line}`);
      assert.ok(attrs.includes('httponly'), `not HttpOnly: ${line}`);
      if (line.startsWith('__Host-')) {
        assert.ok(attrs.includes('path=/'), `__Host- needs Path=/: ${line}`);
        assert.ok(!attrs.some((a) => a.startsWith('domain=')), `__Host- forbids Domain: ${line}`);
      }
    }
  });
});

describe(`cookies with an http ISSUER (local development) (${backend})`, () => {
  let gh: RunningGatehouse;
  before(async () => {
    gh = await startGatehouse(backend);
  });
  after(async () => {
    await gh?.destroy();
  });

  it('keeps the plain names and no Secure attribute, so browsers keep them over http', async () => {
    const lines = await signInCollectingCookies(gh, (url) => url);
    const names = new Set(lines.map(cookieName));
    for (const name of ['_session', '_interaction', '_interaction_resume']) {
      assert.ok(names.has(name), `${name} in ${[...names].join(', ')}`);
    }
    for (const line of lines) assert.ok(!attributes(line).includes('secure'), `Secure over http: ${line}`);
  });
});
