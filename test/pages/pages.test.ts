import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { backends } from '../support/backends.js';
import { startGatehouse, type RunningGatehouse } from '../support/gatehouse.js';
import { CALLBACK, client, createClient, createUser, discover } from '../support/relying-party.js';
import { UserAgent, formAction, hiddenField } from '../support/user-agent.js';
import { Views } from '../../src/http/views.js';

/** Every `<form>` on a page: its action and hidden fields, in page order. */
function forms(html: string): Array<{ action: string; fields: Record<string, string> }> {
  const decodeEntities = (s: string) => s.replace(/&#(\d+);/g, (_, d) => String.fromCharCode(Number(d)));
  return [...html.matchAll(/<form[^>]*action="([^"]+)"[^>]*>([\s\S]*?)<\/form>/g)].map((m) => ({
    action: decodeEntities(m[1]!),
    fields: Object.fromEntries(
      [...m[2]!.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)].map((f) => [
        f[1]!,
        decodeEntities(f[2]!),
      ]),
    ),
  }));
}

async function authorizeUrl(gh: RunningGatehouse, clientId: string, extra: Record<string, string> = {}) {
  const params = new URLSearchParams({
    client_id: clientId,
    response_type: 'code',
    redirect_uri: CALLBACK,
    scope: 'openid email',
    state: 'page-state',
    prompt: 'consent',
    code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
    code_challenge_method: 'S256',
    ...extra,
  });
  return new URL(`/authorize?${params}`, gh.issuer).toString();
}

async function signIn(gh: RunningGatehouse, ua: UserAgent, html: string, user: { email: string; password: string }) {
  return ua.follow(new URL(formAction(html), gh.issuer).toString(), gh.issuer, {
    form: { csrf: hiddenField(html, 'csrf'), email: user.email, password: user.password },
  });
}

describe('views', () => {
  it('fills a template in one pass: text that looks like a placeholder stays text', () => {
    const html = new Views().render('logged-out', 'Signed out', {
      clientSuffix: ' of {{title}} {{{content}}}',
      onwardsHref: '/',
      onwardsLabel: 'Go',
    });
    assert.ok(html.includes('You have been signed out of {{title}} {{{content}}}.'), html);
    assert.equal(html.split('Signed out · Gatehouse').length, 2, 'the title appears once, in <title>');
  });
});

