/**
 * Cluster mode and ZooKeeper credentials (issue 11): with ZOOKEEPER_AUTH the service restricts an existing,
 * world-writable namespace at start; without, it warns. A real ZooKeeper, started by the harness.
 */
import { ZooKeeperLockManager } from '@catraca/coordination/zookeeper';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startZooKeeper, type ZooKeeperCluster } from '../../../test-support/zookeeper.js';
import { openZooKeeperLocks } from '../src/cluster-locks.js';
import { loadConfig } from '../src/config.js';

let zk: ZooKeeperCluster;
beforeAll(async () => {
  zk = await startZooKeeper();
});
afterAll(async () => {
  await zk?.stop();
});

function recording() {
  const lines: Array<{ level: number; msg: string }> = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { logger, lines };
}

describe('cluster mode: ZooKeeper credentials', () => {
  it('with ZOOKEEPER_AUTH, a namespace created without credentials is restricted at start', async () => {
    const open = new ZooKeeperLockManager({ connectionString: zk.connectionString, namespace: 'svc', reapDelayMs: 60_000 });
    await (await open.acquire('account-acc-1')).release();
    await open.close();

    const config = loadConfig({ LOCK: 'zookeeper', ZOOKEEPER_CONNECT: zk.connectionString, ZOOKEEPER_NAMESPACE: 'svc', ZOOKEEPER_AUTH: 'catraca:pw-for-tests-0001' });
    const { logger, lines } = recording();
    const locks = await openZooKeeperLocks(config, logger);
    try {
      const repaired = lines.find((l) => l.msg === 'ZooKeeper namespace ACLs repaired') as { repaired?: number } | undefined;
      expect(repaired?.repaired).toBeGreaterThanOrEqual(3);
      // A client without the credentials can no longer block an account.
      const intruder = new ZooKeeperLockManager({ connectionString: zk.connectionString, namespace: 'svc', operationTimeoutMs: 3_000 });
      await expect(intruder.acquire('account-acc-1', { timeoutMs: 3_000 })).rejects.toThrow();
      await intruder.close();
      await (await locks.acquire('account-acc-1')).release();
    } finally {
      await locks.close();
    }
  });

  it('without ZOOKEEPER_AUTH, start-up warns that the lock tree is open', async () => {
    const config = loadConfig({ LOCK: 'zookeeper', ZOOKEEPER_CONNECT: zk.connectionString, ZOOKEEPER_NAMESPACE: 'open' });
    const { logger, lines } = recording();
    const locks = await openZooKeeperLocks(config, logger);
    await locks.close();
    expect(lines.some((l) => l.level === 40 && /without credentials/.test(l.msg))).toBe(true);
  });
});
