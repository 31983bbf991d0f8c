import { ConfigError, loadConfig } from '../config/config.js';
import { createLogger } from '../observability/logger.js';
import { Database } from '../storage/database.js';

/** `npm run migrate`: applies pending migrations to the configured database and exits. */
async function migrate(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`gatehouse: ${err.message}\n`);
      process.exit(78);
    }
    throw err;
  }
  const logger = createLogger(config.logLevel);
  const database = await Database.open({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolMax: 1 });
  try {
    const applied = await database.migrate();
    logger.info({ migrations: applied }, applied.length ? 'migrations applied' : 'database is up to date');
  } finally {
    await database.close();
  }
}

migrate().catch((err) => {
  process.stderr.write(`gatehouse: migration failed: ${(err as Error).message}\n`);
  process.exit(1);
});
