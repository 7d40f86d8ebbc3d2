import { afterAll, beforeAll, expect, test } from 'vitest';
import type { Client } from 'node-zookeeper-client';
import { FaultProxy } from '../../../test-support/fault-proxy.js';
import { startZooKeeper, type ZooKeeperCluster } from '../../../test-support/zookeeper.js';
import { ZooKeeperLockManager } from '../src/zookeeper/index.js';
import { children, eventually, rawClient } from './helpers.js';

// A request that waits for a connection while its session is lost must not go out on the next session: the caller
// noted the old session as the owner of the node it creates, so a node made in the new session would be nobody's —
// and, being the lowest in the queue, it would block every later waiter until that session ended.

let zk: ZooKeeperCluster;
let admin: Client;
const managers: ZooKeeperLockManager[] = [];
const proxies: FaultProxy[] = [];

beforeAll(async () => {
  zk = await startZooKeeper();
  admin = await rawClient(zk.connectionString);
});

afterAll(async () => {
  await Promise.allSettled(managers.map((m) => m.close()));
  await Promise.allSettled(proxies.map((p) => p.close()));
  admin?.close();
  await zk?.stop();
});

test('an acquire issued while suspended, whose session is then lost, acquires on the new session and leaves no orphan node', async () => {
  const proxy = await FaultProxy.start({ port: zk.servers[0]!.clientPort });
  proxies.push(proxy);
  const m = new ZooKeeperLockManager({
    connectionString: proxy.address,
    sessionTimeoutMs: 4_000,
    operationTimeoutMs: 20_000, // the create waits for a connection across the session loss
    namespace: 'session-loss',
    reapDelayMs: 60_000, // keep the parent, to list it afterwards
  });
  managers.push(m);
  await m.waitConnected();
  // The key's parent exists, so the create that waits across the session loss succeeds when it goes out.
  await new Promise<void>((resolve, reject) => admin.mkdirp('/session-loss/locks/k', (e) => (e ? reject(e) : resolve())));
  const states: string[] = [];
  m.onStateChange((state) => states.push(state));

  proxy.setMode('blackhole'); // held bytes (the next session's handshake) are delivered when it passes again
  await eventually(() => m.state === 'suspended', 20_000, 'suspended');
  const acquiring = m.acquire('k', { timeoutMs: 30_000 });
  await eventually(() => states.includes('lost'), 20_000, 'session lost');
  proxy.setMode('pass');

  const lock = await acquiring;
  expect(m.state).toBe('connected');
  const nodes = await children(admin, '/session-loss/locks/k');
  expect(nodes).toHaveLength(1);
  await lock.release();
  expect(await children(admin, '/session-loss/locks/k')).toEqual([]);
}, 90_000);
