import path from 'node:path';
import type { Config } from '../config.js';
import type { AuditLog } from './port.js';

/** Opens the audit trail beside the store named by `STORE` (same database), and creates its table if needed. */
export async function openAuditLog(config: Config): Promise<AuditLog> {
  let log: AuditLog;
  switch (config.STORE) {
    case 'sqlite': {
      const { SqliteAuditLog } = await import('./sqlite-audit.js');
      log = new SqliteAuditLog({ path: path.join(config.DATA_DIR, 'catraca.db') });
      break;
    }
    case 'postgres': {
      const { PostgresAuditLog } = await import('./postgres-audit.js');
      log = new PostgresAuditLog({ connectionString: config.POSTGRES_URL! });
      break;
    }
    case 'mongodb': {
      const { MongoAuditLog } = await import('./mongo-audit.js');
      log = new MongoAuditLog({ uri: config.MONGODB_URI!, databaseName: config.MONGODB_DB });
      break;
    }
  }
  try {
    await log.init();
  } catch (error) {
    await log.close().catch(() => {});
    throw error;
  }
  return log;
}
