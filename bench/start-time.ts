/**
 * Start-up and memory (issue 16): starts Gatehouse N times per backend the way users do
 * (`npm start` from the checkout, or any command in START_COMMAND) and reports medians of
 *  - start to ready: from spawn until GET /readyz answers 200;
 *  - the process tree kept alive under the spawned command, with the RSS of each process;
 *  - the server's RSS and VmHWM (peak RSS) right after ready, and again after a short load
 *    (START_LOAD_SECONDS of client_credentials token requests; 0 skips it).
 *
 *   node --import tsx bench/start-time.ts                 # 5 runs per backend, `npm start`
 *   START_RUNS=7 START_BACKENDS=pglite-first,pglite,postgres START_COMMAND="node --import tsx src/main.ts" …
 *   START_DIR=/tmp/before …                               # the same, in another checkout
 *
 * Backends: pglite-first (a fresh GATEHOUSE_DATA_DIR every run: creates the database and runs the
 * migrations), pglite (a data directory started once before), postgres (PostgreSQL + Redis, a
 * fresh database and key prefix, migrated once before). Pinned to CPU 0 with taskset when it is
 * there (START_PIN=0 turns that off). Linux only (reads /proc).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTestStorage, type TestStorage } from '../test/support/backends.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const RUNS = Number(process.env.START_RUNS ?? 5);
const BACKENDS = (process.env.START_BACKENDS ?? 'pglite-first,pglite,postgres').split(',').map((s) => s.trim());
const COMMAND = process.env.START_COMMAND ?? 'npm start';
const LOAD_SECONDS = Number(process.env.START_LOAD_SECONDS ?? 5);
const PIN = process.env.START_PIN !== '0' && hasTaskset();
const PORT = 39_300;
/** Where the command runs: this checkout unless START_DIR names another (e.g. an export of the previous commit). */
const DIR = path.resolve(process.env.START_DIR ?? ROOT);

function hasTaskset(): boolean {
  try {
    execFileSync('taskset', ['-c', '0', 'true']);
    return true;
  } catch {
    return false;
  }
}

interface Proc {
  pid: number;
  name: string;
  cmd: string;
  rssMiB: number;
  hwmMiB: number;
}

function readProc(pid: number): Proc | undefined {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
    const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
    const name = /^Name:\s+(.*)$/m.exec(status)?.[1] ?? '?';
    return { pid, name, cmd, rssMiB: kb('VmRSS') / 1024, hwmMiB: kb('VmHWM') / 1024 };
  } catch {
    return undefined;
  }
}

function childrenOf(pid: number): number[] {
  try {
    return fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** The spawned process and every descendant, parents first. */
function tree(pid: number): Proc[] {
  const out: Proc[] = [];
  const walk = (p: number) => {
    const info = readProc(p);
    if (info) out.push(info);
    for (const c of childrenOf(p)) walk(c);
  };
  walk(pid);
  return out;
}

/** The process that listens: the deepest node process of the tree. */
function serverOf(procs: Proc[]): Proc | undefined {
  return procs.filter((p) => p.name === 'node' || p.name === 'MainThread').at(-1) ?? procs.at(-1);
}

async function ready(url: string, deadline: number): Promise<void> {
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url);
      await res.arrayBuffer();
      if (res.status === 200) return;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`not ready within the deadline: ${url}`);
}

function stop(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode);
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
    child.kill(signal);
  });
}

interface Run {
  readyMs: number;
  procs: Proc[];
  server: Proc;
  afterLoad?: Proc;
  exitCode: number | null;
  /** Processes still running 15 s after the spawned command exited on SIGTERM. */
  orphans: number;
}

async function adminClient(env: Record<string, string>): Promise<{ id: string; secret: string } | undefined> {
  const key = fs.readFileSync(path.join(env.GATEHOUSE_KEYS_DIR as string, 'admin-key'), 'utf8').trim();
  const res = await fetch(`http://127.0.0.1:${PORT + 1}/admin/clients`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      client_name: 'start-bench',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
    }),
  });
  if (!res.ok) {
    process.stderr.write(`  (no load: creating a client answered ${res.status} ${await res.text()})\n`);
    return undefined;
  }
  const body = (await res.json()) as { client_id: string; client_secret: string };
  return { id: body.client_id, secret: body.client_secret };
}

