import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** How long a server may take to answer its readiness URL (PGlite start + migrations included). */
const READY_TIMEOUT_MS = 90_000;
/** After SIGTERM, how long before SIGKILL. */
const STOP_GRACE_MS = 5_000;

export { freePort } from '../../test/support/gatehouse.js';

export interface ChildServer {
  name: string;
  pid: number;
  logFile: string;
  /** False once the process has exited. */
  readonly alive: boolean;
  /** How it ended ("code 1", "signal SIGKILL"), once it has. */
  readonly exitReason: string | undefined;
  /** Last lines of the server's output, for error messages. */
  logTail(lines?: number): string;
  stop(): Promise<void>;
}

/** Every child still running; `stopAll` is the runner's last line of defence. */
const running = new Set<ChildServer>();

/**
 * Starts `node [nodeArgs] --import tsx <script>` with exactly `env` (plus PATH/HOME), its output in a
 * temporary log file, and an IPC channel so it exits if the runner dies. Resolves once
 * `readyUrl` answers 200.
 */
export async function startChildServer(
  name: string,
  script: string,
  env: Record<string, string>,
  readyUrl: string,
  nodeArgs: string[] = [],
): Promise<ChildServer> {
  const logFile = path.join(os.tmpdir(), `gatehouse-bench-${name}-${process.pid}-${Date.now()}.log`);
  const out = fs.openSync(logFile, 'w');
  const child: ChildProcess = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', path.join(ROOT, script)], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? os.tmpdir(),
      NODE_ENV: 'production',
      ...env,
    },
    stdio: ['ignore', out, out, 'ipc'],
  });
  fs.closeSync(out);
  let alive = true;
  let exitReason: string | undefined;
  const exited = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      alive = false;
      exitReason = signal ? `signal ${signal}` : `code ${code}`;
      resolve();
    }),
  );

  const server: ChildServer = {
    name,
    pid: child.pid!,
    logFile,
    get alive() {
      return alive;
    },
    get exitReason() {
      return exitReason;
    },
    logTail(lines = 30) {
      try {
        return fs.readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
      } catch {
        return '';
      }
    },
    async stop() {
      running.delete(server);
      if (alive) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => {
          if (alive) child.kill('SIGKILL');
        }, STOP_GRACE_MS);
        await exited;
        clearTimeout(timer);
      }
      if (child.connected) child.disconnect();
      fs.rmSync(logFile, { force: true });
    },
  };
  running.add(server);

  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (true) {
    if (!alive) {
      const tail = server.logTail();
      await server.stop();
      throw new Error(`${name} exited (${exitReason}) before it was ready:\n${tail}`);
    }
    try {
      const res = await fetch(readyUrl, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.status === 200) return server;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      const tail = server.logTail();
      await server.stop();
      throw new Error(`${name} was not ready within ${READY_TIMEOUT_MS / 1000} s:\n${tail}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Stops every child this process started (each by its own handle). */
export async function stopAllChildServers(): Promise<void> {
  await Promise.all([...running].map((s) => s.stop().catch(() => undefined)));
}

/** Synchronous last resort on process exit: SIGKILL each child we started, by pid. */
export function killAllChildServersNow(): void {
  for (const s of running) {
    try {
      process.kill(s.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
}

/** CPU seconds (user + system) a process has used so far, from /proc; undefined off Linux. */
export function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the ")" that closes the command name; utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}
/** USER_HZ: 100 on every mainstream Linux build. */
const CLOCK_TICKS = 100;
