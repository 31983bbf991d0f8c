import { setTimeout as sleep } from 'node:timers/promises';
import type { Cluster } from './cluster.js';
import type { LoadDriver } from './load-driver.js';

export interface InvariantReport {
  /** Tokens introspected at the end (each on both instances). */
  checkedLive: number;
  checkedDead: number;
  chains: number;
  tokenResponses: number;
  auditTokenIssued: number;
  unanswered?: number;
  violations: string[];
}

async function pool<T>(items: T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

/**
 * The invariants of issue 4, checked after a scenario (faults cleared) from the ledger and the
 * database:
 * 1 no lost issuance (every live token introspects active on both instances), 2 no double spend
 * (the ledger counts redemptions as they happen), 3 atomic rotation (every chain refreshes once
 * more), 4 no resurrection (consumed and revoked tokens inactive on both instances), 5 no session
 * leak (ID token subjects, checked at issuance), 6 fail closed (no 5xx but 503, no internals —
 * checked per answer), 7 audit completeness (token.issued events = successful token answers).
 */
export async function checkInvariants(
  cluster: Cluster,
  driver: LoadDriver,
  options: { auditExact?: boolean } = {},
): Promise<InvariantReport> {
  const ledger = driver.ledger;
  await driver.retryRevocations();
  const violations = [...ledger.violations];
  const now = Math.floor(Date.now() / 1000);
  const tokens = [...ledger.tokens.values()].filter(
    (t) => t.kind !== 'id_token' && t.clientId === driver.fx.webClient.client_id,
  );
  const live = tokens.filter((t) => t.state === 'live' && t.exp > now + 5);
  const dead = tokens.filter((t) => t.state === 'consumed' || t.state === 'revoked');
  const instances = cluster.instances.filter((i) => i.running);

  await pool(live, 16, async (t) => {
    for (const instance of instances) {
      const answer = await driver.introspection(t.value, 'final:introspection', instance.url);
      if (answer.status !== 200) violations.push(`final introspection on ${instance.name}: ${answer.status}`);
      else if (answer.body.active !== true)
        violations.push(`lost issuance: a live ${t.kind} is inactive on ${instance.name}`);
    }
  });
  await pool(dead, 16, async (t) => {
    for (const instance of instances) {
      const answer = await driver.introspection(t.value, 'final:introspection', instance.url);
      if (answer.status === 200 && answer.body.active !== false) {
        violations.push(`resurrection: a ${t.state} ${t.kind} is active on ${instance.name}`);
        if (process.env.FAULTS_DEBUG)
          process.stderr.write(
            `[faults] resurrection ${t.kind} grant=${t.grant} issued=${new Date(t.issuedAt).toISOString()} ${JSON.stringify(answer.body)}\n`,
          );
      }
    }
  });

  // Atomic rotation: each chain still has a usable refresh token.
  let chains = 0;
  for (const [worker, chain] of driver.chains) {
    if (!chain.refreshToken) continue;
    chains++;
    const presented = chain.refreshToken;
    const before = ledger.violations.length;
    // Twice at most: a retry after a transient answer is what a client does.
    for (let attempt = 0; attempt < 2 && chain.refreshToken === presented; attempt++) await driver.refresh(worker);
    if (ledger.violations.length > before) violations.push(...ledger.violations.slice(before));
    else if (chain.refreshToken === presented)
      violations.push('atomic rotation: a chain could not be refreshed after the scenario');
  }

  // Audit completeness: every successful token answer is one token.issued event.
  const clientIds = [driver.fx.webClient.client_id, driver.fx.machineClient.client_id];
  const tokenResponses = clientIds.reduce((n, id) => n + (ledger.tokenResponses.get(id) ?? 0), 0);
  let auditTokenIssued = 0;
  for (let attempt = 0; attempt < 20; attempt++) {
    const [row] = await cluster.sql<{ n: number }>(
      `select count(*)::int as n from audit_events where type = 'token.issued' and client_id = any($1)`,
      [clientIds],
    );
    auditTokenIssued = Number(row!.n);
    if (auditTokenIssued >= tokenResponses) break;
    await sleep(250);
  }
  // A token request whose answer never arrived (timeout, connection lost) may have issued: the
  // server recorded it, the client cannot know. Those are the only allowed surplus.
  const unanswered = ledger.samples.filter(
    (x) =>
      x.endpoint.startsWith('token:') &&
      (x.failure === 'timeout' || x.failure === 'network' || x.failure === 'bad_gateway'),
  ).length;
  const missing = auditTokenIssued < tokenResponses;
  const surplus = auditTokenIssued - tokenResponses > unanswered;
  if ((missing && options.auditExact !== false) || surplus) {
    violations.push(
      `audit: ${auditTokenIssued} token.issued events for ${tokenResponses} successful token answers (${unanswered} unanswered)`,
    );
  }
  return {
    checkedLive: live.length,
    checkedDead: dead.length,
    chains,
    tokenResponses,
    auditTokenIssued,
    unanswered,
    violations: [...new Set(violations)],
  };
}
