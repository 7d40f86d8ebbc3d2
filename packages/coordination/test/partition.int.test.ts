import { afterAll, beforeAll, expect, test } from 'vitest';
import { startEnsemble, type ZooKeeperCluster, type ZooKeeperServer } from '../../../test-support/zookeeper.js';
import { LockLostError, type ConnectionState } from '../src/index.js';
import { ZooKeeperLockManager } from '../src/zookeeper/index.js';
import { eventually } from './helpers.js';

// A 3-node loopback ensemble whose server-to-server traffic goes through fault proxies: one FOLLOWER is cut off from
// the other two (quorum and election ports blackholed) while its client port stays reachable. That follower goes on
// answering reads for a while, so a heartbeat that is a read keeps saying "alive" while the leader expires the session.

let ensemble: ZooKeeperCluster;
const managers: ZooKeeperLockManager[] = [];
const sessionTimeoutMs = 4_000;

beforeAll(async () => {
  ensemble = await startEnsemble(3, { peerProxies: true });
});

afterAll(async () => {
  await Promise.allSettled(managers.map((m) => m.close()));
  await ensemble?.stop();
});

function manager(connectionString: string): ZooKeeperLockManager {
  const m = new ZooKeeperLockManager({ connectionString, sessionTimeoutMs, namespace: 'partition', reapDelayMs: 0 });
  managers.push(m);
  return m;
}

async function follower(): Promise<ZooKeeperServer> {
  const leader = await ensemble.leader();
  for (const server of ensemble.servers) {
    if (server !== leader && (await server.mode()) === 'follower') return server;
  }
  throw new Error('no follower');
}

test('a holder behind a follower cut off from the quorum learns its lock is lost before another process gets it', async () => {
  const isolated = await follower();
  const others = ensemble.servers.filter((s) => s !== isolated);
  // The holder can only reach the isolated follower; the other process only the two servers that keep the quorum.
  const holder = manager(isolated.address);
  const other = manager(others.map((s) => s.address).join(','));
  await Promise.all([holder.waitConnected(), other.waitConnected()]);
  const seen: Array<{ state: ConnectionState; at: number }> = [];
  holder.onStateChange((state) => seen.push({ state, at: performance.now() }));

  const lock = await holder.acquire('k', { timeoutMs: 20_000 });
  let lostAt = 0;
  lock.signal.addEventListener('abort', () => (lostAt = performance.now()));
  const cutAt = performance.now();
  ensemble.isolate(isolated.id);
  try {
    const taken = await other.acquire('k', { timeoutMs: 60_000 });
    const takenAt = performance.now();

    expect(lock.signal.aborted).toBe(true);
    expect(lock.signal.reason).toBeInstanceOf(LockLostError);
    expect((lock.signal.reason as LockLostError).reason).toBe('session-lost');
    expect(lostAt).toBeGreaterThan(0);
    expect(lostAt).toBeLessThan(takenAt);
    // In doubt (suspended) first, then lost.
    const states = seen.map((s) => s.state);
    expect(states.indexOf('suspended')).toBeGreaterThanOrEqual(0);
    expect(states.indexOf('lost')).toBeGreaterThan(states.indexOf('suspended'));
    expect(taken.fencingToken > lock.fencingToken).toBe(true);
    console.info(
      `partitioned follower: suspended +${Math.round(seen.find((s) => s.state === 'suspended')!.at - cutAt)} ms, ` +
        `signal +${Math.round(lostAt - cutAt)} ms, other acquired +${Math.round(takenAt - cutAt)} ms`,
    );
    await taken.release();
  } finally {
    ensemble.heal(isolated.id);
  }
  // Healed: the holder makes a new session by itself and locks again.
  await ensemble.waitServing();
  await eventually(() => holder.state === 'connected', 60_000, 'new session after the heal');
  const again = await holder.acquire('k', { timeoutMs: 30_000 });
  await again.release();
}, 180_000);

test('with the whole ensemble in its connection string, the holder moves to the quorum side and keeps its lock meanwhile nobody else gets it', async () => {
  const isolated = await follower();
  const holder = manager([isolated, ...ensemble.servers.filter((s) => s !== isolated)].map((s) => s.address).join(','));
  await holder.waitConnected();
  // Make sure the holder sits on the follower that will be cut off (the first address is not always the one used).
  const lock = await holder.acquire('moving', { timeoutMs: 20_000 });
  const other = manager(ensemble.servers.filter((s) => s !== isolated).map((s) => s.address).join(','));
  await other.waitConnected();
  ensemble.isolate(isolated.id);
  try {
    // Either the holder kept its session (moved to a quorum member: the other waits), or it lost it and was told first.
    const result = await other
      .acquire('moving', { timeoutMs: 3 * sessionTimeoutMs })
      .then((l) => ({ lock: l, at: performance.now() }))
      .catch((error: unknown) => ({ error }));
    if ('lock' in result) {
      expect(lock.signal.aborted).toBe(true);
      await result.lock.release();
    } else {
      expect((result.error as { code?: string }).code).toBe('LOCK_TIMEOUT');
      expect(lock.held).toBe(true);
      expect(lock.signal.aborted).toBe(false);
      expect(holder.state === 'reconnected' || holder.state === 'connected').toBe(true);
      await lock.release();
    }
  } finally {
    ensemble.heal(isolated.id);
  }
}, 180_000);
