import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Client } from 'node-zookeeper-client';
import { startZooKeeper, type ZooKeeperCluster } from '../../../test-support/zookeeper.js';
import { LockLostError, LockTimeoutError, ZooKeeperLockManager, type Lock } from '../src/index.js';
import { children, eventually, rawClient, recordingLogger, removeRecursive, stat } from './helpers.js';

let zk: ZooKeeperCluster;
let admin: Client;
const managers: ZooKeeperLockManager[] = [];

function manager(options: Partial<ConstructorParameters<typeof ZooKeeperLockManager>[0]> = {}): ZooKeeperLockManager {
  const m = new ZooKeeperLockManager({
    connectionString: zk.connectionString,
    sessionTimeoutMs: 4_000,
    namespace: 'basic',
    ...options,
  });
  managers.push(m);
  return m;
}

beforeAll(async () => {
  zk = await startZooKeeper();
  admin = await rawClient(zk.connectionString);
});

afterAll(async () => {
  await Promise.allSettled(managers.map((m) => m.close()));
  admin?.close();
  await zk?.stop();
});

describe('ZooKeeperLockManager on a standalone server', () => {
  test('acquires, reports connected, and its fencing token is the lock node czxid (needs the create-zxid patch)', async () => {
    const m = manager();
    await m.waitConnected();
    expect(m.state).toBe('connected');
    const lock = await m.acquire('k1');
    const path = (lock as unknown as { path: string }).path;
    const s = await stat(admin, path);
    expect(s).not.toBeNull();
    expect(lock.fencingToken).toBe(s!.czxid.readBigInt64BE(0));
    await lock.release();
    await lock.release();
    expect(lock.held).toBe(false);
    expect(await stat(admin, path)).toBeNull();
  });
});
