/**
 * The audit-cost scenario's control: writes audit rows into a database at a given rate, the way
 * Gatehouse's audit writer does (the product's repository and statement, one batch every 200 ms),
 * from a process of its own. Measuring an audit-off server with and without this running shows
 * what the database's share of the work costs the token endpoint on a machine the database shares.
 *
 * Env: DATABASE_URL, AUDIT_ROWS_PER_SECOND. Prints "ready" once connected, and writes only between
 * the IPC messages "start" and "pause" (it starts paused); stops on SIGTERM.
 */
import { randomUUID } from 'node:crypto';
import type { AuditEvent } from '../src/domain/audit/audit-event.js';
import { Database } from '../src/storage/database.js';
import { SqlAuditEventRepository } from '../src/storage/repositories/audit-events-repository.js';

const FLUSH_MS = 200;
const rate = Number(process.env.AUDIT_ROWS_PER_SECOND);
if (!process.env.DATABASE_URL || !(rate > 0))
  throw new Error('DATABASE_URL and AUDIT_ROWS_PER_SECOND (> 0) are required');

const database = await Database.open({ databaseUrl: process.env.DATABASE_URL, dataDir: '', poolMax: 1 });
const repo = new SqlAuditEventRepository(database);
// The token endpoint's event, built once: this process's own work stays small next to the database's.
const event: AuditEvent = {
  type: 'token.issued',
  actor: 'client:bench-control',
  clientId: 'bench-control',
  ip: '127.0.0.1',
  userAgent: 'autocannon',
  occurredAt: new Date(),
  data: { grant_type: 'client_credentials', scope: 'read', issued: ['access_token'] },
};
const perBatch = Math.max(1, Math.round((rate * FLUSH_MS) / 1000));

let writing: Promise<void> | undefined;
let paused = true;
process.on('message', (message) => {
  paused = message !== 'start';
});
const timer = setInterval(() => {
  if (writing || paused) return;
  const batch = repo.openBatch(randomUUID());
  for (let i = 0; i < perBatch; i++) batch.append(event);
  writing = repo.insertBatch(batch).finally(() => {
    writing = undefined;
  });
}, FLUSH_MS);
process.stdout.write('ready\n');

const stop = async () => {
  clearInterval(timer);
  await writing?.catch(() => undefined);
  await database.close();
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('disconnect', () => void stop());
