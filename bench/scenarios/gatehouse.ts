import { createTestStorage, type BackendName } from '../../test/support/backends.js';
import { cpuSeconds, type ChildServer } from '../support/child-server.js';
import {
  backendLabel,
  type BenchContext,
  type FloorKind,
  fmt,
  measureOn,
  recordFloorPair,
  warmAndMeasure,
} from '../support/context.js';
import {
  FORM,
  RESOURCE,
  basicAuth,
  prepareFixture,
  refreshChains,
  runCodeFlows,
  type BenchFixture,
  type ChainStats,
  type RemoteGatehouse,
} from '../support/gatehouse-fixture.js';
import { measureArgon2 } from '../support/argon2-rate.js';
import { startGatehouseServer } from '../support/gatehouse-server.js';
import { measure, type LoadSpec } from '../support/load.js';
import { rowFrom } from '../support/report.js';
import { FRESH_SERVER_WARMUP_FACTOR, PARTIAL_LOAD } from '../support/settings.js';
import { FLOOR_SCENARIOS } from './floor.js';

/** Refresh chains kept in reserve per connection, for chains that break mid-run. */
const SPARE_CHAINS_PER_CONNECTION = 1;

interface Under {
  ctx: BenchContext;
  backend: BackendName;
  server: ChildServer;
  gh: RemoteGatehouse;
  fixture: BenchFixture;
  label: string;
  /** Measures the library floor on the same request, right before Gatehouse's run of it. */
  beforeScenario: (kind: FloorKind) => Promise<void>;
}

/**
 * Every Gatehouse scenario on one backend: fresh storage, its own server process, dropped
 * afterwards. `beforeScenario` runs the floor right before the runs it has a counterpart of.
 */
export async function benchGatehouse(
  ctx: BenchContext,
  backend: BackendName,
  beforeScenario: (kind: FloorKind) => Promise<void>,
): Promise<void> {
  const label = `Gatehouse, ${backendLabel(backend)}`;
  ctx.progress(`${label}: preparing storage`);
  const storage = await createTestStorage(backend);
  ctx.storages.add(storage);
  try {
    const { server, gh } = await startGatehouseServer(ctx, `gatehouse-${backend}`, storage);
    ctx.progress(`${label}: server up (pid ${server.pid})`);
    try {
      const under: Under = { ctx, backend, server, gh, fixture: await prepareFixture(gh), label, beforeScenario };
      await endpointScenarios(under);
      await flowAndRefreshScenarios(under);
    } catch (err) {
      ctx.progress(`${label} failed; last lines of the server log:\n${server.logTail(15)}`);
      throw new Error(`${label}: ${(err as Error).message}`, { cause: err });
    } finally {
      await server.stop();
    }
  } finally {
    await storage.drop();
    ctx.storages.delete(storage);
  }
}

function machineRequest(u: Under, path: string, body: string): LoadSpec {
  return {
    url: `${u.gh.publicUrl}${path}`,
    method: 'POST',
    body,
    headers: { 'content-type': FORM, authorization: basicAuth(u.fixture.machine) },
    connections: u.ctx.settings.connections,
    seconds: u.ctx.settings.seconds,
  };
}

/** client_credentials (JWT at peak and at 70 % of it, opaque), introspection, JWKS, discovery. */
async function endpointScenarios(u: Under): Promise<void> {
  const { ctx, backend, server, label } = u;
  const { rows } = ctx.results;
  const scenario = async (name: string, spec: LoadSpec, floorKind?: FloorKind) => {
    if (floorKind) await u.beforeScenario(floorKind);
    const r = await warmAndMeasure(ctx, `${backend}: ${name}`, spec, server);
    rows.push(rowFrom(name, label, 'req/s', r));
    if (floorKind) {
      recordFloorPair(ctx.results, backend, floorKind, { ours: r });
    }
    return r;
  };

  const jwt = machineRequest(
    u,
    '/token',
    `grant_type=client_credentials&resource=${encodeURIComponent(RESOURCE)}&scope=read`,
  );
  // A fresh server (JIT, pools, PGlite's first WAL and buffer work) stays slower for a few
  // seconds longer than one scenario's warm-up; the first scenario would pay for it.
  if (ctx.settings.warmupSeconds > 0)
    await measure({ ...jwt, seconds: FRESH_SERVER_WARMUP_FACTOR * ctx.settings.warmupSeconds });
  const peak = await scenario(FLOOR_SCENARIOS.jwt, jwt, 'jwt');
  ctx.results.peak[backend] = peak;

  const rate = Math.max(1, Math.round(peak.rps * PARTIAL_LOAD));
  const offered = `${rate.toLocaleString('en-US')}/s offered`;
  const paced = await measureOn(ctx, server, `${backend}: client_credentials JWT at ${rate}/s, paced`, {
    ...jwt,
    overallRate: rate,
    paced: true,
  });
  ctx.results.atPartialLoad[backend] = paced;
  rows.push(
    rowFrom('client_credentials, JWT — 70 % of peak, paced', label, 'req/s', paced, [
      `${offered}, evenly spaced per connection`,
    ]),
  );
  const bursty = await measureOn(ctx, server, `${backend}: client_credentials JWT at ${rate}/s, autocannon refill`, {
    ...jwt,
    overallRate: rate,
  });
  rows.push(
    rowFrom('client_credentials, JWT — 70 % of peak, autocannon refill', label, 'req/s', bursty, [
      `${offered}; autocannon refills each connection's quota once a second and sends it back to back (bursts), for comparison`,
    ]),
  );

  await scenario(FLOOR_SCENARIOS.opaque, machineRequest(u, '/token', 'grant_type=client_credentials'), 'opaque');
  await scenario(
    FLOOR_SCENARIOS.introspection,
    machineRequest(
      u,
      '/token/introspection',
      `token=${encodeURIComponent(u.fixture.opaqueToken)}&token_type_hint=access_token`,
    ),
    'introspection',
  );
  const get = (path: string): LoadSpec => ({
    url: `${u.gh.publicUrl}${path}`,
    connections: ctx.settings.connections,
    seconds: ctx.settings.seconds,
  });
  await scenario('GET /jwks', get('/jwks'));
  await scenario('GET /.well-known/openid-configuration', get('/.well-known/openid-configuration'));
}