async function load(env: Record<string, string>): Promise<void> {
  const client = await adminClient(env);
  if (!client) return;
  const auth = `Basic ${Buffer.from(`${client.id}:${client.secret}`).toString('base64')}`;
  const until = Date.now() + LOAD_SECONDS * 1000;
  const worker = async () => {
    while (Date.now() < until) {
      const res = await fetch(`http://127.0.0.1:${PORT}/token`, {
        method: 'POST',
        headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' },
        body: 'grant_type=client_credentials',
      });
      await res.arrayBuffer();
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
}

async function startOnce(env: Record<string, string>, withLoad: boolean): Promise<Run> {
  const command = COMMAND.split(' ');
  const argv = PIN ? ['taskset', '-c', '0', ...command] : command;
  const started = performance.now();
  const child: ChildProcess = spawn(argv[0] as string, argv.slice(1), {
    cwd: DIR,
    env: {
      ...process.env,
      ...env,
      PORT: String(PORT),
      ADMIN_PORT: String(PORT + 1),
      ISSUER: `http://localhost:${PORT}`,
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  try {
    await ready(`http://127.0.0.1:${PORT}/readyz`, Date.now() + 60_000);
    const readyMs = performance.now() - started;
    await new Promise((r) => setTimeout(r, 300));
    const procs = tree(child.pid as number);
    const server = serverOf(procs) as Proc;
    let afterLoad: Proc | undefined;
    if (withLoad && LOAD_SECONDS > 0) {
      await load(env);
      await new Promise((r) => setTimeout(r, 500));
      afterLoad = readProc(server.pid);
    }
    const exitCode = await stop(child);
    // Whatever the spawned command left running past its own exit (a server that outlives npm).
    const deadline =
      Date.now() + (process.env.START_ORPHAN_WAIT_MS ? Number(process.env.START_ORPHAN_WAIT_MS) : 15_000);
    let left = procs.filter((p) => fs.existsSync(`/proc/${p.pid}`));
    while (left.length && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
      left = left.filter((p) => fs.existsSync(`/proc/${p.pid}`));
    }
    // Reported, then stopped here so the next run can listen.
    const orphans = left.length;
    for (const p of left) process.kill(p.pid, 'SIGTERM');
    for (let i = 0; i < 500 && left.some((p) => fs.existsSync(`/proc/${p.pid}`)); i++)
      await new Promise((r) => setTimeout(r, 20));
    for (const p of left) if (fs.existsSync(`/proc/${p.pid}`)) process.kill(p.pid, 'SIGKILL');
    return { readyMs, procs, server, afterLoad, exitCode, orphans };
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const at = (i: number) => s[i] as number;
  return s.length % 2 ? at((s.length - 1) / 2) : (at(s.length / 2 - 1) + at(s.length / 2)) / 2;
};
const f0 = (x: number) => x.toFixed(0);

async function main(): Promise<void> {
  process.stderr.write(
    `start-time: ${RUNS} runs per backend of \`${COMMAND}\`${PIN ? ' pinned to CPU 0' : ''}; ${os.cpus().length} × ${os.cpus()[0]?.model}; load ${(os.loadavg()[0] ?? 0).toFixed(2)}\n`,
  );
  // A checkout with a built start compiles src/ on its first `npm start` after an edit (~1 s):
  // done once here, so every timed run is a start without edits (what the check then costs is in).
  const build = path.join(DIR, 'scripts/build.mjs');
  if (fs.existsSync(build)) execFileSync(process.execPath, [build], { stdio: 'inherit' });
  const lines: string[] = [
    '| Backend | Start to ready (median, min–max) | Processes kept alive (RSS MiB) | Server RSS / VmHWM after start | after load | SIGTERM to the command |',
    '|---|---:|---|---:|---:|---|',
  ];
  for (const backend of BACKENDS) {
    const runs: Run[] = [];
    const storages: TestStorage[] = [];
    try {
      const fresh = async () => {
        const s = await createTestStorage(backend === 'postgres' ? 'postgres' : 'pglite');
        storages.push(s);
        if (s.env.GATEHOUSE_DATA_DIR) fs.rmSync(s.env.GATEHOUSE_DATA_DIR, { recursive: true, force: true });
        return s;
      };
      let shared: TestStorage | undefined;
      if (backend !== 'pglite-first') {
        shared = await fresh();
        await startOnce(shared.env, false); // first start: creates and migrates
      }
      for (let i = 0; i < RUNS; i++) {
        const storage = shared ?? (await fresh());
        const run = await startOnce(storage.env, i === RUNS - 1 || process.env.START_LOAD_EVERY === '1');
        runs.push(run);
        process.stderr.write(
          `  ${backend} #${i + 1}: ready ${f0(run.readyMs)} ms; ${run.procs.map((p) => `${p.name}(${f0(p.rssMiB)})`).join(' ')}; server hwm ${f0(run.server.hwmMiB)}${run.afterLoad ? `; after load rss ${f0(run.afterLoad.rssMiB)} hwm ${f0(run.afterLoad.hwmMiB)}` : ''}; exit ${run.exitCode}${run.orphans ? `; ${run.orphans} processes outlived it` : ''}\n`,
        );
      }
    } finally {
      for (const s of storages) await s.drop().catch(() => undefined);
    }
    const readyMs = runs.map((r) => r.readyMs);
    const last = runs.at(-1) as Run;
    const procs = last.procs.map((p) => `${p.cmd.split(' ').slice(0, 3).join(' ')} (${f0(p.rssMiB)})`).join(' → ');
    lines.push(
      `| ${backend} | ${f0(median(readyMs))} ms (${f0(Math.min(...readyMs))}–${f0(Math.max(...readyMs))}) | ${procs} | ${f0(median(runs.map((r) => r.server.rssMiB)))} / ${f0(median(runs.map((r) => r.server.hwmMiB)))} MiB | ${last.afterLoad ? `${f0(last.afterLoad.rssMiB)} / ${f0(last.afterLoad.hwmMiB)} MiB` : '–'} | ${runs.some((r) => r.orphans) ? 'server left running' : 'all exited'} |`,
    );
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

await main();
