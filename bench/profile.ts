/**
 * Where one request's CPU time goes: starts Gatehouse (bench/server-process.ts) with `--cpu-prof`,
 * drives one request type at it, stops it, and prints the profile's heaviest functions by self
 * time, grouped by package (or by our own source file). The .cpuprofile stays in the directory
 * printed at the end, for a flame graph (Chrome DevTools, speedscope).
 *
 *   PROFILE_REQUEST=introspection|opaque|jwt|jwks|refresh|flow npm run bench:profile
 *
 * `refresh` rotates refresh tokens in per-connection chains (as the bench does), from code flows
 * run before the measured window; `flow` runs code + PKCE flows 4 at a time, as the bench does.
 * Both on Gatehouse only (the floor has no sign-in and no refresh tokens).
 *
 * One profile per thread: the main thread's (the event loop), and with PROFILE_BACKEND=pglite the
 * worker thread that runs embedded PostgreSQL.
 *
 * Env: PROFILE_REQUEST (introspection), PROFILE_SECONDS (10), PROFILE_BACKEND (postgres),
 * PROFILE_FLOOR=1 to profile the library floor (bench/floor-server.ts) doing the same request instead.
 */
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type BackendName, createTestStorage } from '../test/support/backends.js';
import { freePort, startChildServer } from './support/child-server.js';
import type { BenchContext, Results } from './support/context.js';
import { basicAuth, FORM, prepareFixture, RESOURCE, refreshChains, runCodeFlows } from './support/gatehouse-fixture.js';
import { startGatehouseServer } from './support/gatehouse-server.js';
import { type LoadSpec, measure } from './support/load.js';
import { loadSettings } from './support/settings.js';

type Request = 'introspection' | 'opaque' | 'jwt' | 'jwks' | 'refresh' | 'flow';
const request = (process.env.PROFILE_REQUEST ?? 'introspection') as Request;
if (!['introspection', 'opaque', 'jwt', 'jwks', 'refresh', 'flow'].includes(request))
  throw new Error(`PROFILE_REQUEST: unknown "${request}" (introspection, opaque, jwt, jwks, refresh, flow)`);
if ((request === 'refresh' || request === 'flow') && process.env.PROFILE_FLOOR === '1')
  throw new Error(`PROFILE_REQUEST=${request}: the floor has no sign-in or refresh tokens`);
const seconds = Number(process.env.PROFILE_SECONDS ?? 10);
/** The measured window the summary covers (a flow run lasts as long as its flows take). */
let measuredSeconds = seconds;
const backend = (process.env.PROFILE_BACKEND ?? 'postgres') as BackendName;
const onFloor = process.env.PROFILE_FLOOR === '1';
/** Between the end of the load and the end of the profile (the server's drain and exit). */
const STOP_MARGIN_SECONDS = 0.3;
const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-profile-'));

