import type { LockManager } from '@catraca/coordination';
import { RedisLockManager } from '@catraca/coordination/redis';
import { ZooKeeperLockManager, repairNamespaceAcls } from '@catraca/coordination/zookeeper';
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
  if (auth) {
    // Nodes created before credentials were configured stay open to anyone until their ACL is replaced.
    try {
      await repairNamespaceAcls({
        connectionString: config.ZOOKEEPER_CONNECT!,
        namespace: config.ZOOKEEPER_NAMESPACE,
        auth,
        logger,
      });
    } catch (error) {
      // Not fatal: the store's version check fences every write; the repair runs again at the next start.
      logger.error({ err: error }, 'ZooKeeper namespace ACL repair failed; nodes created without credentials may stay open');
    }
  } else {
    logger.warn(
      { namespace: config.ZOOKEEPER_NAMESPACE },
      'ZooKeeper without credentials (ZOOKEEPER_AUTH): anyone who reaches it can block an account by writing its lock nodes',
    );
  }
  return new ZooKeeperLockManager({
    connectionString: config.ZOOKEEPER_CONNECT!,
    sessionTimeoutMs: config.ZOOKEEPER_SESSION_TIMEOUT_MS,
    namespace: config.ZOOKEEPER_NAMESPACE,
    // An account's lock parent is kept this long after its last use: a lock on a warm account costs two writes
    // (create, delete) instead of four (create fails, parent, create, delete) plus the reap.
    // With cluster ownership (CLUSTER_SECRET), parents are never reaped: an owned account's lock is taken and let go
    // again over its life, and a kept parent makes each of those one create and one delete, with no NoNode race.
    reapDelayMs: config.CLUSTER_SECRET === undefined ? config.ZOOKEEPER_REAP_DELAY_MS : Infinity,
    ...(auth ? { auth } : {}),
    logger,
  });
}

/**
 * Opens the Redis lock manager (`LOCK=redis`): the design note's "simple and fast" alternative, with weaker guarantees
 * (a single Redis, lease-based); offered for comparison. Correctness still rests on the store's version check.
 */
export function openRedisLocks(config: Config, logger: Logger): LockManager {
  // On the cache's Redis, the lock manager uses the cache's ACL user too (LOCK_REDIS_URL carries its own).
  const url = new URL((config.LOCK_REDIS_URL ?? config.REDIS_URL)!);
  if (config.LOCK_REDIS_URL === undefined) {
    if (config.REDIS_USERNAME !== undefined && url.username === '') url.username = encodeURIComponent(config.REDIS_USERNAME);
    if (config.REDIS_PASSWORD !== undefined && url.password === '') url.password = encodeURIComponent(config.REDIS_PASSWORD);
  }
  return new RedisLockManager({
    url: url.toString(),
    keyPrefix: `${config.REDIS_KEY_PREFIX}lock:`,
    leaseMs: config.LOCK_LEASE_MS,
    logger,
  });
}
