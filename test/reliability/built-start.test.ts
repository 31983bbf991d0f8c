import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { backends, createTestStorage, type TestStorage, tmpRoot } from '../support/backends.js';
import { freePort } from '../support/gatehouse.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function childrenOf(pid: number): number[] {
  try {
    return fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function cmdline(pid: number): string {
  return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
}

/**
 * Issue 16: `npm start` compiles src/ and migrations/ to dist/ (scripts/build.mjs, skipped when
 * nothing changed) and runs `exec node dist/src/main.js` without tsx's loader.
 */
describe('built start (npm start)', () => {
  let storage: TestStorage;
  before(async () => {
    storage = await createTestStorage(backends().includes('postgres') ? 'postgres' : 'pglite');
  });
  after(async () => {
    await storage?.drop();
  });

  it('serves from dist/ as the only process under npm: discovery, views, assets, migrations; SIGTERM to npm drains it', {
    skip: process.platform !== 'linux' && 'reads /proc',
  }, async () => {
    const port = await freePort();
    const adminPort = await freePort();
    const npm = spawn('npm', ['start'], {
      cwd: ROOT,
      env: { ...process.env, ...storage.env, PORT: String(port), ADMIN_PORT: String(adminPort), LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    npm.stdout.on('data', (d) => {
      out += d;
    });
    npm.stderr.on('data', (d) => {
      out += d;
    });
    const exited = new Promise<void>((resolve) => npm.on('exit', () => resolve()));
    try {
      const deadline = Date.now() + 120_000;
      while (!out.includes('gatehouse listening')) {
        assert.ok(Date.now() < deadline && npm.exitCode === null, `not ready:\n${out.slice(-2000)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      // npm's one child is the server itself (the script uses exec), running the built JavaScript.
      const kids = childrenOf(npm.pid!);
      assert.equal(kids.length, 1, `npm's children: ${kids.map(cmdline).join(' | ')}`);
      const server = kids[0]!;
      assert.equal(cmdline(server), 'node dist/src/main.js');
      assert.deepEqual(childrenOf(server), [], 'the server spawns no process');
      assert.doesNotMatch(fs.readFileSync(`/proc/${server}/environ`, 'utf8'), /NODE_OPTIONS=[^\0]*tsx/);

      const base = `http://127.0.0.1:${port}`;
      const discovery = (await (await fetch(`${base}/.well-known/openid-configuration`)).json()) as { issuer: string };
      assert.equal(discovery.issuer, `http://localhost:${port}`);
      // A page rendered from views/ (found from dist/src/http/views.js).
      const missing = await fetch(`${base}/no-such-page`);
      assert.equal(missing.status, 404);
      assert.match(await missing.text(), /<title>Page not found · Gatehouse<\/title>/);
      // An asset from views/assets/.
      const asset = await fetch(`${base}/assets/passkey.js`);
      assert.equal(asset.status, 200);
      assert.equal(await asset.text(), fs.readFileSync(path.join(ROOT, 'views/assets/passkey.js'), 'utf8'));
      if (storage.env.DATABASE_URL) {
        // The migrations ran from dist/migrations/*.js, recorded by name without extension.
        const db = new pg.Client({ connectionString: storage.env.DATABASE_URL });
        await db.connect();
        const { rows } = await db.query<{ name: string }>('select name from knex_migrations order by name');
        await db.end();
        const expected = fs
          .readdirSync(path.join(ROOT, 'migrations'))
          .filter((f) => /^\d{3}_.+\.ts$/.test(f))
          .map((f) => f.slice(0, -3))
          .sort();
        assert.deepEqual(
          rows.map((r) => r.name),
          expected,
        );
      }

      npm.kill('SIGTERM');
      await exited;
      assert.match(out, /shutting down: draining requests/);
      assert.match(out, /"msg":"stopped"/);
      assert.throws(() => process.kill(server, 0), 'the server has exited');
    } finally {
      if (npm.exitCode === null && npm.signalCode === null) {
        for (const pid of childrenOf(npm.pid!)) process.kill(pid, 'SIGKILL');
        npm.kill('SIGKILL');
      }
    }
  });
});

describe('scripts/build.mjs', () => {
  let copy: string;
  before(() => {
    // A copy of what the build reads, so edits here never touch the checkout.
    copy = fs.mkdtempSync(path.join(tmpRoot(), 'build-'));
    for (const entry of ['package.json', 'tsconfig.json', 'scripts', 'src', 'migrations']) {
      fs.cpSync(path.join(ROOT, entry), path.join(copy, entry), { recursive: true });
    }
    fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(copy, 'node_modules'));
  });
  after(() => {
    fs.rmSync(copy, { recursive: true, force: true });
  });

  const build = () => execFileSync(process.execPath, [path.join(copy, 'scripts/build.mjs')], { encoding: 'utf8' });
  const mtime = (rel: string) => fs.statSync(path.join(copy, rel)).mtimeMs;

  it('writes nothing when fresh, recompiles an edited file, and removes outputs whose source is gone', () => {
    build();
    const main = 'dist/src/main.js';
    assert.ok(fs.existsSync(path.join(copy, main)));
    assert.ok(fs.existsSync(path.join(copy, 'dist/migrations/001_core.js')));
    const stamp = mtime('dist/.build-inputs.json');
    const mainTime = mtime(main);

    assert.equal(build(), '', 'a fresh build prints nothing');
    assert.equal(mtime('dist/.build-inputs.json'), stamp, 'a fresh build rewrites nothing');
    assert.equal(mtime(main), mainTime);

    // An edit is compiled on the next run; files it did not change are not rewritten.
    fs.appendFileSync(path.join(copy, 'src/project-paths.ts'), '\nexport const BUILD_PROBE = 16;\n');
    build();
    assert.match(fs.readFileSync(path.join(copy, 'dist/src/project-paths.js'), 'utf8'), /BUILD_PROBE = 16/);
    assert.equal(mtime(main), mainTime);

    // A worker thread entry is compiled beside its caller, where `x.worker.js` is looked up first.
    fs.mkdirSync(path.join(copy, 'src/storage/pglite'), { recursive: true });
    fs.writeFileSync(path.join(copy, 'src/storage/pglite/probe.worker.ts'), 'export const probe: number = 1;\n');
    build();
    assert.match(fs.readFileSync(path.join(copy, 'dist/src/storage/pglite/probe.worker.js'), 'utf8'), /probe = 1/);

    // A migration whose source is removed (or renamed) must not stay runnable from dist/.
    const last = fs
      .readdirSync(path.join(copy, 'migrations'))
      .filter((f) => f.endsWith('.ts'))
      .sort()
      .at(-1)!;
    fs.rmSync(path.join(copy, 'migrations', last));
    build();
    assert.equal(fs.existsSync(path.join(copy, 'dist/migrations', last.replace(/\.ts$/, '.js'))), false);

    // A stray file in dist/ is removed too.
    fs.writeFileSync(path.join(copy, 'dist/migrations/999_stray.js'), 'export async function up() {}\n');
    build();
    assert.equal(fs.existsSync(path.join(copy, 'dist/migrations/999_stray.js')), false);
  });
});
