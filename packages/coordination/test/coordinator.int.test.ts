/**
 * The Coordinator API on a real standalone ZooKeeper: revocation, participants, batched try-locks and releases, group
 * membership, change notification, persistent parents, and the node-deleted signal.
 */
import type { Client } from 'node-zookeeper-client';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { FaultProxy } from '../../../test-support/fault-proxy.js';
import { startZooKeeper, type ZooKeeperCluster } from '../../../test-support/zookeeper.js';
import { InvalidArgumentError, LockLostError, LockTimeoutError, type Lock } from '../src/index.js';
// The modules themselves: the package's entry layout (root vs /zookeeper subpath) is not this test's concern.
import type { ZooKeeperLockManagerOptions } from '../src/zookeeper/options.js';
import { ZooKeeperLockManager } from '../src/zookeeper/zookeeper-lock-manager.js';
import { children, eventually, rawClient, remove, stat } from './helpers.js';

const pathOf = (lock: Lock): string => (lock as unknown as { path: string }).path;

let zk: ZooKeeperCluster;
let admin: Client;
const managers: ZooKeeperLockManager[] = [];
let namespaces = 0;

async function manager(options: Partial<ZooKeeperLockManagerOptions> = {}): Promise<ZooKeeperLockManager> {
  const m = new ZooKeeperLockManager({
    connectionString: zk.connectionString,
    sessionTimeoutMs: 4_000,
    namespace: 'coord',
    ...options,
  });
  managers.push(m);
  await m.waitConnected();
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

describe('revocation (Curator makeRevocable / Revoker)', () => {
  test('a waiter asks the holder to let go: the holder is called once, keeps the lock until it decides', async () => {
    const [a, b] = await Promise.all([manager(), manager()]);
    const calls: Lock[] = [];
    const holder = await a.acquire('rev-1', { onRevocationRequested: (lock) => calls.push(lock) });
    expect(await b.requestRevocation('rev-1')).toBe(true);
    await eventually(() => calls.length === 1, 10_000, 'revocation callback');
    expect(calls[0]).toBe(holder);
    expect(holder.held).toBe(true);
    expect(holder.signal.aborted).toBe(false);
    // The marker is Curator's: "__REVOKE__" written on the holder's node.
    const data = await new Promise<Buffer | undefined>((resolve, reject) =>
      admin.getData(pathOf(holder), (error, d) => (error ? reject(error) : resolve(d))),
    );
    expect(data?.toString()).toBe('__REVOKE__');
    // At most once per acquisition.
    expect(await b.requestRevocation('rev-1')).toBe(true);
    await sleep(200);
    expect(calls).toHaveLength(1);
    // The holder decides: it releases, and the waiter gets the lock.
    const waiting = b.acquire('rev-1', { timeoutMs: 10_000 });
    await holder.release();
    const next = await waiting;
    expect(next.fencingToken > holder.fencingToken).toBe(true);
    await next.release();
  });

  test('a holder that releases in its callback hands over to the waiter; nobody to revoke → false', async () => {
    const [a, b] = await Promise.all([manager(), manager()]);
    expect(await b.requestRevocation('rev-free')).toBe(false);
    await a.acquire('rev-2', { onRevocationRequested: (lock) => void lock.release() });
    const waiting = b.acquire('rev-2', { timeoutMs: 10_000 });
    await eventually(async () => (await b.participants('rev-2')).length === 2, 10_000, 'waiter queued');
    expect(await b.requestRevocation('rev-2')).toBe(true);
    const lock = await waiting;
    expect(lock.held).toBe(true);
    await lock.release();
  });

  test('a lock without onRevocationRequested ignores requests', async () => {
    const [a, b] = await Promise.all([manager(), manager()]);
    const holder = await a.acquire('rev-3');
    expect(await b.requestRevocation('rev-3')).toBe(true);
    await sleep(200);
    expect(holder.held).toBe(true);
    await holder.release();
  });
});

describe('participants', () => {
  test('holder first, then waiters in queue order, with their session ids', async () => {
    const [a, b, c] = await Promise.all([manager(), manager(), manager()]);
    expect(await a.participants('part-1')).toEqual([]);
    const holder = await a.acquire('part-1');
    const wb = b.acquire('part-1', { timeoutMs: 20_000 });
    await eventually(async () => (await a.participants('part-1')).length === 2, 10_000, 'b queued');
    const wc = c.acquire('part-1', { timeoutMs: 20_000 });
    await eventually(async () => (await a.participants('part-1')).length === 3, 10_000, 'c queued');
    const list = await c.participants('part-1');
    expect(list.map((p) => p.isHolder)).toEqual([true, false, false]);
    expect(list[0]!.node).toBe(pathOf(holder).split('/').pop());
    const owner = (await stat(admin, pathOf(holder)))!.ephemeralOwner.toString('hex');
    expect(list[0]!.sessionId).toBe(owner);
    expect(new Set(list.map((p) => p.sessionId)).size).toBe(3);
    await holder.release();
    const lb = await wb;
    expect((await a.participants('part-1'))[0]!.node).toBe(pathOf(lb).split('/').pop());
    await lb.release();
    await (await wc).release();
    await eventually(async () => (await a.participants('part-1')).length === 0, 10_000, 'empty');
  });
});

describe('tryAcquireMany / releaseMany', () => {
  test('free keys are locked in one transaction, busy ones omitted and their nodes deleted; parents created', async () => {
    const [a, b] = await Promise.all([manager({ namespace: 'batch', reapDelayMs: Infinity }), manager({ namespace: 'batch', reapDelayMs: Infinity })]);
    const busy = await b.acquire('acct-2');
    const keys = ['acct-1', 'acct-2', 'acct-3', 'acct-4'];
    const locks = await a.tryAcquireMany(keys);
    expect([...locks.keys()].sort()).toEqual(['acct-1', 'acct-3', 'acct-4']);
    // One transaction: every node has the same czxid, which is every lock's fencing token.
    const tokens = new Set([...locks.values()].map((l) => l.fencingToken));
    expect(tokens.size).toBe(1);
    for (const lock of locks.values()) {
      expect((await stat(admin, pathOf(lock)))!.czxid.readBigInt64BE(0)).toBe(lock.fencingToken);
      expect(lock.held).toBe(true);
    }
    await eventually(async () => (await children(admin, '/batch/locks/acct-2')).length === 1, 10_000, 'busy node deleted');
    // A second batch finds them all busy.
    expect((await b.tryAcquireMany(['acct-1', 'acct-3'])).size).toBe(0);
    await a.releaseMany([...locks.values()]);
    for (const lock of locks.values()) {
      expect(lock.held).toBe(false);
      expect(await stat(admin, pathOf(lock))).toBeNull();
    }
    // Parents are persistent (reapDelayMs: Infinity) and the keys free again.
    expect(await stat(admin, '/batch/locks/acct-1')).not.toBeNull();
    const again = await b.tryAcquireMany(['acct-1', 'acct-3', 'acct-4']);
    expect(again.size).toBe(3);
    expect([...again.values()][0]!.fencingToken > [...tokens][0]!).toBe(true);
    await b.releaseMany([...again.values(), busy]);
    expect(await children(admin, '/batch/locks/acct-2')).toEqual([]);
  });

  test('concurrent batches on the same keys never grant a key twice', async () => {
    const ms = await Promise.all([1, 2, 3].map(() => manager({ namespace: 'batch-race', reapDelayMs: 0 })));
    const keys = Array.from({ length: 40 }, (_, i) => `r-${i}`);
    const nodesLeft = async () =>
      (await Promise.all(keys.map((key) => children(admin, `/batch-race/locks/${key}`).catch(() => [])))).flat().length;
    for (let round = 0; round < 8; round++) {
      // Every key free at the start of a round: a batch gives back the nodes of its busy keys in the background, and a
      // node still waiting for that delete (a loaded machine) would make its key look busy to the next round.
      await eventually(async () => (await nodesLeft()) === 0, 20_000, 'the previous round left no lock node');
      const results = await Promise.all(ms.map((m) => m.tryAcquireMany(keys)));
      const granted = results.flatMap((r) => [...r.keys()]);
      expect(new Set(granted).size).toBe(granted.length);
      // Per key, the lowest node wins whoever sent it: every key goes to exactly one batch.
      expect(granted.length).toBe(keys.length);
      await Promise.all(results.map((r, i) => ms[i]!.releaseMany([...r.values()])));
    }
  });

  test('batches above one transaction are chunked (600 keys), and a batch lock behaves like any lock', async () => {
    const a = await manager({ namespace: 'batch-big', reapDelayMs: 0 });
    const keys = Array.from({ length: 600 }, (_, i) => `k-${i}`);
    const locks = await a.tryAcquireMany(keys);
    expect(locks.size).toBe(600);
    expect(new Set([...locks.values()].map((l) => l.fencingToken)).size).toBe(2);
    const b = await manager({ namespace: 'batch-big' });
    await expect(b.acquire('k-7', { timeoutMs: 0 })).rejects.toBeInstanceOf(LockTimeoutError);
    await a.releaseMany([...locks.values()]);
    const lock = await b.acquire('k-7', { timeoutMs: 0 });
    await lock.release();
    await eventually(async () => (await children(admin, '/batch-big/locks')).length === 0, 20_000, 'parents reaped');
  });

  test('releaseMany with a node deleted by hand: that lock reports node-deleted, the others are released', async () => {
    const a = await manager({ namespace: 'batch-del' });
    const locks = [...(await a.tryAcquireMany(['x', 'y', 'z'])).values()];
    const [x, y] = locks;
    await remove(admin, pathOf(y!));
    await a.releaseMany(locks);
    expect(y!.signal.aborted).toBe(true);
    expect((y!.signal.reason as LockLostError).reason).toBe('node-deleted');
    expect(x!.signal.aborted).toBe(false);
    for (const lock of locks) expect(await stat(admin, pathOf(lock))).toBeNull();
  });

  test('a batch whose signal fires mid-way fails as a whole (LockTimeoutError) and leaves no node behind', async () => {
    const a = await manager({ namespace: 'batch-abort', reapDelayMs: Infinity });
    const keys = Array.from({ length: 1_200 }, (_, i) => `a-${i}`);
    const controller = new AbortController();
    const reason = new Error('client went away');
    setTimeout(() => controller.abort(reason), 15);
    const outcome = await a.tryAcquireMany(keys, { signal: controller.signal }).catch((e: unknown) => e);
    if (outcome instanceof Map) {
      await a.releaseMany([...outcome.values()]);
    } else {
      expect(outcome).toBeInstanceOf(LockTimeoutError);
      expect((outcome as LockTimeoutError).cause).toBe(reason);
    }
    await eventually(async () => {
      const parents = await children(admin, '/batch-abort/locks').catch(() => [] as string[]);
      const counts = await Promise.all(parents.map((p) => children(admin, `/batch-abort/locks/${p}`).then((c) => c.length)));
      return counts.every((n) => n === 0);
    }, 20_000, 'no lock node left');
    await expect(a.tryAcquireMany(['x'], { signal: AbortSignal.abort(reason) })).rejects.toBeInstanceOf(LockTimeoutError);
  });

  test('invalid batches are rejected: duplicate keys, bad keys', async () => {
    const a = await manager();
    await expect(a.tryAcquireMany(['d', 'd'])).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(a.tryAcquireMany(['ok', 'bad/key'])).rejects.toBeInstanceOf(InvalidArgumentError);
    expect((await a.tryAcquireMany([])).size).toBe(0);
  });
});

describe('group membership', () => {
  test('members register with data, everyone sees the live list; leave and deletion by hand', async () => {
    const [a, b] = await Promise.all([manager({ namespace: 'groups' }), manager({ namespace: 'groups' })]);
    const ga = await a.joinGroup('replicas', 'r1', 'http://10.0.0.1:8080');
    const seen: Array<ReadonlyMap<string, string>> = [];
    ga.onChange((members) => seen.push(members));
    const gb = await b.joinGroup('replicas', 'r2', 'http://10.0.0.2:8080');
    expect([...gb.members()]).toEqual([
      ['r1', 'http://10.0.0.1:8080'],
      ['r2', 'http://10.0.0.2:8080'],
    ]);
    await eventually(() => ga.members().size === 2, 10_000, 'a sees b');
    expect(seen.at(-1)?.get('r2')).toBe('http://10.0.0.2:8080');
    // Deleted by hand: registered again.
    await remove(admin, '/groups/groups/replicas/r2');
    await eventually(async () => (await stat(admin, '/groups/groups/replicas/r2')) !== null, 10_000, 're-registered');
    await eventually(() => ga.members().size === 2, 10_000, 'a sees b again');
    await gb.leave();
    await gb.leave();
    await eventually(() => ga.members().size === 1, 10_000, 'a sees b leave');
    expect(await children(admin, '/groups/groups/replicas')).toEqual(['r1']);
    await ga.leave();
  });

  test('a member registers again after its session is lost; an id held by another live session is refused', async () => {
    const proxy = await FaultProxy.start({ port: zk.servers[0]!.clientPort });
    try {
      const viaProxy = await manager({ namespace: 'groups2', connectionString: proxy.address, sessionTimeoutMs: 4_000 });
      const other = await manager({ namespace: 'groups2' });
      const g = await viaProxy.joinGroup('workers', 'w1', 'one');
      const watcher = await other.joinGroup('workers', 'w0', 'zero');
      await eventually(() => watcher.members().size === 2, 10_000, 'both');
      await expect(other.joinGroup('workers', 'w1', 'dup')).rejects.toBeInstanceOf(InvalidArgumentError);
      const states: string[] = [];
      viaProxy.onStateChange((s) => states.push(s));
      proxy.setMode('blackhole');
      await eventually(() => states.includes('lost'), 20_000, 'session lost');
      proxy.setMode('pass');
      await eventually(() => states.at(-1) === 'connected', 20_000, 'new session');
      // The old node goes when the server expires the old session; the member then registers again.
      await eventually(async () => {
        const s = await stat(admin, '/groups2/groups/workers/w1');
        return s !== null && g.members().get('w1') === 'one' && watcher.members().has('w1');
      }, 30_000, 'registered again');
      expect(g.members().get('w0')).toBe('zero');
    } finally {
      await proxy.close();
    }
  });
});

describe('notify / watch', () => {
  test('every notify reaches every watcher in other processes; unsubscribe stops it', async () => {
    const [a, b, c] = await Promise.all([manager({ namespace: 'topics' }), manager({ namespace: 'topics' }), manager({ namespace: 'topics' })]);
    let bCalls = 0;
    let cCalls = 0;
    const offB = b.watch('config', () => bCalls++);
    c.watch('config', () => cCalls++);
    await sleep(100);
    await a.notify('config'); // first use creates the node
    await eventually(() => bCalls >= 1 && cCalls >= 1, 10_000, 'first notify');
    const before = bCalls;
    await a.notify('config');
    await eventually(() => bCalls > before && cCalls >= 2, 10_000, 'second notify');
    offB();
    const frozen = bCalls;
    await a.notify('config');
    await eventually(() => cCalls >= 3, 10_000, 'third notify');
    expect(bCalls).toBe(frozen);
    expect(() => a.watch('bad/topic', () => {})).toThrow(InvalidArgumentError);
    await expect(a.notify('bad/topic')).rejects.toBeInstanceOf(InvalidArgumentError);
  });
});

describe('notify / watch under a burst', () => {
  test('the last of many quick notifications is never lost (a change between an event and the next watch is read)', async () => {
    const [a, b] = await Promise.all([manager({ namespace: 'burst' }), manager({ namespace: 'burst' })]);
    for (let round = 0; round < 5; round++) {
      const topic = `t-${round}`;
      // As in real use: the writer changes some state, then notifies; the watcher re-reads the state when called.
      let written = 0;
      let read = -1;
      const off = b.watch(topic, () => (read = written));
      await a.notify(topic);
      await eventually(() => read >= 0, 10_000, 'first call');
      for (let i = 1; i <= 30; i++) {
        written = i;
        await a.notify(topic);
      }
      await eventually(() => read === 30, 10_000, 'the watcher to see the last change');
      off();
    }
  });
});

describe('lock node deleted by someone else', () => {
  test('the holder is told at once: signal fires with node-deleted, held becomes false', async () => {
    const a = await manager({ namespace: 'deleted' });
    const lock = await a.acquire('k');
    await sleep(50);
    await remove(admin, pathOf(lock));
    await eventually(() => lock.signal.aborted, 10_000, 'signal');
    expect(lock.held).toBe(false);
    expect((lock.signal.reason as LockLostError).reason).toBe('node-deleted');
    await lock.release(); // a lost lock: harmless
    const next = await a.acquire('k', { timeoutMs: 0 });
    await next.release();
  });

  test('release() right after the deletion (before the watch event) fires the signal before resolving', async () => {
    const a = await manager({ namespace: 'deleted2' });
    for (let i = 0; i < 5; i++) {
      const lock = await a.acquire('k');
      await remove(admin, pathOf(lock));
      await lock.release();
      expect(lock.signal.aborted).toBe(true);
      expect((lock.signal.reason as LockLostError).reason).toBe('node-deleted');
    }
  });
});

describe('try-lock', () => {
  test('timeoutMs 0 on a busy key fails at once and deletes its waiter node; on a free key it acquires', async () => {
    const [a, b] = await Promise.all([manager({ namespace: 'try' }), manager({ namespace: 'try' })]);
    const holder = await a.acquire('k');
    for (let i = 0; i < 5; i++) await expect(b.acquire('k', { timeoutMs: 0 })).rejects.toBeInstanceOf(LockTimeoutError);
    await eventually(async () => (await children(admin, '/try/locks/k')).length === 1, 10_000, 'waiter nodes deleted');
    await holder.release();
    const lock = await b.acquire('k', { timeoutMs: 0 });
    expect(lock.held).toBe(true);
    await lock.release();
  });
});

describe('timed-out waiters', () => {
  test('20 waiters timing out on a held lock leave no watcher behind (no MaxListenersExceededWarning)', async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error): void => void warnings.push(w);
    process.on('warning', onWarning);
    try {
      const [a, b] = await Promise.all([manager({ namespace: 'waiters' }), manager({ namespace: 'waiters' })]);
      const holder = await a.acquire('hot');
      for (let i = 0; i < 20; i++) {
        await expect(b.acquire('hot', { timeoutMs: 30 })).rejects.toBeInstanceOf(LockTimeoutError);
      }
      await sleep(100);
      expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
      const waiting = b.acquire('hot', { timeoutMs: 10_000 });
      await sleep(50);
      await holder.release();
      await (await waiting).release();
    } finally {
      process.off('warning', onWarning);
    }
  });
});

