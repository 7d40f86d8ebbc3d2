import type { Logger } from 'pino';
import type { Config } from './config.js';
import type { Store } from './store/port.js';

/**
 * Opens the cluster-mode store named by `STORE`. Loaded on demand so that embedded mode never loads a network
 * database driver.
 */
export async function openClusterStore(config: Config, logger: Logger): Promise<Store> {
  if (config.STORE === 'postgres') {
    const { openPostgresStore } = await import('./store/postgres/postgres-store.js');
    return openPostgresStore({
      connectionString: config.POSTGRES_URL!,
      maxConnections: config.POSTGRES_POOL_SIZE,
      applicationName: 'catraca',
      logger,
    });
  }
  const { openMongoStore } = await import('./store/mongodb/mongo-store.js');
  return openMongoStore({
    uri: config.MONGODB_URI!,
    databaseName: config.MONGODB_DB,
    commitTimeoutMs: config.STORE_COMMIT_TIMEOUT_MS,
    logger,
  });
}
