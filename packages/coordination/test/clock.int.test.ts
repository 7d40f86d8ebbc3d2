import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, expect, test, vi } from 'vitest';
import { FaultProxy } from '../../../test-support/fault-proxy.js';
import { startZooKeeper, type ZooKeeperCluster } from '../../../test-support/zookeeper.js';
import { LockLostError, type ConnectionState } from '../src/index.js';
import { ZooKeeperLockManager } from '../src/zookeeper/index.js';
import { rawClient } from './helpers.js';

// The session watchdog measures silence on a monotonic clock: stepping the wall clock (NTP, an operator, a VM resumed
// from a snapshot) must change nothing. Date.now is stepped here while a real server answers (or does not).

let zk: ZooKeeperCluster;
const managers: ZooKeeperLockManager[] = [];
const proxies: FaultProxy[] = [];
const sessionTimeoutMs = 4_000;
const realNow = Date.now.bind(Date);

beforeAll(async () => {
  zk = await startZooKeeper();
});

afterEach(() => {
  vi.restoreAllMocks();
});

afterAll(async () => {
  await Promise.allSettled(managers.map((m) => m.close()));
  await Promise.allSettled(proxies.map((p) => p.close()));
  await zk?.stop();
});

function manager(connectionString: string): ZooKeeperLockManager {
  const m = new ZooKeeperLockManager({ connectionString, sessionTimeoutMs, namespace: 'clock', reapDelayMs: 0 });
  managers.push(m);
  return m;
}

/** From now on Date.now() is `offsetMs` away from the real time. */
function stepWallClock(offsetMs: number): void {
  vi.spyOn(Date, 'now').mockImplementation(() => realNow() + offsetMs);
}

test('the wall clock stepped 30 s forward on a healthy network drops nothing', async () => {
  const m = manager(zk.connectionString);
  const lock = await m.acquire('forward', { timeoutMs: 20_000 });
  const seen: ConnectionState[] = [];
  m.onStateChange((state) => seen.push(state));
  stepWallClock(30_000);
  await sleep(1.5 * sessionTimeoutMs); // real time: the watchdog runs many times meanwhile
  expect(seen).toEqual([]);
  expect(m.state).toBe('connected');
  expect(lock.held).toBe(true);
  expect(lock.signal.aborted).toBe(false);
  await lock.release();
}, 60_000);

test('the wall clock stepped 30 s back during a partition: the holder is still told before another process gets the lock', async () => {
  const proxy = await FaultProxy.start({ port: zk.servers[0]!.clientPort });
  proxies.push(proxy);
  const holder = manager(proxy.address);
  const other = manager(zk.connectionString);
  const lock = await holder.acquire('back', { timeoutMs: 20_000 });
  let lostAt = 0;
  lock.signal.addEventListener('abort', () => (lostAt = performance.now()));
  await other.waitConnected();
  stepWallClock(-30_000);
  proxy.setMode('blackhole');
  const taken = await other.acquire('back', { timeoutMs: 60_000 });
  const takenAt = performance.now();
  expect(lock.signal.aborted).toBe(true);
  expect(lock.signal.reason).toBeInstanceOf(LockLostError);
  expect(lostAt).toBeGreaterThan(0);
  expect(lostAt).toBeLessThan(takenAt);
  await taken.release();
  proxy.setMode('pass');
}, 120_000);

test('a quiet session under a chroot stays connected: the sync heartbeat is answered (else it would be lost at 0.7·T)', async () => {
  const admin = await rawClient(zk.connectionString);
  try {
    await new Promise<void>((resolve, reject) => admin.mkdirp('/chrooted', (e) => (e ? reject(e) : resolve())));
  } finally {
    admin.close();
  }
  const m = manager(`${zk.connectionString}/chrooted`);
  const lock = await m.acquire('quiet', { timeoutMs: 20_000 });
  const seen: ConnectionState[] = [];
  m.onStateChange((state) => seen.push(state));
  await sleep(1.5 * sessionTimeoutMs);
  expect(seen).toEqual([]);
  expect(lock.signal.aborted).toBe(false);
  await lock.release();
}, 60_000);
