import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { backends } from '../support/backends.js';
import { startGatehouse, type RunningGatehouse } from '../support/gatehouse.js';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/gatehouse.mjs');

const web = (redirect_uris: string[], extra: Record<string, unknown> = {}) => ({
  client_name: 'Redirect Test',
  grant_types: ['authorization_code'],
  redirect_uris,
  ...extra,
});

async function refused(gh: RunningGatehouse, method: string, path: string, body: unknown, what: string) {
  const res = await gh.admin(method, path, body);
  assert.equal(res.status, 400, `${what}: ${res.status} ${JSON.stringify(res.body)}`);
  assert.equal(res.body.error, 'invalid_redirect_uri', what);
}

async function accepted(gh: RunningGatehouse, body: unknown, what: string) {
  const res = await gh.admin('POST', '/admin/clients', body);
  assert.equal(res.status, 201, `${what}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { client_id: string };
}

for (const backend of backends()) {
  describe(`redirect URI rules (${backend})`, () => {
    let gh: RunningGatehouse;
    before(async () => {
      gh = await startGatehouse(backend, { env: { ALLOW_HTTP_LOCALHOST_REDIRECTS: 'false' } });
    });
    after(async () => {
      await gh?.destroy();
    });

    it('web clients: https, or http on the loopback IP literals only', async () => {
      await accepted(gh, web(['https://app.example.test/cb']), 'https');
      await accepted(
        gh,
        web(['http://127.0.0.1:8976/cb', 'http://127.0.0.1/cb', 'http://[::1]:8080/cb']),
        'loopback IPs',
      );
      for (const uri of [
        'http://app.example.test/cb',
        'http://localhost:8080/cb',
        'http://10.0.0.5/cb',
        'http://127.0.0.1.example.test/cb',
      ]) {
        await refused(gh, 'POST', '/admin/clients', web([uri]), uri);
      }
    });

    it('no wildcards, no fragments, no private-use schemes for web clients', async () => {
      for (const uri of [
        'https://app.example.test/*',
        'https://*.example.test/cb',
        'https://app.example.test/cb#x',
        'com.example.app:/callback',
      ]) {
        await refused(gh, 'POST', '/admin/clients', web([uri]), uri);
      }
    });

    it('native apps: reverse-domain private-use schemes, claimed https and loopback (RFC 8252)', async () => {
      await accepted(
        gh,
        web(['com.example.app:/callback', 'http://127.0.0.1/cb', 'https://app.example.test/cb'], {
          application_type: 'native',
          token_endpoint_auth_method: 'none',
        }),
        'native',
      );
      for (const uri of [
        'myapp:/callback',
        'http://app.example.test/cb',
        'http://localhost/cb',
        'com.example.app:/cb#x',
      ]) {
        await refused(
          gh,
          'POST',
          '/admin/clients',
          web([uri], { application_type: 'native', token_endpoint_auth_method: 'none' }),
          uri,
        );
      }
    });

    it('post_logout_redirect_uris follow the same rule', async () => {
      await accepted(
        gh,
        web(['https://app.example.test/cb'], {
          post_logout_redirect_uris: ['https://app.example.test/bye', 'http://127.0.0.1/bye'],
        }),
        'ok',
      );
      for (const uri of ['http://app.example.test/bye', 'http://localhost/bye', 'https://app.example.test/*']) {
        await refused(
          gh,
          'POST',
          '/admin/clients',
          web(['https://app.example.test/cb'], { post_logout_redirect_uris: [uri] }),
          uri,
        );
      }
    });

    it('PATCH is checked too and a refused PATCH changes nothing', async () => {
      const c = await accepted(gh, web(['https://app.example.test/cb']), 'create');
      await refused(
        gh,
        'PATCH',
        `/admin/clients/${c.client_id}`,
        { redirect_uris: ['http://app.example.test/cb'] },
        'patch redirect',
      );
      await refused(
        gh,
        'PATCH',
        `/admin/clients/${c.client_id}`,
        { post_logout_redirect_uris: ['http://localhost/bye'] },
        'patch logout',
      );
      // Turning a native client with a private-use scheme into a web client would leave it invalid.
      const n = await accepted(
        gh,
        web(['com.example.app:/cb'], { application_type: 'native', token_endpoint_auth_method: 'none' }),
        'native',
      );
      await refused(gh, 'PATCH', `/admin/clients/${n.client_id}`, { application_type: 'web' }, 'native → web');
      assert.deepEqual((await gh.admin('GET', `/admin/clients/${c.client_id}`)).body.redirect_uris, [
        'https://app.example.test/cb',
      ]);
    });

    it('gatehouse apply reports the refusal and creates nothing', async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-redirects-'));
      try {
        const file = path.join(dir, 'gatehouse.yaml');
        fs.writeFileSync(
          file,
          'clients:\n  - client_name: Plain http app\n    redirect_uris: [http://app.example.test/cb]\n',
        );
        const { GATEHOUSE_ADMIN_TOKEN: _t, GATEHOUSE_ADMIN_KEY: _k, ...inherited } = process.env;
        const result = await new Promise<{ code: number | null; out: string }>((resolve, reject) => {
          const child = spawn(process.execPath, [BIN, 'apply', '-f', file], {
            cwd: dir,
            env: { ...inherited, GATEHOUSE_ADMIN_URL: gh.adminUrl, GATEHOUSE_ADMIN_KEY: gh.adminKey },
            stdio: ['ignore', 'pipe', 'pipe'],
          });
          let out = '';
          child.stdout.on('data', (d) => {
            out += d;
          });
          child.stderr.on('data', (d) => {
            out += d;
          });
          child.on('error', reject);
          child.on('close', (code) => resolve({ code, out }));
        });
        assert.notEqual(result.code, 0, result.out);
        assert.match(result.out, /invalid_redirect_uri|must use https/);
        const list = await gh.admin('GET', '/admin/clients?limit=200');
        const items = (list.body.items ?? list.body.clients ?? list.body) as { client_name?: string }[];
        assert.ok(!items.some((c) => c.client_name === 'Plain http app'), 'no client created');
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe(`http://localhost redirect URIs by default (${backend})`, () => {
    let gh: RunningGatehouse;
    before(async () => {
      gh = await startGatehouse(backend);
    });
    after(async () => {
      await gh?.destroy();
    });

    it(backend === 'pglite' ? 'are allowed in embedded mode' : 'are refused with DATABASE_URL', async () => {
      const res = await gh.admin('POST', '/admin/clients', web(['http://localhost:8080/callback']));
      if (backend === 'pglite') assert.equal(res.status, 201, JSON.stringify(res.body));
      else assert.equal(res.body.error, 'invalid_redirect_uri');
    });
  });

  describe(`ALLOW_HTTP_LOCALHOST_REDIRECTS=true (${backend})`, {
    skip: backend !== 'postgres' && 'the embedded default is already true',
  }, () => {
    let gh: RunningGatehouse;
    before(async () => {
      gh = await startGatehouse(backend, { env: { ALLOW_HTTP_LOCALHOST_REDIRECTS: 'true' } });
    });
    after(async () => {
      await gh?.destroy();
    });

    it('allows http://localhost with PostgreSQL too', async () => {
      await accepted(
        gh,
        web(['http://localhost:8080/callback'], { post_logout_redirect_uris: ['http://localhost:8080/bye'] }),
        'localhost',
      );
    });
  });
}