const settings = { ...loadSettings(process.env), serverNodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`] };
const ctx: BenchContext = {
  settings,
  results: {} as Results,
  progress: (m) => console.log(m),
  storages: new Set(),
};

/** The request as an authenticated machine client would send it. */
function spec(base: string, client: { client_id: string; client_secret: string }, opaqueToken: string): LoadSpec {
  const post = (p: string, body: string): LoadSpec => ({
    url: `${base}${p}`,
    method: 'POST',
    headers: { 'content-type': FORM, authorization: basicAuth(client) },
    body,
    connections: settings.connections,
    seconds,
  });
  if (request === 'jwks') return { url: `${base}/jwks`, connections: settings.connections, seconds };
  if (request === 'jwt')
    return post('/token', `grant_type=client_credentials&resource=${encodeURIComponent(RESOURCE)}&scope=read`);
  if (request === 'opaque') return post('/token', 'grant_type=client_credentials');
  return post('/token/introspection', `token=${encodeURIComponent(opaqueToken)}&token_type_hint=access_token`);
}

async function run(): Promise<void> {
  if (onFloor) {
    const port = await freePort();
    const client = { client_id: 'floor-client', client_secret: 'floor-client-secret-0123456789abcdef' };
    const base = `http://127.0.0.1:${port}`;
    const server = await startChildServer(
      'floor',
      'bench/floor-server.ts',
      { FLOOR_PORT: String(port), FLOOR_RESOURCE: RESOURCE },
      `${base}/.well-known/openid-configuration`,
      settings.serverNodeArgs,
    );
    const opaque = (await fetch(`${base}/token`, {
      method: 'POST',
      headers: { 'content-type': FORM, authorization: basicAuth(client) },
      body: 'grant_type=client_credentials',
    }).then((r) => r.json())) as { access_token: string };
    await measure({ ...spec(base, client, opaque.access_token), seconds: 2 });
    const r = await measure(spec(base, client, opaque.access_token), server.pid);
    console.log(`floor ${request}: ${Math.round(r.rps)}/s, ${r.serverCores?.toFixed(2)} cores`);
    await server.stop();
    return;
  }
  const storage = await createTestStorage(backend);
  try {
    const { server, gh } = await startGatehouseServer(ctx, `gatehouse-${backend}`, storage);
    try {
      const fixture = await prepareFixture(gh);
      if (request === 'flow') {
        // Code + PKCE flows as the bench runs them (4 at a time), about PROFILE_SECONDS of them.
        const warm = await runCodeFlows(gh, fixture, 20, 4);
        const flows = await runCodeFlows(gh, fixture, Math.max(20, Math.round(warm.flowsPerSecond * seconds)), 4);
        measuredSeconds = flows.seconds;
        console.log(
          `gatehouse flow (${backend}): ${flows.flowsPerSecond.toFixed(1)} flows/s, p50 ${flows.p50.toFixed(0)} ms, ${flows.failed} failed`,
        );
        return;
      }
      let s = spec(gh.publicUrl, fixture.machine, fixture.opaqueToken);
      let warmUp: LoadSpec = { ...s, seconds: 2 };
      if (request === 'refresh') {
        // Enough chains for the warm-up and the measured window, each connection starting its own.
        const flows = await runCodeFlows(gh, fixture, 4 * settings.connections, 4);
        const pool = flows.refreshTokens;
        const stats = () => ({ chainsStarted: 0, chainBreaks: 0, exhausted: 0 });
        const chains = (secs: number): LoadSpec => ({
          url: `${gh.publicUrl}/token`,
          method: 'POST',
          connections: settings.connections,
          seconds: secs,
          setupClient: refreshChains(pool, fixture.app, stats()),
        });
        warmUp = chains(2);
        s = chains(seconds);
      }
      await measure(warmUp);
      const r = await measure(s, server.pid);
      console.log(`gatehouse ${request} (${backend}): ${Math.round(r.rps)}/s, ${r.serverCores?.toFixed(2)} cores`);
    } finally {
      await server.stop();
    }
  } finally {
    await storage.drop();
  }
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

/** Self time per function and per package / source file, heaviest first. */
function summarise(file: string): void {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as {
    nodes: ProfileNode[];
    samples: number[];
    timeDeltas: number[];
    startTime: number;
    endTime: number;
  };
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  // Only the measured load: the profile ends when the server stops, right after it; start-up and
  // the warm-up (module compilation, JIT) stay out.
  const from = profile.endTime - (measuredSeconds + STOP_MARGIN_SECONDS) * 1e6;
  let t = profile.startTime;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    t += dt;
    if (t >= from) selfUs.set(id, (selfUs.get(id) ?? 0) + dt);
  });
  const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
  const idle = [...selfUs].filter(([id]) => byId.get(id)?.callFrame.functionName === '(idle)');
  const busy = total - idle.reduce((a, [, us]) => a + us, 0);
  const where = (url: string) => {
    const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
    if (m) return m[1]!;
    const src = /\/((?:src|bench)\/.+)$/.exec(url);
    return src ? src[1]! : url.startsWith('node:') ? url : url || '(native / GC)';
  };
  const fnTotals = new Map<string, number>();
  const pkgTotals = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const n = byId.get(id)!;
    if (n.callFrame.functionName === '(idle)') continue;
    const key = `${n.callFrame.functionName || '(anonymous)'} ${where(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;
    fnTotals.set(key, (fnTotals.get(key) ?? 0) + us);
    const pkg = where(n.callFrame.url);
    pkgTotals.set(pkg, (pkgTotals.get(pkg) ?? 0) + us);
  }
  const pct = (us: number) => `${((100 * us) / busy).toFixed(1).padStart(5)} %`;
  // CPU.<date>.<time>.<pid>.<thread id>.<seq>.cpuprofile: thread 0 is the main thread (the event
  // loop); others are worker threads (embedded PGlite's, a loader's).
  const thread = /\.(\d+)\.\d+\.cpuprofile$/.exec(file)?.[1];
  const which = thread === '0' ? 'main thread' : `worker thread ${thread}`;
  console.log(
    `\n${path.basename(file)} (${which}): busy ${(busy / 1e6).toFixed(2)} s of ${(total / 1e6).toFixed(2)} s`,
  );
  console.log('\nSelf time by package / file:');
  for (const [k, us] of [...pkgTotals].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(`${pct(us)}  ${k}`);
  console.log('\nSelf time by function:');
  for (const [k, us] of [...fnTotals].sort((a, b) => b[1] - a[1]).slice(0, 40)) console.log(`${pct(us)}  ${k}`);
}

await run();
for (const f of readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'))) summarise(path.join(dir, f));
console.log(`\nprofiles in ${dir}`);
process.exit(0);