/** Code + PKCE flows (flows/s), whose refresh tokens then feed the rotation run (rotations/s). */
async function flowAndRefreshScenarios(u: Under): Promise<void> {
  const { ctx, backend, server, gh, fixture, label } = u;
  const { flows: count, flowConcurrency, connections } = ctx.settings;
  ctx.progress(`${backend}: ${count} code + PKCE flows, ${flowConcurrency} at a time`);
  const cpuBefore = cpuSeconds(server.pid);
  const flows = await runCodeFlows(gh, fixture, count, flowConcurrency);
  const cpuAfter = cpuSeconds(server.pid);
  const serverCores =
    cpuBefore !== undefined && cpuAfter !== undefined ? (cpuAfter - cpuBefore) / flows.seconds : undefined;
  const failedNote = flows.failed ? [`${flows.failed} failed: ${flows.firstError}`] : [];
  ctx.progress(
    `${backend}: code flows: ${fmt({ rate: flows.flowsPerSecond, p50: flows.p50, p99: flows.p99, serverCores })}${flows.failed ? ` (${failedNote[0]})` : ''}`,
  );
  ctx.results.rows.push({
    scenario: `code + PKCE flow (authorize → login → consent → token), ${flowConcurrency} at a time`,
    target: label,
    unit: 'flows/s',
    rate: flows.flowsPerSecond,
    p50: flows.p50,
    p99: flows.p99,
    serverCores,
    notes: [`${flows.flows} flows; p50/p99 per whole flow`, ...failedNote],
  });
  // The hash the flow is held against, right after it: as many verifications, as many at a time.
  const argon2 = await measureArgon2(count, flowConcurrency);
  ctx.progress(`${backend}: raw Argon2id: ${argon2.perSecond.toFixed(1)} verifies/s`);
  ctx.results.rows.push({
    scenario: `raw Argon2id verification at the same parameters, ${flowConcurrency} at a time (the code flow's yardstick)`,
    target: 'bench process, @node-rs/argon2',
    unit: 'verifies/s',
    rate: argon2.perSecond,
    p50: argon2.p50,
    p99: argon2.p99,
    notes: [`${argon2.verifies} verifications, measured right after the ${label} flows`],
  });
  ctx.results.flowsVsArgon2[backend] = { flows: flows.flowsPerSecond, argon2: argon2.perSecond };

  // One chain per connection, carried forward; the warm-up uses chains of its own.
  const pool = flows.refreshTokens;
  const needed = (2 + SPARE_CHAINS_PER_CONNECTION) * connections;
  if (pool.length < needed) {
    ctx.progress(`${backend}: minting ${needed - pool.length} more refresh tokens`);
    pool.push(...(await runCodeFlows(gh, fixture, needed - pool.length, flowConcurrency)).refreshTokens);
  }
  const chains = (stats: ChainStats): LoadSpec => ({
    url: `${gh.publicUrl}/token`,
    method: 'POST',
    connections,
    seconds: ctx.settings.seconds,
    setupClient: refreshChains(pool, fixture.app, stats),
  });
  const stats: ChainStats = { chainsStarted: 0, chainBreaks: 0, exhausted: 0 };
  const r = await warmAndMeasure(
    ctx,
    `${backend}: refresh rotation`,
    chains(stats),
    server,
    chains({ chainsStarted: 0, chainBreaks: 0, exhausted: 0 }),
  );
  ctx.results.rotations[backend] = r;
  ctx.results.rows.push(
    rowFrom('refresh-token rotation (a fresh token every request)', label, 'rotations/s', r, [
      `${stats.chainsStarted} chains${stats.chainBreaks ? `, ${stats.chainBreaks} broken` : ''}${stats.exhausted ? `, pool exhausted ×${stats.exhausted}` : ''}`,
    ]),
  );
}
