import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import zookeeper, { type ACL, type Client } from 'node-zookeeper-client';
import { startZooKeeper, type ZooKeeperCluster } from '../../../test-support/zookeeper.js';
import { FaultProxy } from '../../../test-support/fault-proxy.js';
import { CoordinationUnavailableError, LockLostError, LockTimeoutError, type Lock } from '../src/index.js';
import { ZooKeeperLockManager } from '../src/zookeeper/index.js';
import { createWithZxid } from '../src/zookeeper/client-fixes.js';
import { children, create, eventually, rawClient, recordingLogger, remove, removeRecursive, stat } from './helpers.js';
import { setTimeout as sleep } from 'node:timers/promises';

const pathOf = (lock: Lock): string => (lock as unknown as { path: string }).path;

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
  test('acquires, reports connected, and its fencing token is the lock node czxid', async () => {
    const m = manager();
    await m.waitConnected();
    expect(m.state).toBe('connected');
    const lock = await m.acquire('k1');
    const path = pathOf(lock);
    const s = await stat(admin, path);
    expect(s).not.toBeNull();
    expect(lock.fencingToken).toBe(s!.czxid.readBigInt64BE(0));
    await lock.release();
    await lock.release();
    expect(lock.held).toBe(false);
    expect(await stat(admin, path)).toBeNull();
  });

  test('createWithZxid (client-fixes) reports the create zxid in the reply, saving a round trip per lock', async () => {
    const open = (zookeeper.ACL as unknown as { OPEN_ACL_UNSAFE: ACL[] }).OPEN_ACL_UNSAFE;
    const zxid = await new Promise<unknown>((resolve, reject) =>
      createWithZxid(admin, '/zxid-probe', Buffer.alloc(0), open, 0, (error, _path, z) => (error ? reject(error) : resolve(z))),
    );
    const s = await stat(admin, '/zxid-probe');
    expect(Buffer.isBuffer(zxid) && (zxid as Buffer).readBigInt64BE(0)).toBe(s!.czxid.readBigInt64BE(0));
    await remove(admin, '/zxid-probe');
  });

  test('fencing tokens strictly increase across holders, also after the key parent was deleted and recreated', async () => {
    const a = manager();
    const b = manager();
    const tokens: bigint[] = [];
    const sequences: string[] = [];
    for (let round = 0; round < 6; round++) {
      const lock = await (round % 2 === 0 ? a : b).acquire('fenced');
      tokens.push(lock.fencingToken);
      sequences.push(pathOf(lock).slice(-10));
      await lock.release();
      if (round === 2) await removeRecursive(admin, '/basic/locks/fenced');
    }
    for (let i = 1; i < tokens.length; i++) expect(tokens[i]! > tokens[i - 1]!).toBe(true);
    // The sequence suffix restarted with the new parent: only the zxid keeps increasing.
    expect(sequences[3]).toBe('0000000000');
  });

  test('release is idempotent, and a second acquire of a held key waits for it', async () => {
    const m = manager();
    const first = await m.acquire('idem');
    const second = m.acquire('idem');
    await first.release();
    await first.release();
    const lock = await second;
    expect(lock.fencingToken > first.fencingToken).toBe(true);
    await Promise.all([lock.release(), lock.release()]);
    expect(await children(admin, '/basic/locks/idem').catch(() => [])).toEqual([]);
  });

  test('each waiter watches only its predecessor, and a release wakes exactly one waiter', async () => {
    const holderManager = manager();
    const logs = [recordingLogger(), recordingLogger(), recordingLogger()];
    const waiters = logs.map((logger) => manager({ logger }));
    const holder = await holderManager.acquire('herd');
    const pending: Promise<Lock>[] = [];
    for (const [i, w] of waiters.entries()) {
      pending.push(w.acquire('herd'));
      await eventually(async () => (await children(admin, '/basic/locks/herd')).length === i + 2, 20_000, 'queued');
    }
    const nodes = (await children(admin, '/basic/locks/herd')).sort((x, y) => x.slice(-10).localeCompare(y.slice(-10)));
    await eventually(async () => {
      const watches = await zk.fourLetter('wchp');
      return nodes.slice(0, 3).every((n) => watches.includes(n));
    }, 20_000, 'watches');
    const watches = await zk.fourLetter('wchp');
    const watchedPaths = watches.split('\n').filter((line) => line.startsWith('/basic/'));
    // Nodes 0..2 are each watched by their successor; the last node and the parent are not watched.
    expect(watchedPaths.sort()).toEqual(nodes.slice(0, 3).map((n) => `/basic/locks/herd/${n}`).sort());

    await holder.release();
    const next = await pending[0]!;
    await sleep(300); // any other (wrong) wake-up would have been delivered with the first one
    expect(logs.map((l) => l.count('lock.predecessor_gone'))).toEqual([1, 0, 0]);
    await next.release();
    const second = await pending[1]!;
    expect(logs.map((l) => l.count('lock.predecessor_gone'))).toEqual([1, 1, 0]);
    await second.release();
    await (await pending[2]!).release();
    expect(logs.map((l) => l.count('lock.predecessor_gone'))).toEqual([1, 1, 1]);
  });

  test('a wait that times out or is aborted removes the waiter node; the holder is untouched', async () => {
    const holderManager = manager();
    const waiter = manager();
    const holder = await holderManager.acquire('deadline');
    await expect(waiter.acquire('deadline', { timeoutMs: 200 })).rejects.toBeInstanceOf(LockTimeoutError);
    const controller = new AbortController();
    const aborted = waiter.acquire('deadline', { signal: controller.signal });
    await eventually(async () => (await children(admin, '/basic/locks/deadline')).length === 2, 20_000, 'queued');
    controller.abort(new Error('client gone'));
    const error = await aborted.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LockTimeoutError);
    expect((error as LockTimeoutError).cause).toBeInstanceOf(Error);
    await eventually(async () => (await children(admin, '/basic/locks/deadline')).length === 1, 20_000, 'waiter node gone');
    expect(await children(admin, '/basic/locks/deadline')).toEqual([pathOf(holder).split('/').pop()]);
    expect(holder.held).toBe(true);
    await holder.release();
  });

  test('a create whose reply arrives after the caller gave up is deleted (late create)', async () => {
    const proxy = await FaultProxy.start({ port: zk.servers[0]!.clientPort });
    try {
      const m = manager({ connectionString: proxy.address, sessionTimeoutMs: 6_000, reapDelayMs: 0 });
      await m.waitConnected();
      proxy.setMode('delay', { delayMs: 400 });
      const error = await m.acquire('late', { timeoutMs: 100 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(LockTimeoutError);
      // The create reached the server and made a node; once its reply arrives the library deletes it.
      await eventually(async () => (await children(admin, '/basic/locks/late').catch(() => [])).length === 0, 20_000, 'late node deleted');
      proxy.setMode('pass');
      const lock = await m.acquire('late', { timeoutMs: 10_000 });
      await lock.release();
      await m.close();
    } finally {
      await proxy.close();
    }
  });

  test('empty key parents are reaped: 10,000 distinct keys leave the node count at its baseline', async () => {
    const m = manager({ namespace: 'reap', reapDelayMs: 0 });
    await (await m.acquire('warm-up')).release();
    await eventually(async () => (await children(admin, '/reap/locks')).length === 0, 20_000, 'warm-up reaped');
    // Earlier tests' keys are reaped after the default delay: let the tree settle before taking the baseline.
    await eventually(async () => (await children(admin, '/basic/locks')).length === 0, 20_000, `earlier keys reaped: ${await children(admin, '/basic/locks')}`);
    const baseline = await zk.nodeCount();
    const keys = Array.from({ length: 10_000 }, (_, i) => `key-${i}`);
    let next = 0;
    await Promise.all(
      Array.from({ length: 64 }, async () => {
        while (next < keys.length) {
          const lock = await m.acquire(keys[next++]!, { timeoutMs: 20_000 });
          await lock.release();
        }
      }),
    );
    await eventually(async () => (await zk.nodeCount()) === baseline, 60_000, 'node count back at baseline');
    expect(await children(admin, '/reap/locks')).toEqual([]);
  }, 180_000);

  test('a long reap delay keeps a key parent between uses, and close() does not wait it out', async () => {
    const m = manager({ namespace: 'linger', reapDelayMs: 600_000 });
    for (let i = 0; i < 20; i++) await (await m.acquire('warm')).release();
    expect(await children(admin, '/linger/locks')).toEqual(['warm']);
    // Bounded by the test's timeout (30 s), far below the 10-minute reap delay.
    await m.close();
    expect(m.state).toBe('closed');
  });

  test('a reap racing with new acquires never breaks mutual exclusion', async () => {
    const a = manager({ namespace: 'race', reapDelayMs: 0 });
    const b = manager({ namespace: 'race', reapDelayMs: 0 });
    let inside = 0;
    let overlaps = 0;
    let count = 0;
    const worker = async (m: ZooKeeperLockManager): Promise<void> => {
      for (let i = 0; i < 150; i++) {
        await m.withLock('hot', async () => {
          inside++;
          if (inside > 1) overlaps++;
          await sleep(0);
          count++;
          inside--;
        }, { timeoutMs: 20_000 });
      }
    };
    await Promise.all([worker(a), worker(b), worker(a), worker(b)]);
    expect(overlaps).toBe(0);
    expect(count).toBe(600);
  }, 120_000);
});

