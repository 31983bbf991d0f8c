import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { summarize } from './ledger.js';
import type { InvariantReport } from './invariants.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const DOC = path.join(ROOT, 'docs/reliability.md');
const BEGIN = '<!-- faults:results:begin -->';
const END = '<!-- faults:results:end -->';

export interface ScenarioResult {
  name: string;
  seconds: number;
  flows: number;
  requests: number;
  overall: ReturnType<typeof summarize>;
  during?: ReturnType<typeof summarize>;
  after?: ReturnType<typeof summarize>;
  recoveryMs?: number;
  invariants: InvariantReport;
  notes: string[];
}

const recorded: ScenarioResult[] = [];
/** Results so far by scenario name (the login flood compares with the baseline). */
export const results = new Map<string, ScenarioResult>();

export function recordScenario(result: ScenarioResult): void {
  recorded.push(result);
  results.set(result.name, result);
  process.stdout.write(
    `# ${result.name}: ${JSON.stringify({ flows: result.flows, requests: result.requests, recoveryMs: result.recoveryMs, violations: result.invariants.violations.length, failures: result.overall.failures })}\n`,
  );
}

const fmt = (
  s?: ReturnType<typeof summarize>,
  keys = [
    'token:authorization_code',
    'token:refresh_token',
    'token:client_credentials',
    'introspection',
    'jwks',
    'login',
  ],
) =>
  s
    ? keys
        .filter((k) => s.endpoints[k])
        .map((k) => `${k.replace('token:', '')} ${s.endpoints[k]!.p50}/${s.endpoints[k]!.p99}`)
        .join('; ')
    : '—';
const failures = (s?: ReturnType<typeof summarize>) =>
  s && Object.keys(s.failures).length
    ? Object.entries(s.failures)
        .map(([k, v]) => `${v} ${k}`)
        .join(', ')
    : 'none';

/** The results table: into .test-tmp/faults-report.md always, into docs/reliability.md with FAULTS_WRITE_DOCS=1. */
export function writeReport(profile: string): void {
  if (!recorded.length) return;
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const lines = [
    BEGIN,
    `Last run: ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, profile \`${profile}\`, ${os.cpus().length} × ${cpu}, Node ${process.version}, ` +
      'PostgreSQL and Redis on the same machine, load driver and both instances on the same cores.',
    '',
    '| scenario | flows / requests | invariant violations | failed answers (whole run) | p50/p99 ms during fault | p50/p99 ms after | recovery |',
    '|---|---|---|---|---|---|---|',
    ...recorded.map(
      (r) =>
        `| ${r.name} | ${r.flows} / ${r.requests} | ${r.invariants.violations.length ? r.invariants.violations.slice(0, 3).join('; ') : '0'} | ${failures(r.overall)} | ${fmt(r.during ?? r.overall)} | ${fmt(r.after)} | ${r.recoveryMs === undefined ? '—' : `${(r.recoveryMs / 1000).toFixed(1)} s`} |`,
    ),
    '',
    ...recorded.flatMap((r) =>
      r.notes.length
        ? [
            `- **${r.name}**: ${r.notes.join('; ')}; end checks: ${r.invariants.checkedLive} live and ${r.invariants.checkedDead} consumed/revoked tokens introspected on both instances, ${r.invariants.chains} chains refreshed, ${r.invariants.auditTokenIssued}/${r.invariants.tokenResponses} token.issued audit events`,
          ]
        : [
            `- **${r.name}**: end checks: ${r.invariants.checkedLive} live and ${r.invariants.checkedDead} consumed/revoked tokens introspected on both instances, ${r.invariants.chains} chains refreshed, ${r.invariants.auditTokenIssued}/${r.invariants.tokenResponses} token.issued audit events`,
          ],
    ),
    END,
  ];
  const block = lines.join('\n');
  const tmp = path.join(ROOT, '.test-tmp');
  fs.mkdirSync(tmp, { recursive: true });
  fs.writeFileSync(path.join(tmp, 'faults-report.md'), `${block}\n`);
  if (process.env.FAULTS_WRITE_DOCS === '1' && fs.existsSync(DOC)) {
    const doc = fs.readFileSync(DOC, 'utf8');
    const start = doc.indexOf(BEGIN);
    const end = doc.indexOf(END);
    if (start >= 0 && end > start) fs.writeFileSync(DOC, doc.slice(0, start) + block + doc.slice(end + END.length));
  }
}
