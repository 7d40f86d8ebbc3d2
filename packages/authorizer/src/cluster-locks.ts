import type { LockManager } from '@catraca/coordination';
import { RedisLockManager } from '@catraca/coordination/redis';
import { ZooKeeperLockManager } from '@catraca/coordination/zookeeper';
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
    // An account's lock parent is kept this long after its last use: a lock on a warm account costs two writes
    // (create, delete) instead of four (create fails, parent, create, delete) plus the reap.
    reapDelayMs: config.ZOOKEEPER_REAP_DELAY_MS,
    ...(auth ? { auth } : {}),
    logger,
  });
}

/**
 * Opens the Redis lock manager (`LOCK=redis`): the design note's "simple and fast" alternative, with weaker guarantees
 * (a single Redis, lease-based); offered for comparison. Correctness still rests on the store's version check.
 */
export function openRedisLocks(config: Config, logger: Logger): LockManager {
  return new RedisLockManager({
    url: (config.LOCK_REDIS_URL ?? config.REDIS_URL)!,
    keyPrefix: `${config.REDIS_KEY_PREFIX}lock:`,
    leaseMs: config.LOCK_LEASE_MS,
    logger,
  });
}