describe('multi() over node-zookeeper-client 1.1.3', () => {
  test('version 0 is honoured (the client turns it into -1), unsupported create modes are refused', async () => {
    const { ZkSession } = await import('../src/zookeeper/session.js');
    const { resolveOptions } = await import('../src/zookeeper/options.js');
    const { multi, MultiError } = await import('../src/zookeeper/multi.js');
    const session = new ZkSession(resolveOptions({ connectionString: zk.connectionString, sessionTimeoutMs: 4_000 }));
    try {
      await session.waitConnected(15_000);
      await multi(session, [{ op: 'create', path: '/multi-v0', mode: 0 }]);
      // Fresh node: version 0 matches.
      await multi(session, [{ op: 'check', path: '/multi-v0', version: 0 }, { op: 'setData', path: '/multi-v0', data: Buffer.from('1'), version: 0 }]);
      // Now at version 1: a compare-and-set on version 0 must fail (the unpatched call would match any version).
      const error = await multi(session, [{ op: 'setData', path: '/multi-v0', data: Buffer.from('2'), version: 0 }]).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(MultiError);
      expect((error as InstanceType<typeof MultiError>).zkName).toBe('BAD_VERSION');
      expect((error as InstanceType<typeof MultiError>).index).toBe(0);
      await multi(session, [{ op: 'remove', path: '/multi-v0', version: 1 }]);
      expect(await stat(admin, '/multi-v0')).toBeNull();
      // CONTAINER (4) and TTL modes: refused instead of silently becoming a persistent node.
      await expect(multi(session, [{ op: 'create', path: '/multi-c', mode: 4 }])).rejects.toBeInstanceOf(InvalidArgumentError);
      expect(await stat(admin, '/multi-c')).toBeNull();
    } finally {
      await session.close();
    }
  });
});
