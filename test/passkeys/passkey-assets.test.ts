import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { backends } from '../support/backends.js';
import { startGatehouse, type RunningGatehouse } from '../support/gatehouse.js';

/**
 * The passkey scripts come from our own origin (the pages allow `script-src 'self'` only). No
 * storage is involved: one backend is enough.
 */
describe('passkey scripts under /assets/', () => {
  let gh: RunningGatehouse;
  before(async () => {
    gh = await startGatehouse(backends()[0]!);
  });
  after(async () => {
    await gh?.destroy();
  });

  for (const [path, marker] of [
    ['/assets/simplewebauthn-browser.js', /SimpleWebAuthnBrowser/],
    ['/assets/passkey.js', /data-passkey/],
  ] as const) {
    it(`serves ${path} as JavaScript, cacheable, not sniffable`, async () => {
      const res = await fetch(`${gh.issuer}${path}`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'application/javascript; charset=utf-8');
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
      assert.match(res.headers.get('cache-control') ?? '', /^public, max-age=\d+$/);
      assert.match(await res.text(), marker);
      const head = await fetch(`${gh.issuer}${path}`, { method: 'HEAD' });
      assert.equal(head.status, 200);
    });
  }

  it('answers 404 for any other /assets/ path, and serves nothing by POST', async () => {
    for (const path of ['/assets/', '/assets/../package.json', '/assets/passkey.js.map', '/Assets/passkey.js']) {
      const res = await fetch(`${gh.issuer}${path}`);
      assert.equal(res.status, 404, path);
      await res.body?.cancel();
    }
    const post = await fetch(`${gh.issuer}/assets/passkey.js`, { method: 'POST' });
    assert.ok(post.status === 404 || post.status === 405, String(post.status));
    assert.doesNotMatch(await post.text(), /data-passkey/);
  });
});
