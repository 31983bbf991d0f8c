import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Cluster } from './support/cluster.js';
import { Ledger, summarize, type Sample } from './support/ledger.js';
import { createFixtures, LoadDriver, CALLBACK } from './support/load-driver.js';
import { checkInvariants, type InvariantReport } from './support/invariants.js';
import { recordScenario, writeReport } from './support/report.js';

/** `short` for CI (a few minutes), `full` for `npm run test:faults` (the issue's durations). */
const PROFILE = process.env.FAULTS_PROFILE === 'short' ? 'short' : 'full';
const FULL = PROFILE === 'full';
const D = {
  baselineMs: FULL ? 120_000 : 15_000,
  raceRepeats: FULL ? 500 : 40,
  raceWidth: 50,
  pgDownMs: 10_000,
  redisDownMs: FULL ? 30_000 : 10_000,
  blackholeMs: FULL ? 30_000 : 10_000,
  slowMs: FULL ? 20_000 : 6_000,
  aroundFaultMs: FULL ? 10_000 : 4_000,
  workers: 6,
};
/** Bounded recovery (invariant 8). */
const RECOVERY_LIMIT_MS = 10_000;

/** When, after `faultEnd`, answers stopped failing (ms; 0 when nothing failed afterwards). */
function recoveryMs(samples: Sample[], faultEnd: number): number {
  const failedAfter = samples.filter((s) => s.at >= faultEnd && s.failure && s.failure !== 'rate_limited');
  return failedAfter.length ? Math.max(...failedAfter.map((s) => s.at)) - faultEnd : 0;
}

