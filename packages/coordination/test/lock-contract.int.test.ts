import { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import { startRedis, type RedisServer } from '../../../test-support/redis.js';
import { startZooKeeper, type ZooKeeperCluster } from '../../../test-support/zookeeper.js';
import { LocalLockManager } from '../src/index.js';
import { ZooKeeperLockManager } from '../src/zookeeper/index.js';
import { RedisLockManager } from '../src/redis/index.js';
import { describeLockContract } from './lock-contract.js';

let redis: RedisServer;
let admin: Redis;
let zk: ZooKeeperCluster;
let namespaces = 0;

beforeAll(async () => {
  [redis, zk] = await Promise.all([startRedis(), startZooKeeper()]);
  admin = new Redis(redis.url, { lazyConnect: true });
  await admin.connect();
});

afterAll(async () => {
  admin?.disconnect();
  await Promise.allSettled([redis?.stop(), zk?.stop()]);
});

describeLockContract('LocalLockManager', async () => {
  const manager = new LocalLockManager();
  return { manager, isFree: async () => manager.activeKeys === 0 };
});

describeLockContract('RedisLockManager', async () => {
  const keyPrefix = 'contract:';
  const manager = new RedisLockManager({ url: redis.url, keyPrefix });
  return { manager, isFree: async (key) => (await admin.exists(keyPrefix + key)) === 0 };
});

describeLockContract('ZooKeeperLockManager (standalone)', async () => {
  const manager = new ZooKeeperLockManager({
    connectionString: zk.connectionString,
    sessionTimeoutMs: 4_000,
    namespace: `contract-${++namespaces}`,
    reapDelayMs: 0,
  });
  await manager.waitConnected();
  return { manager };
});
