import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createTestStorage, type BackendName, type TestStorage } from '../../test/support/backends.js';
import { alternatingLoad, type AlternatingOptions, type AlternatingSide } from '../support/alternating-load.js';
import { ROOT, type ChildServer } from '../support/child-server.js';
import { backendLabel, type BenchContext } from '../support/context.js';
import { FORM, RESOURCE, basicAuth, prepareFixture } from '../support/gatehouse-fixture.js';
import { startGatehouseInstances } from '../support/gatehouse-server.js';
import { measure } from '../support/load.js';
import { rowFrom } from '../support/report.js';
import { FRESH_SERVER_WARMUP_FACTOR } from '../support/settings.js';

/** One turn of one instance; the first SETTLE_MS of it are not counted. */
const SLICE_MS = 1000;
/**
 * Longer than the audit writer's flush interval (200 ms) plus a write: the batch the audit-on
 * instance writes after its turn ends is written while nothing is counted.
 */
const SETTLE_MS = 250;
/** Uncounted pairs first. */
const WARMUP_PAIRS = 2;

/** `on-discard`: audit on, events recorded and encoded but never written (bench/instances-process.ts). */
type Mode = 'on' | 'off' | 'off-b' | 'on-discard';

/**
 * What the audit log costs the token endpoint: client_credentials JWT on Gatehouse instances alike
 * but for AUDIT_LOG_ENABLED, each on fresh storage of `backend`, all in one process (two processes
 * of the same code differ on this machine by more than the effect measured). Load alternates
 * between the audit-on and the audit-off instance in 1 s turns over connections kept open to both,
 * BENCH_AUDIT_ROUNDS pairs; the verdict is the median of the pairs' on ÷ off ratios. Then the same
 * procedure for an audit-on instance that never writes its batches against the audit-off one (the
 * event loop's share), between two audit-off instances (the check's noise), and on PostgreSQL the
 * audit-off instance with and without another process writing the audit-on rate of rows into its
 * database.
 */
export async function benchAuditCost(ctx: BenchContext, backend: BackendName): Promise<void> {
  const { settings } = ctx;
  const label = `Gatehouse, ${backendLabel(backend)}`;
  ctx.progress(`${label}: audit on / off, preparing storage`);
  const storages: Partial<Record<Mode, TestStorage>> = {};
  let server: ChildServer | undefined;
  try {
    const modes: Mode[] = ['on', 'off', 'off-b', 'on-discard'];
    for (const mode of modes) {
      const storage = await createTestStorage(backend);
      ctx.storages.add(storage);
      storages[mode] = storage;
    }
    const started = await startGatehouseInstances(
      ctx,
      `gatehouse-${backend}-audit`,
      modes.map((mode) => ({
        storage: storages[mode]!,
        env: {
          AUDIT_LOG_ENABLED: mode.startsWith('on') ? 'true' : 'false',
          ...(mode === 'on-discard' ? { BENCH_AUDIT_WRITES: 'discard' } : {}),
        },
      })),
    );
    server = started.server;
    const sides = {} as Record<Mode, AlternatingSide>;
    for (const [i, mode] of modes.entries()) {
      const gh = started.ghs[i]!;
      const { machine } = await prepareFixture(gh);
      sides[mode] = {
        url: `${gh.publicUrl}/token`,
        method: 'POST',
        pid: server.pid,
        headers: { 'content-type': FORM, authorization: basicAuth(machine) },
        body: `grant_type=client_credentials&resource=${encodeURIComponent(RESOURCE)}&scope=read`,
      };
      if (settings.warmupSeconds > 0) {
        await measure({
          ...sides[mode],
          connections: settings.connections,
          seconds: FRESH_SERVER_WARMUP_FACTOR * settings.warmupSeconds,
        });
      }
    }
    const options = (what: string, names: [string, string]): AlternatingOptions => ({
      connections: settings.connections,
      sliceMs: SLICE_MS,
      settleMs: SETTLE_MS,
      pairs: settings.auditRounds,
      warmupPairs: WARMUP_PAIRS,
      onPair: (pair, a, b) =>
        ctx.progress(
          `${backend}: client_credentials JWT, ${what} (${pair}/${settings.auditRounds}): ${names[0]} ${Math.round(a)}/s, ${names[1]} ${Math.round(b)}/s`,
        ),
    });

    const main = await alternatingLoad(sides.on, sides.off, options('audit on / off', ['on', 'off']));
    const note = `mean of ${main.ratios.length} × ${(SLICE_MS - SETTLE_MS) / 1000} s windows, 1 s turns alternating on / off in one process`;
    ctx.results.rows.push(rowFrom('client_credentials, JWT — audit log on', label, 'req/s', main.a, [note]));
    ctx.results.rows.push(rowFrom('client_credentials, JWT — audit log off', label, 'req/s', main.b, [note]));
    ctx.results.auditCost[backend] = { on: main.a, off: main.b, ratios: main.ratios };
    for (const r of [main.a, main.b])
      if (r.failed + r.errors) throw new Error(`${r.failed + r.errors} requests failed during the audit pair`);

    // The same audit work on the event loop, with nothing written: Gatehouse's own share.
    const discard = await alternatingLoad(
      sides['on-discard'],
      sides.off,
      options('audit on but not written / off', ['not written', 'off']),
    );
    ctx.results.auditDiscard[backend] = discard.ratios;

    // Nothing to tell apart: what the same procedure reads between two audit-off instances.
    const self = await alternatingLoad(
      sides.off,
      sides['off-b'],
      options('audit off / off, self-check', ['off', 'off-b']),
    );
    ctx.results.auditSelfCheck[backend] = self.ratios;

    // A separate process (PGlite is one process's database) writing the audit-on rate of rows
    // into the audit-off instance's database during every other turn: the database's share.
    if (backend === 'postgres') {
      const writer = await startRowWriter(storages.off!, main.a.rps);
      try {
        const control = await alternatingLoad(
          { ...sides.off, onTurn: () => writer.send('start') },
          { ...sides.off, onTurn: () => writer.send('pause') },
          options(`audit off, with / without ${Math.round(main.a.rps)} rows/s written by another process`, [
            'with',
            'without',
          ]),
        );
        if (writer.exitCode !== null)
          throw new Error(`audit row writer exited (${writer.exitCode}) during the control`);
        ctx.results.auditControl = control.ratios;
      } finally {
        await stopRowWriter(writer);
      }
    }
  } catch (err) {
    if (server) ctx.progress(`${label}, audit on / off failed; last lines of the server log:\n${server.logTail(15)}`);
    throw new Error(`${label}, audit on / off: ${(err as Error).message}`, { cause: err });
  } finally {
    await server?.stop();
    for (const storage of Object.values(storages)) {
      await storage.drop();
      ctx.storages.delete(storage);
    }
  }
}

/** bench/audit-row-writer.ts on `storage`'s database at `rowsPerSecond`, paused; resolves once it is connected. */
async function startRowWriter(storage: TestStorage, rowsPerSecond: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench/audit-row-writer.ts')], {
    cwd: ROOT,
    env: {
      ...process.env,
      DATABASE_URL: storage.env.DATABASE_URL,
      AUDIT_ROWS_PER_SECOND: String(Math.round(rowsPerSecond)),
    },
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`audit row writer exited (${code}) before it was ready`)));
  });
  return child;
}

async function stopRowWriter(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}