describe(`fault scenarios (${PROFILE}): two instances behind a round-robin balancer on PostgreSQL + Redis`, () => {
  let cluster: Cluster;
  before(async () => { cluster = await Cluster.start(); });
  after(async () => {
    await cluster?.stop();
    writeReport(PROFILE);
  });

  /** Runs traffic, calls `fault` while it flows, then checks every invariant. */
  async function scenario(name: string, fault: (driver: LoadDriver) => Promise<{ faultStart?: number; faultEnd?: number; notes?: string[] } | void>, options: { workers?: number; auditExact?: boolean } = {}) {
    const fx = await createFixtures(cluster.issuer, (m, p, b) => cluster.admin(m, p, b));
    const ledger = new Ledger();
    const driver = new LoadDriver(fx, ledger);
    const started = Date.now();
    driver.start(options.workers ?? D.workers);
    let info: { faultStart?: number; faultEnd?: number; notes?: string[] } | void;
    try {
      info = await fault(driver);
    } finally {
      await driver.stop();
    }
    const ended = Date.now();
    const report: InvariantReport = await checkInvariants(cluster, driver, options);
    const during = info?.faultStart ? summarize(ledger.between(info.faultStart, info.faultEnd ?? ended)) : undefined;
    const afterFault = info?.faultEnd ? summarize(ledger.between(info.faultEnd, ended)) : undefined;
    const recovery = info?.faultEnd ? recoveryMs(ledger.samples, info.faultEnd) : undefined;
    recordScenario({
      name, seconds: Math.round((ended - started) / 1000), flows: ledger.flows, requests: ledger.samples.length,
      overall: summarize(ledger.samples), during, after: afterFault, recoveryMs: recovery, invariants: report, notes: info?.notes ?? [],
    });
    assert.deepEqual(report.violations, [], `${name}: invariant violations`);
    if (recovery !== undefined) assert.ok(recovery <= RECOVERY_LIMIT_MS, `${name}: recovered in ${recovery} ms (limit ${RECOVERY_LIMIT_MS})`);
    assert.ok(ledger.flows > 0, `${name}: flows completed`);
  }

  it('baseline: mixed load, no faults', async () => {
    await scenario('Baseline', async () => { await sleep(D.baselineMs); });
  });

  /** Traffic before, a fault for `ms`, traffic after; returns the fault window. */
  const during = (start: () => void | Promise<void>, stop: () => void | Promise<void>, ms: number, notes: string[] = []) => async () => {
    await sleep(D.aroundFaultMs);
    const faultStart = Date.now();
    await start();
    await sleep(ms);
    await stop();
    const faultEnd = Date.now();
    await sleep(D.aroundFaultMs + RECOVERY_LIMIT_MS);
    return { faultStart, faultEnd, notes };
  };

  it('PostgreSQL down for 10 s mid-traffic (every connection cut, new ones refused)', async () => {
    await scenario('PostgreSQL down 10 s', during(() => cluster.pgProxy.down(), () => cluster.pgProxy.pass(), D.pgDownMs));
  });

  it('Redis stopped, then back', async () => {
    await scenario(`Redis down ${D.redisDownMs / 1000} s`, during(() => cluster.redisProxy.down(), () => cluster.redisProxy.pass(), D.redisDownMs));
  });

  it('slow PostgreSQL (+200 ms), then a black hole: fail fast, no leaked connections', async () => {
    let connectionsAfter = 0;
    await scenario('PostgreSQL +200 ms, then black hole', async () => {
      await sleep(D.aroundFaultMs);
      const faultStart = Date.now();
      cluster.pgProxy.latencyMs = 200;
      await sleep(D.slowMs);
      cluster.pgProxy.latencyMs = 0;
      cluster.pgProxy.blackhole();
      await sleep(D.blackholeMs);
      cluster.pgProxy.pass();
      const faultEnd = Date.now();
      await sleep(D.aroundFaultMs + RECOVERY_LIMIT_MS);
      connectionsAfter = await cluster.pgConnections();
      return { faultStart, faultEnd, notes: [`${connectionsAfter} PostgreSQL connections afterwards (pool max ${2 * 10} for two instances)`] };
    });
    assert.ok(connectionsAfter <= 2 * 10 + 1, `no leaked connections: ${connectionsAfter}`);
  });

  it('concurrent redemption: one code or refresh token, 50 simultaneous requests across both instances', async () => {
    const fx = await createFixtures(cluster.issuer, (m, p, b) => cluster.admin(m, p, b), 2);
    const ledger = new Ledger();
    const driver = new LoadDriver(fx, ledger);
    let codeWins = 0;
    let refreshWins = 0;
    const user = fx.users[0]!;
    const tokens = await driver.codeFlow(user);
    assert.ok(tokens?.refresh_token, 'a first flow');
    let refreshToken = tokens.refresh_token as string;
    const basic = `Basic ${Buffer.from(`${fx.webClient.client_id}:${fx.webClient.client_secret}`).toString('base64')}`;
    const post = (params: Record<string, string>) => driver.call(`race:${params.grant_type}`, `${cluster.issuer}/token`, {
      method: 'POST', headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(params).toString(), expect: [200, 400],
    });
    for (let i = 0; i < D.raceRepeats; i++) {
      // A code: exchange it 50 times at once (the code comes from a flow that stops short of the token request).
      const code = await driver.authorize(user);
      if (!code) { ledger.violation(`race ${i}: no code`); continue; }
      const codeAnswers = await Promise.all(Array.from({ length: D.raceWidth }, () => post({ grant_type: 'authorization_code', code: code.code, redirect_uri: CALLBACK, code_verifier: code.verifier })));
      const codeOk = codeAnswers.filter((a) => a.status === 200);
      if (codeOk.length !== 1) ledger.violation(`code race ${i}: ${codeOk.length} successes`);
      codeWins += codeOk.length;
      // A refresh token: rotate it 50 times at once. Grace returns the same successor to the losers
      // that arrive after the winner; everyone who succeeds must get the same one.
      const refreshAnswers = await Promise.all(Array.from({ length: D.raceWidth }, () => post({ grant_type: 'refresh_token', refresh_token: refreshToken })));
      const successors = new Set(refreshAnswers.filter((a) => a.status === 200).map((a) => a.body.refresh_token as string));
      if (successors.size !== 1) ledger.violation(`refresh race ${i}: ${successors.size} distinct successors`);
      if (refreshAnswers.some((a) => a.status !== 200 && a.status !== 400)) ledger.violation(`refresh race ${i}: statuses ${[...new Set(refreshAnswers.map((a) => a.status))]}`);
      refreshWins += successors.size;
      refreshToken = [...successors][0] ?? refreshToken;
    }
    recordScenario({
      name: 'Concurrent redemption', seconds: 0, flows: D.raceRepeats, requests: ledger.samples.length, overall: summarize(ledger.samples),
      invariants: { checkedLive: 0, checkedDead: 0, chains: 1, tokenResponses: 0, auditTokenIssued: 0, violations: ledger.violations },
      notes: [`${D.raceRepeats} codes × ${D.raceWidth} requests: ${codeWins} successes; ${D.raceRepeats} refresh tokens × ${D.raceWidth}: ${refreshWins} distinct successors`],
    });
    assert.deepEqual(ledger.violations, []);
    assert.equal(codeWins, D.raceRepeats);
  });
});
