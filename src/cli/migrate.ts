import { loadConfigOrExit } from '../config/config.js';
import { createLogger } from '../observability/logger.js';
import { Database } from '../storage/database.js';

/** `npm run migrate`: applies pending migrations to the configured database and exits. */
async function migrate(): Promise<void> {
  const config = loadConfigOrExit();
  const logger = createLogger(config.logLevel, config.logFormat);
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
