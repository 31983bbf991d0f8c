import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startGatehouse, freePort, type RunningGatehouse } from '../support/gatehouse.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Runs `src/main.ts` as a real process, the way `npm start` does; resolves on exit (or kills it after timeoutMs). */
function runMain(
  env: Record<string, string>,
  timeoutMs = 30_000,
): Promise<{ code: number | null; stderr: string; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH!, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    let stdout = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr, stdout });
    });
  });
}

describe('start-up checks', () => {
  it('refuses a bad configuration value, naming the variable', async () => {
    const r = await runMain({ PORT: 'not-a-port' });
    assert.equal(r.code, 78);
    assert.match(r.stderr, /PORT/);
    const r2 = await runMain({ ISSUER: 'localhost:3000/' });
    assert.equal(r2.code, 78);
    assert.match(r2.stderr, /ISSUER/);
    const r3 = await runMain({ DATABASE_URL: 'mysql://x' });
    assert.equal(r3.code, 78);
    assert.match(r3.stderr, /DATABASE_URL/);
    const r4 = await runMain({ TRUSTED_PROXIES: '10.0.0.0/8, proxy.internal' });
    assert.equal(r4.code, 78);
    assert.match(r4.stderr, /TRUSTED_PROXIES: "proxy.internal" is not an IPv4\/IPv6 address or CIDR/);
  });

  describe('embedded data directory lock', () => {
    let gh: RunningGatehouse;
    before(async () => {
      gh = await startGatehouse('pglite');
    });
    after(async () => {
      await gh?.destroy();
    });

    it('refuses to start a second process on the same PGlite directory', async () => {
      const dataDir = gh.env.GATEHOUSE_DATA_DIR!;
      assert.ok(fs.existsSync(path.join(dataDir, 'gatehouse.lock')));
      const r = await runMain({
        GATEHOUSE_DATA_DIR: dataDir,
        GATEHOUSE_KEYS_DIR: gh.env.GATEHOUSE_KEYS_DIR!,
        PORT: String(await freePort()),
        ADMIN_PORT: String(await freePort()),
        LOG_LEVEL: 'silent',
      });
      assert.equal(r.code, 73);
      assert.match(r.stderr, /in use by another Gatehouse process/);
      // The first instance is unaffected.
      assert.equal((await fetch(`${gh.issuer}/readyz`)).status, 200);
    });
  });
});
