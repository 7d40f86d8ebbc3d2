/**
 * The in-process Coordinator's own promises, as unit tests so that the mutation run covers them (the shared contract
 * runs against it and ZooKeeper in test/coordinator-contract.int.test.ts).
 */
import { describe, expect, test } from 'vitest';
import { ClosedError, InvalidArgumentError, LockTimeoutError, ReentrantLockError } from './errors.js';
import { LocalLockManager } from './local-lock-manager.js';

describe('LocalLockManager as a Coordinator', () => {
  test('participants name the holder and the waiters; a revocation reaches only the current holder, once', async () => {
    const m = new LocalLockManager();
    const asked: string[] = [];
    const first = await m.acquire('k', { onRevocationRequested: () => asked.push('first') });
    const second = m.acquire('k', { onRevocationRequested: () => asked.push('second') });
    const list = await m.participants('k');
    expect(list).toEqual([
      { node: `local-${first.fencingToken}`, sessionId: 'local', isHolder: true },
      { node: expect.stringMatching(/^local-waiter-\d+$/), sessionId: 'local', isHolder: false },
    ]);
    expect(await m.requestRevocation('k')).toBe(true);
    expect(await m.requestRevocation('k')).toBe(true);
    await Promise.resolve();
    expect(asked).toEqual(['first']);
    await first.release();
    const next = await second;
    await m.requestRevocation('k');
    await Promise.resolve();
    expect(asked).toEqual(['first', 'second']);
    await next.release();
    // A holder that released before the microtask ran is not called.
    const third = await m.acquire('k', { onRevocationRequested: () => asked.push('third') });
    const asking = m.requestRevocation('k');
    const releasing = third.release();
    await Promise.all([asking, releasing]);
    expect(asked).toEqual(['first', 'second']);
    expect(await m.requestRevocation('k')).toBe(false);
    expect(m.activeKeys).toBe(0);
  });

  test('tryAcquireMany skips busy keys, including ones held by the same manager; releaseMany frees them all', async () => {
    const m = new LocalLockManager();
    const held = await m.acquire('b');
    const locks = await m.tryAcquireMany(['a', 'b', 'c']);
    expect([...locks.keys()]).toEqual(['a', 'c']);
    await m.releaseMany([...locks.values(), held]);
    expect(m.activeKeys).toBe(0);
    await expect(m.tryAcquireMany(['a'], { signal: AbortSignal.abort(new Error('gone')) })).rejects.toBeInstanceOf(LockTimeoutError);
  });

  test('groups: a duplicate member id is refused; members leave; closing the manager refuses new work', async () => {
    const m = new LocalLockManager();
    const a = await m.joinGroup('g', 'a', 'A');
    await expect(m.joinGroup('g', 'a', 'again')).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(m.joinGroup('g', 'b', 42 as unknown as string)).rejects.toBeInstanceOf(InvalidArgumentError);
    const seen: number[] = [];
    a.onChange((members) => seen.push(members.size));
    const b = await m.joinGroup('g', 'b', 'B');
    await Promise.resolve();
    expect(seen).toEqual([2]);
    expect(Object.fromEntries(b.members())).toEqual({ a: 'A', b: 'B' });
    await b.leave();
    await b.leave();
    await Promise.resolve();
    expect(seen).toEqual([2, 1]);
    const again = await m.joinGroup('g', 'b', 'B2');
    expect(again.members().get('b')).toBe('B2');
    await m.close();
    await expect(m.joinGroup('g', 'c', 'C')).rejects.toBeInstanceOf(ClosedError);
    await expect(m.notify('t')).rejects.toBeInstanceOf(ClosedError);
    await expect(m.requestRevocation('k')).rejects.toBeInstanceOf(ClosedError);
    await expect(m.tryAcquireMany(['k'])).rejects.toBeInstanceOf(ClosedError);
  });

  test('watch: every notify calls every watcher of that topic only; bad arguments', async () => {
    const m = new LocalLockManager();
    const calls: string[] = [];
    const off = m.watch('t1', () => calls.push('t1'));
    m.watch('t2', () => calls.push('t2'));
    await m.notify('t1');
    await Promise.resolve();
    expect(calls).toEqual(['t1']);
    off();
    await m.notify('t1');
    await m.notify('t2');
    await Promise.resolve();
    expect(calls).toEqual(['t1', 't2']);
    expect(() => m.watch('a/b', () => {})).toThrow(InvalidArgumentError);
    expect(() => m.watch('t', 1 as unknown as () => void)).toThrow(InvalidArgumentError);
  });

  test('locks: JSON form, try-lock, reentrancy inside withLock', async () => {
    const m = new LocalLockManager();
    const lock = await m.acquire('k', { timeoutMs: 0 });
    expect(lock.toJSON()).toEqual({ key: 'k', fencingToken: lock.fencingTokenString, held: true });
    await expect(m.acquire('k', { timeoutMs: 0 })).rejects.toBeInstanceOf(LockTimeoutError);
    await lock.release();
    await expect(m.withLock('k', () => m.withLock('k', async () => 1))).rejects.toBeInstanceOf(ReentrantLockError);
    expect(await m.withLock('k', () => m.withLock('j', async () => 2))).toBe(2);
    expect(m.activeKeys).toBe(0);
  });
});

