/**
 * Several Gatehouse instances in one process, for comparisons that must not depend on which
 * process got the faster JIT state or CPU: on this kind of machine two identical processes differ
 * by up to ±10 % for tens of seconds, more than the effects being measured. Each instance is
 * configured by the process environment with its own overrides laid over it
 * (GATEHOUSE_INSTANCES: a JSON array of env objects); stops cleanly on SIGTERM / SIGINT.
 * An instance whose overrides set BENCH_AUDIT_WRITES=discard records and encodes its audit events
 * as usual but never writes them: the event loop's share of the audit log's cost, without the
 * database's.
 */
import { createGatehouse, type Gatehouse, type GatehouseParts } from '../src/app.js';
import type { AuditBatch, AuditEventRepository } from '../src/domain/audit/audit-log.js';
import { SqlAuditEventRepository } from '../src/storage/repositories/audit-events-repository.js';
import { loadConfig } from '../src/config/config.js';
import { createLogger } from '../src/observability/logger.js';

/** Batches opened (and so encoded) by the real repository; writing one does nothing. */
class DiscardingAuditRepository implements AuditEventRepository {
  constructor(private readonly real: AuditEventRepository) {}
  openBatch(key: string): AuditBatch {
    return this.real.openBatch(key);
  }
  async insertBatch(): Promise<void> {}
  list(...args: Parameters<AuditEventRepository['list']>): ReturnType<AuditEventRepository['list']> {
    return this.real.list(...args);
  }
}

const overrides = JSON.parse(process.env.GATEHOUSE_INSTANCES ?? '[]') as Record<string, string>[];
if (!overrides.length) throw new Error('GATEHOUSE_INSTANCES must list at least one instance');
const instances: Gatehouse[] = [];
for (const env of overrides) {
  const config = loadConfig({ ...process.env, ...env });
  const logger = createLogger(config.logLevel);
  const parts: GatehouseParts =
    env.BENCH_AUDIT_WRITES === 'discard'
      ? { auditRepository: (db) => new DiscardingAuditRepository(new SqlAuditEventRepository(db)) }
      : {};
  const gatehouse = await createGatehouse(config, logger, parts);
  instances.push(gatehouse);
  const { publicPort, adminPort } = await gatehouse.listen();
  logger.info({ publicPort, adminPort, pid: process.pid }, 'bench instance listening');
}

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await Promise.all(instances.map((g) => g.close().catch((err) => console.error('close failed', err))));
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
process.on('disconnect', () => void stop());
