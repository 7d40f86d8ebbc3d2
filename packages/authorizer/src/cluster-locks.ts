import { ZooKeeperLockManager, type LockManager } from '@catraca/coordination';
import type { Logger } from 'pino';
import type { Config } from './config.js';
import { ConfigError } from './errors.js';

/** Opens the ZooKeeper lock manager (`LOCK=zookeeper`): one session per process serves every account's lock. */
export async function openZooKeeperLocks(config: Config, logger: Logger): Promise<LockManager> {
  let auth: { user: string; password: string } | undefined;
  if (config.ZOOKEEPER_AUTH !== undefined) {
    const separator = config.ZOOKEEPER_AUTH.indexOf(':');
    if (separator <= 0 || separator === config.ZOOKEEPER_AUTH.length - 1) {
      throw new ConfigError('ZOOKEEPER_AUTH must be user:password');
    }
    auth = {
      user: config.ZOOKEEPER_AUTH.slice(0, separator),
      password: config.ZOOKEEPER_AUTH.slice(separator + 1),
    };
  }
  return new ZooKeeperLockManager({
    connectionString: config.ZOOKEEPER_CONNECT!,
    sessionTimeoutMs: config.ZOOKEEPER_SESSION_TIMEOUT_MS,
    namespace: config.ZOOKEEPER_NAMESPACE,
    ...(auth ? { auth } : {}),
    logger,
  });
}
