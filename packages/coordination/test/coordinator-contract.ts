/**
 * The contract of {@link Coordinator} (revocation, participants, batches, groups, topics), run against every
 * implementation: `describeCoordinatorContract(name, factory)`. The factory gives two managers standing for two
 * processes (the in-process implementation gives the same manager twice); the suite closes them.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, test } from 'vitest';
import { InvalidArgumentError, LockTimeoutError, ReentrantLockError, type Coordinator, type Lock } from '../src/index.js';
import { eventually } from './helpers.js';

export function describeCoordinatorContract(name: string, factory: () => Promise<{ a: Coordinator; b: Coordinator }>): void {
  describe(`Coordinator contract: ${name}`, () => {
    const open: Coordinator[] = [];
    let seq = 0;
    const key = (label: string): string => `cc-${label}-${process.pid}-${++seq}`;
    const pair = async (): Promise<{ a: Coordinator; b: Coordinator }> => {
      const p = await factory();
      open.push(p.a, p.b);
      return p;
    };
    afterEach(async () => {
      await Promise.allSettled([...new Set(open.splice(0))].map((m) => m.close()));
    });

    test('requestRevocation calls the holder once; the holder keeps the lock until it releases; free key → false', async () => {
      const { a, b } = await pair();
      const k = key('revoke');
      expect(await b.requestRevocation(k)).toBe(false);
      const calls: Lock[] = [];
      const holder = await a.acquire(k, { timeoutMs: 5_000, onRevocationRequested: (l) => calls.push(l) });
      expect(await b.requestRevocation(k)).toBe(true);
      await eventually(() => calls.length === 1, 10_000, 'callback');
      expect(calls[0]).toBe(holder);
      expect(await b.requestRevocation(k)).toBe(true);
      await sleep(100);
      expect(calls).toHaveLength(1);
      expect(holder.held).toBe(true);
      await holder.release();
    });

    test('callbacks that throw (revocation, group change, topic) never escape as uncaught errors', async () => {
      const { a, b } = await pair();
      const k = key('throws');
      let called = 0;
      const holder = await a.acquire(k, {
        timeoutMs: 5_000,
        onRevocationRequested: () => {
          called++;
          throw new Error('callback bug');
        },
      });
      await b.requestRevocation(k);
      await eventually(() => called === 1, 10_000, 'callback');
      const group = key('g');
      const ma = await a.joinGroup(group, 'x', '1');
      ma.onChange(() => {
        throw new Error('listener bug');
      });
      const topic = key('t');
      let topicCalls = 0;
      b.watch(topic, () => {
        topicCalls++;
        throw new Error('watcher bug');
      });
      await sleep(100);
      const mb = await b.joinGroup(group, 'y', '2');
      await a.notify(topic);
      await eventually(() => topicCalls >= 1 && ma.members().size === 2, 10_000, 'listeners ran');
      await sleep(50);
      expect(holder.held).toBe(true);
      await holder.release();
      await Promise.all([ma.leave(), mb.leave()]);
    });

    test('participants: holder first, then waiters in queue order; empty for a free key', async () => {
      const { a, b } = await pair();
      const k = key('part');
      expect(await a.participants(k)).toEqual([]);
      const holder = await a.acquire(k, { timeoutMs: 5_000 });
      const waiting = b.acquire(k, { timeoutMs: 20_000 });
      await eventually(async () => (await b.participants(k)).length === 2, 10_000, 'waiter listed');
      const list = await b.participants(k);
      expect(list.map((p) => p.isHolder)).toEqual([true, false]);
      expect(typeof list[0]!.node).toBe('string');
      expect(typeof list[0]!.sessionId).toBe('string');
      await holder.release();
      await (await waiting).release();
    });

    test('tryAcquireMany returns the free keys only, never waits; releaseMany frees them', async () => {
      const { a, b } = await pair();
      const [k1, k2, k3] = [key('b1'), key('b2'), key('b3')];
      const busy = await b.acquire(k2, { timeoutMs: 5_000 });
      const locks = await a.tryAcquireMany([k1, k2, k3]);
      expect([...locks.keys()].sort()).toEqual([k1, k3].sort());
      for (const lock of locks.values()) expect(lock.held).toBe(true);
      await expect(b.acquire(k1, { timeoutMs: 0 })).rejects.toBeInstanceOf(LockTimeoutError);
      await a.releaseMany([...locks.values()]);
      for (const lock of locks.values()) expect(lock.held).toBe(false);
      const again = await b.acquire(k1, { timeoutMs: 0 });
      expect(again.fencingToken > locks.get(k1)!.fencingToken).toBe(true);
      await b.releaseMany([again, busy]);
      expect((await a.tryAcquireMany([k2])).size).toBe(1);
    });

    test('batch arguments: duplicates and bad keys are rejections; a key held by withLock is reentrancy', async () => {
      const { a } = await pair();
      const k = key('bad');
      let promise: Promise<unknown> | undefined;
      expect(() => {
        promise = a.tryAcquireMany([k, k]);
      }).not.toThrow();
      await expect(promise).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(a.tryAcquireMany([k, 'x/y'])).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(a.withLock(k, async () => a.tryAcquireMany([k]), { timeoutMs: 5_000 })).rejects.toBeInstanceOf(ReentrantLockError);
      expect((await a.tryAcquireMany([])).size).toBe(0);
    });

    test('group membership: members see each other with their data, and a member leaving', async () => {
      const { a, b } = await pair();
      const group = key('group');
      const ma = await a.joinGroup(group, 'm-a', 'data-a');
      const changes: number[] = [];
      ma.onChange((members) => changes.push(members.size));
      const mb = await b.joinGroup(group, 'm-b', 'data-b');
      expect(mb.members().get('m-a')).toBe('data-a');
      await eventually(() => ma.members().get('m-b') === 'data-b', 10_000, 'a sees b');
      await expect(b.joinGroup(group, 'bad/id', 'x')).rejects.toBeInstanceOf(InvalidArgumentError);
      await mb.leave();
      await eventually(() => ma.members().size === 1, 10_000, 'b left');
      expect(changes.at(-1)).toBe(1);
      await ma.leave();
    });

    test('notify reaches every watcher; unsubscribe stops it', async () => {
      const { a, b } = await pair();
      const topic = key('topic');
      let calls = 0;
      const off = b.watch(topic, () => calls++);
      await sleep(100);
      await a.notify(topic);
      await eventually(() => calls >= 1, 10_000, 'first');
      const seen = calls;
      await a.notify(topic);
      await eventually(() => calls > seen, 10_000, 'second');
      off();
      const frozen = calls;
      await a.notify(topic);
      await sleep(200);
      expect(calls).toBe(frozen);
    });
  });
}
