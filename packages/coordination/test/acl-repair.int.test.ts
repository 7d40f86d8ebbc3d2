import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { ACL, Client } from 'node-zookeeper-client';
import { startZooKeeper, type ZooKeeperCluster } from '../../../test-support/zookeeper.js';
import { CoordinationUnavailableError } from '../src/index.js';
import { repairNamespaceAcls, ZooKeeperLockManager } from '../src/zookeeper/index.js';
import { create, rawClient } from './helpers.js';

let zk: ZooKeeperCluster;
let admin: Client;

beforeAll(async () => {
  zk = await startZooKeeper();
  admin = await rawClient(zk.connectionString);
});

afterAll(async () => {
  admin?.close();
  await zk?.stop();
});

const aclOf = (client: Client, path: string) =>
  new Promise<ACL[]>((resolve, reject) => client.getACL(path, (e, acl) => (e ? reject(e) : resolve(acl))));
const code = (p: Promise<unknown>) => p.then(() => 0, (e: { code: number }) => e.code);

describe('repairNamespaceAcls', () => {
  test('restricts a namespace created without credentials to the configured identity', async () => {
    // A namespace from before credentials were turned on: world-writable lock parents.
    const open = new ZooKeeperLockManager({ connectionString: zk.connectionString, namespace: 'legacy', sessionTimeoutMs: 4_000, reapDelayMs: 60_000 });
    const lock = await open.acquire('account-1');
    await lock.release();
    await open.close();
    const stranger = await rawClient(zk.connectionString);
    try {
      expect(await code(create(stranger, '/legacy/locks/account-1/x'))).toBe(0);

      const auth = { user: 'catraca', password: 'pw-for-tests' };
      const report = await repairNamespaceAcls({ connectionString: zk.connectionString, namespace: 'legacy', auth });
      expect(report.repaired).toBe(report.checked);
      expect(report.checked).toBeGreaterThanOrEqual(4); // /legacy, /legacy/locks, its key, the intruder's node
      expect(report.refused).toEqual([]);
      // Anyone else is now refused everywhere in the namespace (-102 NO_AUTH).
      expect(await code(create(stranger, '/legacy/locks/account-1/y'))).toBe(-102);
      expect(await code(create(stranger, '/legacy/locks/account-2'))).toBe(-102);
      expect(await code(create(stranger, '/legacy/other'))).toBe(-102);
      const acl = await rawClient(zk.connectionString, auth).then(async (owner) => {
        try {
          return await aclOf(owner, '/legacy/locks');
        } finally {
          owner.close();
        }
      });
      expect(acl.map((a) => a.id.scheme)).toEqual(['digest']);
      // Idempotent: a second run finds nothing to repair; the owner keeps using the namespace.
      const again = await repairNamespaceAcls({ connectionString: zk.connectionString, namespace: 'legacy', auth });
      expect(again.repaired).toBe(0);
      const owner = new ZooKeeperLockManager({ connectionString: zk.connectionString, namespace: 'legacy', auth, sessionTimeoutMs: 4_000 });
      await (await owner.acquire('account-1')).release();
      await owner.close();
    } finally {
      stranger.close();
    }
  });

  test('a namespace that does not exist yet is nothing to repair', async () => {
    const report = await repairNamespaceAcls({
      connectionString: zk.connectionString,
      namespace: 'absent',
      auth: { user: 'u', password: 'p' },
    });
    expect(report).toEqual({ checked: 0, repaired: 0, refused: [] });
  });

  test('an unreachable ZooKeeper is CoordinationUnavailableError within the bound', async () => {
    await expect(
      repairNamespaceAcls({ connectionString: '127.0.0.1:1', namespace: 'x', auth: { user: 'u', password: 'p' }, timeoutMs: 500 }),
    ).rejects.toBeInstanceOf(CoordinationUnavailableError);
  });
});
