import { afterAll, beforeAll } from 'vitest';
import { startZooKeeper, type ZooKeeperCluster } from '../../../test-support/zookeeper.js';
// The module itself: the package's entry layout (root vs /zookeeper subpath) is not this test's concern.
import { ZooKeeperLockManager } from '../src/zookeeper/zookeeper-lock-manager.js';
import { LocalLockManager } from '../src/index.js';
import { describeCoordinatorContract } from './coordinator-contract.js';

let zk: ZooKeeperCluster;
let namespaces = 0;

beforeAll(async () => {
  zk = await startZooKeeper();
});

afterAll(async () => {
  await zk?.stop();
});

describeCoordinatorContract('LocalLockManager', async () => {
  const m = new LocalLockManager();
  return { a: m, b: m };
});

describeCoordinatorContract('ZooKeeperLockManager (standalone, two sessions)', async () => {
  const namespace = `cc-${++namespaces}`;
  const make = (): ZooKeeperLockManager =>
    new ZooKeeperLockManager({ connectionString: zk.connectionString, sessionTimeoutMs: 4_000, namespace, reapDelayMs: 0 });
  const a = make();
  const b = make();
  await Promise.all([a.waitConnected(), b.waitConnected()]);
  return { a, b };
});
