import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Client } from 'node-zookeeper-client';
import { FaultProxy } from '../../../test-support/fault-proxy.js';
import { startEnsemble, startZooKeeper, type ZooKeeperCluster } from '../../../test-support/zookeeper.js';
import { LockLostError, type ConnectionState, type Lock } from '../src/index.js';
import { ZooKeeperLockManager } from '../src/zookeeper/index.js';
import { children, eventually, rawClient, recordingLogger, stat } from './helpers.js';

const pathOf = (lock: Lock): string => (lock as unknown as { path: string }).path;
const managers: ZooKeeperLockManager[] = [];
const proxies: FaultProxy[] = [];

function manager(options: ConstructorParameters<typeof ZooKeeperLockManager>[0]): ZooKeeperLockManager {
  const m = new ZooKeeperLockManager({ namespace: 'faults', reapDelayMs: 0, ...options });
  managers.push(m);
  return m;
}

async function proxy(port: number): Promise<FaultProxy> {
  const p = await FaultProxy.start({ port });
  proxies.push(p);
  return p;
}

/** Records every state change with its time. */
function states(m: ZooKeeperLockManager): Array<{ state: ConnectionState; at: number }> {
  const seen: Array<{ state: ConnectionState; at: number }> = [];
  m.onStateChange((state) => seen.push({ state, at: Date.now() }));
  return seen;
}

afterAll(async () => {
  await Promise.allSettled(managers.map((m) => m.close()));
  await Promise.allSettled(proxies.map((p) => p.close()));
});

describe('standalone server behind a fault proxy', () => {
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

  test('create reply lost (connection dropped after the request was forwarded): the node is adopted, no orphan', async () => {
    const p = await proxy(zk.servers[0]!.clientPort);
    const logger = recordingLogger();
    const m = manager({ connectionString: p.address, sessionTimeoutMs: 4_000, logger });
    await m.waitConnected();
    await new Promise<void>((resolve, reject) =>
      admin.mkdirp('/faults/locks/adopt', (e) => (e ? reject(e) : resolve())),
    );
    const dropped = p.dropAfterRequest((f) => f.type === 1 && f.frame.includes('/faults/locks/adopt/_c_'));
    const lock = await m.acquire('adopt', { timeoutMs: 20_000 });
    await dropped;
    expect(logger.count('lock.adopted')).toBe(1);
    const nodes = await children(admin, '/faults/locks/adopt');
    expect(nodes).toEqual([pathOf(lock).split('/').pop()]);
    expect(lock.fencingToken).toBe((await stat(admin, pathOf(lock)))!.czxid.readBigInt64BE(0));
    await lock.release();
    await eventually(async () => (await stat(admin, '/faults/locks/adopt')) === null, 20_000, 'no orphan left');
  });

  test('blackhole longer than the session timeout: the holder learns (suspended, then lost) before another takes the lock', async () => {
    const p = await proxy(zk.servers[0]!.clientPort);
    const partitioned = manager({ connectionString: p.address, sessionTimeoutMs: 2_000});
    const other = manager({ connectionString: zk.connectionString, sessionTimeoutMs: 2_000 });
    const seen = states(partitioned);
    const lock = await partitioned.acquire('partition');
    let lostAt = 0;
    lock.signal.addEventListener('abort', () => (lostAt = Date.now()));
    const taken = other.acquire('partition', { timeoutMs: 30_000 }).then((l) => ({ lock: l, at: Date.now() }));

    p.setMode('blackhole');
    const { lock: otherLock, at: takenAt } = await taken;
    expect(lock.signal.aborted).toBe(true);
    expect(lock.signal.reason).toBeInstanceOf(LockLostError);
    expect((lock.signal.reason as LockLostError).reason).toBe('session-lost');
    expect(lostAt).toBeGreaterThan(0);
    expect(lostAt).toBeLessThanOrEqual(takenAt);
    const order = seen.map((s) => s.state);
    expect(order.indexOf('suspended')).toBeGreaterThanOrEqual(0);
    expect(order.indexOf('lost')).toBeGreaterThan(order.indexOf('suspended'));
    expect(otherLock.fencingToken > lock.fencingToken).toBe(true);

    // Healed: the library made a new session by itself, and it works.
    p.setMode('pass');
    await eventually(() => partitioned.state === 'connected', 20_000, 'new session');
    const waiting = partitioned.acquire('partition', { timeoutMs: 20_000 });
    await otherLock.release();
    const again = await waiting;
    expect(again.fencingToken > otherLock.fencingToken).toBe(true);
    await again.release();
  });

  test('a blackhole shorter than the session timeout keeps the lock (suspended, then reconnected)', async () => {
    const p = await proxy(zk.servers[0]!.clientPort);
    const m = manager({ connectionString: p.address, sessionTimeoutMs: 4_000 });
    const seen = states(m);
    const lock = await m.acquire('short');
    p.setMode('blackhole');
    await eventually(() => m.state === 'suspended', 20_000, 'suspended');
    p.setMode('pass');
    await eventually(() => m.state === 'reconnected', 20_000, 'reconnected');
    expect(seen.map((s) => s.state)).toEqual(['connected', 'suspended', 'reconnected']);
    expect(lock.held).toBe(true);
    expect(lock.signal.aborted).toBe(false);
    expect(await stat(admin, pathOf(lock))).not.toBeNull();
    await lock.release();
    expect(await stat(admin, pathOf(lock))).toBeNull();
  });
});

describe('ensemble member that accepts TCP but never answers', () => {
  let ensemble: ZooKeeperCluster;

  beforeAll(async () => {
    ensemble = await startEnsemble(3);
  });

  afterAll(async () => {
    await ensemble?.stop();
  });

  test('is abandoned for another member within the session (same session, lock kept)', async () => {
    const ps = await Promise.all(ensemble.servers.map((s) => proxy(s.clientPort)));
    const sessionTimeoutMs = 3_000;
    const m = manager({ connectionString: ps.map((p) => p.address).join(','), sessionTimeoutMs });
    const seen = states(m);
    const lock = await m.acquire('hung');
    const current = ps.find((p) => p.activeConnections > 0)!;
    expect(current).toBeDefined();
    const hungAt = Date.now();
    current.setMode('blackhole');
    await eventually(() => m.state === 'reconnected', 20_000, 'reconnected to another member');
    const movedAfterMs = Date.now() - hungAt;
    expect(seen.map((s) => s.state)).toEqual(['connected', 'suspended', 'reconnected']);
    expect(ps.filter((p) => p !== current).some((p) => p.activeConnections > 0)).toBe(true);
    expect(lock.held).toBe(true);
    // Moving happened inside the session timeout: the session (and the lock) survived.
    expect(movedAfterMs).toBeLessThan(m.sessionTimeoutMs);
    await lock.release();
    current.setMode('pass');
  });
});