describe('LocalLockManager edges the mutation run found', () => {
  test('an already-fired signal is a LockTimeoutError caused by its reason; waiters get distinct node names', async () => {
    const m = new LocalLockManager();
    const reason = new Error('caller gone');
    const error = await m.acquire('k', { signal: AbortSignal.abort(reason) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LockTimeoutError);
    expect((error as LockTimeoutError).cause).toBe(reason);
    const held = await m.acquire('k');
    const waiters = [m.acquire('k'), m.acquire('k')];
    const nodes = (await m.participants('k')).filter((p) => !p.isHolder).map((p) => p.node);
    expect(new Set(nodes).size).toBe(2);
    await held.release();
    for (const w of waiters) await (await w).release();
  });

  test('tryAcquireMany: a fired signal names the first key; a close mid-batch rejects; revocation reaches the batch', async () => {
    const m = new LocalLockManager();
    const reason = new Error('gone');
    const error = await m.tryAcquireMany(['a', 'b'], { signal: AbortSignal.abort(reason) }).catch((e: unknown) => e);
    expect(error).toMatchObject({ key: 'a', cause: reason });
    const asked: string[] = [];
    const locks = await m.tryAcquireMany(['r'], { onRevocationRequested: (lock) => asked.push(lock.key) });
    expect(await m.requestRevocation('r')).toBe(true);
    await Promise.resolve();
    expect(asked).toEqual(['r']);
    await m.releaseMany([...locks.values()]);
    const batch = m.tryAcquireMany(['x', 'y']);
    await m.close();
    await expect(batch).rejects.toBeInstanceOf(ClosedError);
    await expect(m.tryAcquireMany([])).rejects.toBeInstanceOf(ClosedError);
  });

  test('argument errors name what is wrong', async () => {
    const m = new LocalLockManager();
    await expect(m.joinGroup('a/b', 'm', '')).rejects.toThrow('invalid group "a/b"');
    await expect(m.joinGroup('g', '..', '')).rejects.toThrow('invalid member id ".."');
    await expect(m.joinGroup('g', 'm', 1 as unknown as string)).rejects.toThrow('member data must be a string');
    await expect(m.notify('')).rejects.toThrow('invalid topic ""');
    expect(() => m.watch('t', null as unknown as () => void)).toThrow('listener must be a function');
    await m.joinGroup('g', 'm', '');
    await expect(m.joinGroup('g', 'm', '')).rejects.toThrow('member "m" is already in group "g"');
  });

  test('watch: two watchers of one topic are both called; unwatching one keeps the other', async () => {
    const m = new LocalLockManager();
    const calls: string[] = [];
    const offA = m.watch('t', () => calls.push('a'));
    m.watch('t', () => calls.push('b'));
    await m.notify('t');
    await Promise.resolve();
    expect(calls.sort()).toEqual(['a', 'b']);
    offA();
    offA();
    await m.notify('t');
    await Promise.resolve();
    expect(calls.slice(2)).toEqual(['b']);
  });

  test('withLock of another manager on the same key inside withLock is not reentrancy', async () => {
    const one = new LocalLockManager();
    const two = new LocalLockManager();
    expect(await one.withLock('k', () => two.withLock('k', async () => 'both'))).toBe('both');
  });
});

describe('LocalLockManager groups', () => {
  test('a member that left before a queued change is not called; an unsubscribed listener is not called', async () => {
    const m = new LocalLockManager();
    const a = await m.joinGroup('g', 'a', 'A');
    const seenByA: number[] = [];
    a.onChange((members) => seenByA.push(members.size));
    const b = await m.joinGroup('g', 'b', 'B');
    const seenByB: number[] = [];
    const off = b.onChange((members) => seenByB.push(members.size));
    off();
    // The change of c's join is queued for a, then a leaves before it runs.
    await Promise.resolve();
    expect(seenByA).toEqual([2]);
    const joining = m.joinGroup('g', 'c', 'C');
    const leaving = a.leave();
    await Promise.all([joining, leaving]);
    await Promise.resolve();
    expect(seenByA).toEqual([2]);
    expect(seenByB).toEqual([]);
  });

  test('the group outlives a member who leaves: later members still see the ones who stayed', async () => {
    const m = new LocalLockManager();
    const a = await m.joinGroup('g', 'a', 'A');
    const b = await m.joinGroup('g', 'b', 'B');
    await b.leave();
    const c = await m.joinGroup('g', 'c', 'C');
    expect([...a.members().keys()].sort()).toEqual(['a', 'c']);
    expect([...c.members().keys()].sort()).toEqual(['a', 'c']);
  });
});