describe('security and server errors', () => {
  test('digest ACL + chroot: an unauthenticated client can neither delete nor create in the namespace', async () => {
    await create(admin, '/tenant').catch(() => {});
    const auth = { user: 'app', password: 's3cret' };
    const m = manager({ connectionString: `${zk.connectionString}/tenant`, namespace: 'secure', auth });
    const lock = await m.acquire('guarded');
    const node = `/tenant${pathOf(lock)}`;
    expect(node.startsWith('/tenant/secure/locks/guarded/')).toBe(true);
    const stranger = await rawClient(zk.connectionString);
    try {
      const code = (p: Promise<unknown>) => p.then(() => 0, (e: { code: number }) => e.code);
      expect(await code(remove(stranger, node))).toBe(-102);
      expect(await code(create(stranger, '/tenant/secure/locks/guarded/intruder'))).toBe(-102);
      expect(await code(create(stranger, '/tenant/secure/locks/other'))).toBe(-102);
      expect(await code(create(stranger, '/tenant/secure/intruder'))).toBe(-102);
      expect(await code(children(stranger, '/tenant/secure/locks'))).toBe(-102);
      expect(lock.held).toBe(true);
      // The same identity in another process shares the namespace.
      const peer = manager({ connectionString: `${zk.connectionString}/tenant`, namespace: 'secure', auth });
      const waiting = peer.acquire('guarded', { timeoutMs: 20_000 });
      await lock.release();
      await (await waiting).release();
    } finally {
      stranger.close();
    }
  });

  test('an error code the client does not know (-125, quota exceeded) becomes an error, not a crash (client-fixes)', async () => {
    const quotaZk = await startZooKeeper({ systemProperties: { 'zookeeper.enforceQuota': 'true' } });
    const quotaAdmin = await rawClient(quotaZk.connectionString);
    try {
      const put = (path: string, data: string) =>
        new Promise<void>((resolve, reject) =>
          quotaAdmin.create(path, Buffer.from(data), 0, (e) => (e ? reject(e) : resolve())),
        );
      await put('/quota', '');
      await put('/quota/locks', '');
      await put('/zookeeper/quota/quota', '');
      await put('/zookeeper/quota/quota/zookeeper_limits', 'count=-1,bytes=-1,countHardLimit=4,byteHardLimit=-1');
      await put('/zookeeper/quota/quota/zookeeper_stats', 'count=0,bytes=0');
      const m = new ZooKeeperLockManager({ connectionString: quotaZk.connectionString, namespace: 'quota', sessionTimeoutMs: 4_000 });
      try {
        const first = await m.acquire('a'); // /quota/locks/a + its lock node: the quota is now full
        const error = await m.acquire('b').catch((e: unknown) => e);
        expect(error).toBeInstanceOf(CoordinationUnavailableError);
        expect(String((error as Error).message)).toContain('-125');
        expect(m.state).toBe('connected');
        await first.release();
      } finally {
        await m.close();
      }
    } finally {
      quotaAdmin.close();
      await quotaZk.stop();
    }
  });

  test('close() fires held locks signals with reason closed and fails waiters', async () => {
    const m = manager();
    const other = manager();
    const held = await m.acquire('closing');
    const waiting = other.acquire('closing');
    const waiterOfM = m.acquire('closing').catch((e: unknown) => e);
    await eventually(async () => (await children(admin, '/basic/locks/closing')).length === 3, 20_000, 'queued');
    await m.close();
    expect(held.signal.aborted).toBe(true);
    expect(held.signal.reason).toBeInstanceOf(LockLostError);
    expect((held.signal.reason as LockLostError).reason).toBe('closed');
    expect(await waiterOfM).toMatchObject({ code: 'CLOSED' });
    await (await waiting).release();
    await expect(m.acquire('closing')).rejects.toMatchObject({ code: 'CLOSED' });
  });
});
