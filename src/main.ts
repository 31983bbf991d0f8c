import { loadConfigOrExit } from './config/config.js';
import { createGatehouse, type Gatehouse } from './app.js';
import { createLogger } from './observability/logger.js';
import { DirectoryLockedError } from './storage/directory-lock.js';

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const logger = createLogger(config.logLevel);
  if (!config.databaseUrl) logger.info({ dataDir: config.dataDir }, 'no DATABASE_URL: using embedded PGlite');
  if (config.issuer.startsWith('http://') && !/^http:\/\/(localhost|127\.0\.0\.1|\[::1\])(:\d+)?$/.test(config.issuer)) {
    logger.warn({ issuer: config.issuer }, 'ISSUER is not https: cookies are not Secure; use https in production');
  }

  let gatehouse: Gatehouse;
  try {
    gatehouse = await createGatehouse(config, logger);
  } catch (err) {
    if (err instanceof DirectoryLockedError) {
      process.stderr.write(`gatehouse: ${err.message}\n`);
      process.exit(73); // EX_CANTCREAT
    }
    logger.fatal({ err }, 'start-up failed');
    process.exit(1);
  }
  const { publicPort, adminPort } = await gatehouse.listen();
  logger.info({ issuer: config.issuer, port: publicPort, adminPort, adminHost: config.adminHost, kids: gatehouse.kids }, 'gatehouse listening');

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: draining requests');
    await gatehouse.close();
    logger.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

void main();