for (const backend of backends()) {
  describe(`pages for people (${backend})`, () => {
    let gh: RunningGatehouse;
    let user: { id: string; email: string; password: string };
    before(async () => {
      gh = await startGatehouse(backend);
      user = await createUser(gh);
    });
    after(async () => {
      await gh?.destroy();
    });

    it('/ is a landing page naming the product and linking discovery and JWKS', async () => {
      const res = await fetch(new URL('/', gh.issuer));
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
      const html = await res.text();
      assert.match(html, /<h1>Gatehouse<\/h1>/);
      assert.match(html, /<title>Welcome · Gatehouse<\/title>/);
      assert.match(html, /href="\/\.well-known\/openid-configuration"/);
      assert.match(html, /href="\/jwks"/);
    });

    it('an unknown path is an HTML 404 page, or JSON for an API caller', async () => {
      const res = await fetch(new URL('/no/such/page', gh.issuer));
      assert.equal(res.status, 404);
      const html = await res.text();
      for (const part of [
        /<html lang="en">/,
        /<title>Page not found · Gatehouse<\/title>/,
        /<main>/,
        /<h1>Page not found<\/h1>/,
        /href="\/">Start again</,
      ]) {
        assert.match(html, part);
      }
      const json = await fetch(new URL('/no/such/page', gh.issuer), { headers: { accept: 'application/json' } });
      assert.equal(json.status, 404);
      assert.match(json.headers.get('content-type') ?? '', /application\/json/);
      assert.equal((await json.json()).error, 'not_found');
    });

    it('an error page says it plainly, folds the detail with the request id, and leads back to the app', async () => {
      const app = await createClient(gh, { client_name: 'Shop', client_uri: 'https://shop.example.test/' });
      const res = await fetch(
        await authorizeUrl(gh, app.client_id, { redirect_uri: 'https://attacker.example.test/cb' }),
        { redirect: 'manual' },
      );
      assert.equal(res.status, 400);
      const html = await res.text();
      assert.match(
        html,
        /<div class="error" role="alert">The application asked to return to an address it has not registered\.<\/div>/,
      );
      assert.match(html, /<a class="button" href="https:\/\/shop\.example\.test\/">Back to Shop<\/a>/);
      const details = /<details>([\s\S]*)<\/details>/.exec(html)?.[1] ?? '';
      assert.match(details, /<summary>Details<\/summary>/);
      assert.match(details, /invalid_redirect_uri/);
      assert.ok(details.includes(res.headers.get('x-request-id')!), 'the request id is in the details');

      const unknown = await (await fetch(await authorizeUrl(gh, 'no-such-client'))).text();
      assert.match(unknown, /<a class="button" href="\/">Start again<\/a>/);
    });

    it('Cancel on the login page returns access_denied to the app; only as a POST with its CSRF token', async () => {
      const app = await createClient(gh);
      const ua = new UserAgent();
      const page = await ua.follow(await authorizeUrl(gh, app.client_id), gh.issuer);
      const cancel = forms(page.html!).find((f) => f.action.endsWith('/abort'))!;
      assert.ok(cancel, 'a Cancel form');
      assert.match(page.html!, /<button type="submit" class="secondary">Cancel<\/button>/);
      const abortUrl = new URL(cancel.action, gh.issuer).toString();

      const get = await ua.request(abortUrl);
      assert.equal(get.status, 405);
      assert.equal(get.headers.get('allow'), 'POST');
      assert.match(await get.text(), /<main>/);

      const forged = await ua.request(abortUrl, { form: { csrf: 'forged' } });
      assert.equal(forged.status, 403);
      await forged.text();

      const done = await ua.follow(abortUrl, gh.issuer, { form: cancel.fields });
      const back = new URL(done.url);
      assert.equal(`${back.origin}${back.pathname}`, CALLBACK);
      assert.equal(back.searchParams.get('error'), 'access_denied');
      assert.equal(back.searchParams.get('state'), 'page-state');
      assert.equal(back.searchParams.get('code'), null);
    });

    it("consent names the API and its scopes in words, with the app's logo, policy and terms", async () => {
      const indicator = `https://orders-${Math.random().toString(36).slice(2)}.example.test`;
      const created = await gh.admin('POST', '/admin/resources', {
        indicator,
        name: 'Orders API',
        scopes: [{ name: 'orders:read', description: 'Read your orders' }, { name: 'orders:write' }],
      });
      assert.equal(created.status, 201);
      const app = await createClient(gh, {
        client_name: 'Shop',
        logo_uri: 'https://cdn.example.test/shop.png',
        policy_uri: 'https://shop.example.test/privacy',
        tos_uri: 'https://shop.example.test/terms',
      });
      const ua = new UserAgent();
      const login = await ua.follow(
        await authorizeUrl(gh, app.client_id, { scope: 'openid orders:read orders:write', resource: indicator }),
        gh.issuer,
      );
      const consent = await signIn(gh, ua, login.html!, user);
      const html = consent.html!;
      assert.match(html, /<li>Use Orders API:<ul><li>Read your orders<\/li><li>orders:write<\/li><\/ul><\/li>/);
      assert.ok(!html.includes(indicator), 'no raw resource indicator');
      assert.match(html, /<img class="client-logo" src="https:\/\/cdn\.example\.test\/shop\.png" alt="">/);
      assert.match(html, /href="https:\/\/shop\.example\.test\/privacy"/);
      assert.match(html, /href="https:\/\/shop\.example\.test\/terms"/);
      assert.match(
        consent.res.headers.get('content-security-policy') ?? '',
        /img-src 'self' data: https:\/\/cdn\.example\.test[;]/,
      );
    });

    it('"Not you? Switch account" signs in someone else before consent, and the code is theirs', async () => {
      const other = await createUser(gh);
      const app = await createClient(gh);
      const config = await discover(gh, app);
      const ua = new UserAgent();
      const verifier = client.randomPKCECodeVerifier();
      const url = client.buildAuthorizationUrl(config, {
        redirect_uri: CALLBACK,
        scope: 'openid email',
        state: 'sw',
        nonce: 'sw-nonce',
        prompt: 'consent',
        code_challenge: await client.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
      });
      const login = await ua.follow(url.toString(), gh.issuer);
      let step = await signIn(gh, ua, login.html!, user);
      assert.match(step.html!, new RegExp(`Signed in as ${user.email.replace(/\./g, '\\.')}`));
      const switchForm = forms(step.html!).find((f) => f.action.endsWith('/switch-account'))!;
      assert.match(step.html!, /Not you\? <button type="submit" class="link">Switch account<\/button>/);
      step = await ua.follow(new URL(switchForm.action, gh.issuer).toString(), gh.issuer, { form: switchForm.fields });
      assert.match(step.html!, /name="password"/, 'the login page again');
      step = await signIn(gh, ua, step.html!, other);
      // oidc-provider ends the first person's session with an auto-submitted form (no JS here: submit it).
      if (step.html?.includes('name="xsrf"')) {
        const [logout] = forms(step.html);
        step = await ua.follow(new URL(logout!.action, gh.issuer).toString(), gh.issuer, { form: logout!.fields });
      }
      assert.match(step.html!, new RegExp(`Signed in as ${other.email.replace(/\./g, '\\.')}`));
      step = await ua.follow(new URL(formAction(step.html!), gh.issuer).toString(), gh.issuer, {
        form: { csrf: hiddenField(step.html!, 'csrf'), decision: 'allow' },
      });
      assert.ok(step.url.startsWith(CALLBACK), step.url);
      const tokens = await client.authorizationCodeGrant(config, new URL(step.url), {
        pkceCodeVerifier: verifier,
        expectedState: 'sw',
        expectedNonce: 'sw-nonce',
        idTokenExpected: true,
      });
      assert.equal(tokens.claims()!.sub, other.id);
    });

    it('the signed-out page links onwards', async () => {
      const res = await fetch(new URL('/logout/success', gh.issuer));
      assert.equal(res.status, 200);
      assert.match(await res.text(), /<a class="button" href="\/">Continue<\/a>/);
    });

    it('a client name that looks like a placeholder is shown as written', async () => {
      const app = await createClient(gh, { client_name: '{{title}} {{csrf}}' });
      const page = await new UserAgent().follow(await authorizeUrl(gh, app.client_id), gh.issuer);
      assert.match(page.html!, /<h1>Sign in to \{\{title\}\} \{\{csrf\}\}<\/h1>/);
    });
  });
}
