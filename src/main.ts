import type { Gatehouse } from './app.js';
import { loadConfigOrExit } from './config/config.js';
import { routeConsoleToLogger } from './observability/console-bridge.js';
import { createLogger } from './observability/logger.js';
import { databaseConnectionHint } from './storage/connection-hint.js';
import { DirectoryLockedError } from './storage/directory-lock.js';
import { DataDirectoryPermissionError } from './storage/private-directory.js';

/** sysexits.h codes for start-up failures an operator fixes outside Gatehouse. */
const EX_UNAVAILABLE = 69;
const EX_CANTCREAT = 73;
const EX_NOPERM = 77;

async function main(): Promise<void> {
  // Validated before anything is created on disk or in a database: a bad ISSUER exits 78 here.
  const config = loadConfigOrExit();
  const logger = createLogger(config.logLevel, config.logFormat);
  routeConsoleToLogger(logger);
  // Imported after the console is routed: oidc-provider prints its warnings at import time.
  const { createGatehouse } = await import('./app.js');
  if (!config.databaseUrl) logger.info({ dataDir: config.dataDir }, 'no DATABASE_URL: using embedded PGlite');
  if (
    config.issuer.startsWith('http://') &&
    !/^http:\/\/(localhost|127\.0\.0\.1|\[::1\])(:\d+)?$/.test(config.issuer)
  ) {
    logger.warn({ issuer: config.issuer }, 'ISSUER is not https: cookies are not Secure; use https in production');
  }

  let gatehouse: Gatehouse;
  try {
    gatehouse = await createGatehouse(config, logger);
  } catch (err) {
    exitOnStartupError(err, config.databaseUrl, logger);
  }
  const { publicPort, adminPort } = await gatehouse.listen();
  logger.info(
    { issuer: config.issuer, port: publicPort, adminPort, adminHost: config.adminHost, kids: gatehouse.kids },
    'gatehouse listening',
  );

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

/** Problems the operator fixes outside Gatehouse get one line on stderr and no stack; the rest is logged in full. */
function exitOnStartupError(
  err: unknown,
  databaseUrl: string | undefined,
  logger: ReturnType<typeof createLogger>,
): never {
  if (err instanceof DirectoryLockedError) {
    process.stderr.write(`gatehouse: ${err.message}\n`);
    process.exit(EX_CANTCREAT);
  }
  if (err instanceof DataDirectoryPermissionError) {
    process.stderr.write(`gatehouse: ${err.message}\n`);
    process.exit(EX_NOPERM);
  }
  const hint = databaseConnectionHint(err, databaseUrl);
  if (hint) {
    process.stderr.write(`gatehouse: ${hint}\n`);
    process.exit(EX_UNAVAILABLE);
  }
  logger.fatal({ err }, 'start-up failed');
  logger.flush?.();
  process.exit(1);
}

void main();
