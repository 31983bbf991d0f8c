import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { backends } from '../support/backends.js';
import { startGatehouse, type RunningGatehouse } from '../support/gatehouse.js';
import { CALLBACK, client, createClient, createUser } from '../support/relying-party.js';
import { UserAgent, formAction, hiddenField } from '../support/user-agent.js';

/** Issue 12 §1.9: security headers on the provider's own responses (form_post page, JSON). */
for (const backend of backends()) {
  describe(`protocol response headers (${backend})`, () => {
    let gh: RunningGatehouse;
    before(async () => {
      gh = await startGatehouse(backend);
    });
    after(async () => {
      await gh?.destroy();
    });

    it('the form_post page allows exactly its own auto-submit script and cannot be framed', async () => {
      const user = await createUser(gh);
      const app = await createClient(gh);
      const ua = new UserAgent();
      const params = new URLSearchParams({
        client_id: app.client_id,
        response_type: 'code',
        redirect_uri: CALLBACK,
        scope: 'openid',
        state: 's',
        response_mode: 'form_post',
        code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
        code_challenge_method: 'S256',
      });
      let step = await ua.follow(new URL(`/authorize?${params}`, gh.issuer).toString(), gh.issuer);
      step = await ua.follow(new URL(formAction(step.html!), gh.issuer).toString(), gh.issuer, {
        form: { csrf: hiddenField(step.html!, 'csrf'), email: user.email, password: user.password },
      });
      step = await ua.follow(new URL(formAction(step.html!), gh.issuer).toString(), gh.issuer, {
        form: { csrf: hiddenField(step.html!, 'csrf'), decision: 'allow' },
      });
      assert.equal(step.res.status, 200);
      assert.match(step.html!, new RegExp(`action="${CALLBACK}"`));
      const csp = step.res.headers.get('content-security-policy') ?? '';
      assert.match(csp, /frame-ancestors 'none'/);
      assert.match(csp, /default-src 'none'/);
      const script = /<script>([\s\S]*?)<\/script>/.exec(step.html!)![1]!;
      const hash = createHash('sha256').update(script).digest('base64');
      const scriptSrc = csp
        .split(';')
        .map((d) => d.trim())
        .find((d) => d.startsWith('script-src'));
      assert.equal(scriptSrc, `script-src 'sha256-${hash}'`, 'only the hash of the auto-submit script');
      assert.equal(step.res.headers.get('x-frame-options'), 'DENY');
      assert.equal(step.res.headers.get('x-content-type-options'), 'nosniff');
    });

    it('JSON answers of the provider carry nosniff', async () => {
      for (const res of [
        await fetch(new URL('/.well-known/openid-configuration', gh.issuer)),
        await fetch(new URL('/jwks', gh.issuer)),
        await fetch(new URL('/token', gh.issuer), {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: 'grant_type=x',
        }),
      ]) {
        assert.match(res.headers.get('content-type') ?? '', /json/);
        assert.equal(res.headers.get('x-content-type-options'), 'nosniff', res.url);
      }
    });

    it('provider error pages cannot be framed', async () => {
      const res = await fetch(new URL('/authorize?client_id=nope', gh.issuer));
      assert.equal(res.status, 400);
      assert.match(res.headers.get('content-type') ?? '', /text\/html/);
      assert.match(res.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
    });
  });
}
