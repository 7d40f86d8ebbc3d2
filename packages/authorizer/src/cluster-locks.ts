import type { LockManager } from '@catraca/coordination';
import type { Logger } from 'pino';
import type { Config } from './config.js';
import { ConfigError } from './errors.js';

/** Opens the ZooKeeper lock manager (`LOCK=zookeeper`). */
export async function openZooKeeperLocks(_config: Config, _logger: Logger): Promise<LockManager> {
  throw new ConfigError('LOCK=zookeeper is not available in this build');
}
