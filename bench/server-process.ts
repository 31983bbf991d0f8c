/**
 * Gatehouse in a process of its own, for the benchmark: the load generator must not share the
 * server's event loop. Configured entirely by environment (the runner passes storage, ports and
 * issuer); stops cleanly on SIGTERM / SIGINT.
 */
import { createGatehouse } from '../src/app.js';
import { loadConfig } from '../src/config/config.js';
import { createLogger } from '../src/observability/logger.js';

const config = loadConfig(process.env);
const logger = createLogger(config.logLevel);
const gatehouse = await createGatehouse(config, logger);
const { publicPort, adminPort } = await gatehouse.listen();
logger.info({ publicPort, adminPort, pid: process.pid }, 'bench server listening');

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await gatehouse.close().catch((err) => logger.error({ err }, 'close failed'));
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
// The runner is gone (its IPC or stdin closed): do not outlive it.
process.on('disconnect', () => void stop());
