/**
 * The contract every {@link LockManager} implementation passes. Run it with `describeLockContract(name, factory)`
 * from an integration test file; the factory makes a fresh manager per test (the suite closes it).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, test } from 'vitest';
import {
  ClosedError,
  InvalidArgumentError,
  LockLostError,
  LockTimeoutError,
  ReentrantLockError,
  type ConnectionState,
  type Lock,
  type LockManager,
} from '../src/index.js';

export interface ContractSubject {
  manager: LockManager;
  /** True when nothing holds `key` in the backing service (no leftover of a timed-out or aborted waiter). */
  isFree?(key: string): Promise<boolean>;
}

export function describeLockContract(name: string, factory: () => Promise<ContractSubject>): void {
  describe(`LockManager contract: ${name}`, () => {
    const open: LockManager[] = [];
    let seq = 0;
    const key = (label: string): string => `contract-${label}-${process.pid}-${++seq}`;
    const subject = async (): Promise<ContractSubject> => {
      const s = await factory();
      open.push(s.manager);
      return s;
    };
    afterEach(async () => {
      await Promise.allSettled(open.splice(0).map((m) => m.close()));
    });

    test('mutual exclusion: concurrent read-modify-write with awaits inside loses no update and never overlaps', async () => {
      const { manager } = await subject();
      const k = key('mutex');
      const workers = 8;
      const rounds = 6;
      let counter = 0;
      let inside = 0;
      let maxInside = 0;
      const tokens: bigint[] = [];
      await Promise.all(
        Array.from({ length: workers }, async (_, w) => {
          for (let r = 0; r < rounds; r++) {
            await manager.withLock(k, async (lock) => {
              inside++;
              maxInside = Math.max(maxInside, inside);
              tokens.push(lock.fencingToken);
              const read = counter;
              await sleep((w + r) % 3);
              await Promise.resolve();
              counter = read + 1;
              inside--;
            }, { timeoutMs: 20_000 });
          }
        }),
      );
      expect(maxInside).toBe(1);
      expect(counter).toBe(workers * rounds);
      // Fencing tokens, in the order the critical sections ran, strictly increase.
      for (let i = 1; i < tokens.length; i++) expect(tokens[i]! > tokens[i - 1]!).toBe(true);
    });

    test('different keys do not exclude each other', async () => {
      const { manager } = await subject();
      const a = await manager.acquire(key('a'), { timeoutMs: 5_000 });
      const b = await manager.acquire(key('b'), { timeoutMs: 5_000 });
      expect(a.held && b.held).toBe(true);
      await Promise.all([a.release(), b.release()]);
    });

    test('a wait past timeoutMs rejects with LockTimeoutError and leaves nothing behind', async () => {
      const { manager, isFree } = await subject();
      const k = key('timeout');
      const holder = await manager.acquire(k, { timeoutMs: 5_000 });
      const error = await manager.acquire(k, { timeoutMs: 50 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(LockTimeoutError);
      expect((error as LockTimeoutError).code).toBe('LOCK_TIMEOUT');
      expect((error as LockTimeoutError).key).toBe(k);
      expect(holder.held).toBe(true);
      await holder.release();
      if (isFree) expect(await isFree(k)).toBe(true);
      const next = await manager.acquire(k, { timeoutMs: 5_000 });
      expect(next.fencingToken > holder.fencingToken).toBe(true);
      await next.release();
      if (isFree) expect(await isFree(k)).toBe(true);
    });

    test('an abort signal ends the wait with LockTimeoutError whose cause is the reason; an aborted signal fails at once', async () => {
      const { manager } = await subject();
      const k = key('abort');
      const holder = await manager.acquire(k, { timeoutMs: 5_000 });
      const controller = new AbortController();
      const pending = manager.acquire(k, { signal: controller.signal });
      await sleep(30);
      const reason = new Error('client went away');
      controller.abort(reason);
      const error = await pending.catch((e: unknown) => e);
      expect(error).toBeInstanceOf(LockTimeoutError);
      expect((error as LockTimeoutError).cause).toBe(reason);
      await expect(manager.acquire(k, { signal: AbortSignal.abort(reason) })).rejects.toBeInstanceOf(LockTimeoutError);
      await holder.release();
      const next = await manager.acquire(k, { timeoutMs: 5_000 });
      await next.release();
    });

    test('fencing tokens strictly increase across successive holders', async () => {
      const { manager } = await subject();
      const k = key('fence');
      let previous: bigint | undefined;
      for (let i = 0; i < 5; i++) {
        const lock = await manager.acquire(k, { timeoutMs: 5_000 });
        expect(typeof lock.fencingToken).toBe('bigint');
        if (previous !== undefined) expect(lock.fencingToken > previous).toBe(true);
        previous = lock.fencingToken;
        await lock.release();
      }
    });

    test('release is idempotent and frees the key', async () => {
      const { manager } = await subject();
      const k = key('release');
      const lock = await manager.acquire(k, { timeoutMs: 5_000 });
      expect(lock.key).toBe(k);
      expect(lock.held).toBe(true);
      expect(lock.signal.aborted).toBe(false);
      await lock.release();
      await lock.release();
      expect(lock.held).toBe(false);
      const again = await manager.acquire(k, { timeoutMs: 5_000 });
      await Promise.all([again.release(), again.release()]);
      await lock.release();
      expect(again.held).toBe(false);
    });

    test('withLock returns the result and releases; on a throw the error is the fn\'s own and the lock is released', async () => {
      const { manager } = await subject();
      const k = key('with');
      let seen: Lock | undefined;
      expect(await manager.withLock(k, async (lock) => ((seen = lock), 42), { timeoutMs: 5_000 })).toBe(42);
      expect(seen?.held).toBe(false);
      const boom = new Error('boom');
      const error = await manager
        .withLock(k, async (lock) => {
          seen = lock;
          throw boom;
        }, { timeoutMs: 5_000 })
        .catch((e: unknown) => e);
      expect(error).toBe(boom);
      expect(seen?.held).toBe(false);
      const next = await manager.acquire(k, { timeoutMs: 5_000 });
      await next.release();
    });

    test('invalid keys and timeouts are rejected with InvalidArgumentError', async () => {
      const { manager } = await subject();
      for (const bad of ['', 'a/b', 'x'.repeat(513)]) {
        await expect((async () => manager.acquire(bad))()).rejects.toBeInstanceOf(InvalidArgumentError);
      }
      await expect((async () => manager.acquire(key('t'), { timeoutMs: -1 }))()).rejects.toBeInstanceOf(InvalidArgumentError);
    });

    test('try-lock: timeoutMs 0 acquires a free key, and fails at once with LockTimeoutError on a busy one', async () => {
      const { manager, isFree } = await subject();
      const k = key('try');
      const lock = await manager.acquire(k, { timeoutMs: 0 });
      expect(lock.held).toBe(true);
      const error = await manager.acquire(k, { timeoutMs: 0 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(LockTimeoutError);
      expect(lock.held).toBe(true);
      await lock.release();
      if (isFree) expect(await isFree(k)).toBe(true);
      const again = await manager.acquire(k, { timeoutMs: 0 });
      expect(again.fencingToken > lock.fencingToken).toBe(true);
      await again.release();
    });

    test('timeoutMs above 2^31-1 and Infinity wait (no 1 ms overflow timer)', async () => {
      const { manager } = await subject();
      const k = key('huge');
      for (const timeoutMs of [2 ** 31, 2 ** 40, Infinity]) {
        const other = await manager.acquire(k, { timeoutMs: 5_000 });
        let settled = false;
        const pending = manager.acquire(k, { timeoutMs }).finally(() => (settled = true));
        await sleep(100);
        expect(settled).toBe(false);
        await other.release();
        await (await pending).release();
      }
      await expect(manager.acquire(k, { timeoutMs: Number.NaN })).rejects.toBeInstanceOf(InvalidArgumentError);
    });

    test('keys ZooKeeper cannot store (emoji, control characters) are an InvalidArgumentError, not an outage', async () => {
      const { manager } = await subject();
      for (const bad of ['card-\u{1F4B3}', 'tab\there', 'nul\u0000', 'del\u007f', 'bell\u0007', 'private\ue000']) {
        await expect(manager.acquire(bad, { timeoutMs: 1_000 })).rejects.toBeInstanceOf(InvalidArgumentError);
      }
      const accented = await manager.acquire(key('conta-ação-ñ'), { timeoutMs: 5_000 });
      await accented.release();
    });

    test('argument errors are rejections, never synchronous throws', async () => {
      const { manager } = await subject();
      const calls: Array<() => Promise<unknown>> = [
        () => manager.acquire(''),
        () => manager.acquire('a/b'),
        () => manager.acquire(42 as unknown as string),
        () => manager.acquire(key('t'), { timeoutMs: -1 }),
        () => manager.withLock('', async () => 1),
        () => manager.withLock(key('t'), async () => 1, { timeoutMs: -5 }),
      ];
      for (const call of calls) {
        let promise: Promise<unknown> | undefined;
        expect(() => {
          promise = call();
        }).not.toThrow();
        await expect(promise).rejects.toBeInstanceOf(InvalidArgumentError);
      }
    });

    test('locks are not reentrant: acquiring a key inside withLock of that key rejects with ReentrantLockError', async () => {
      const { manager } = await subject();
      const k = key('reentry');
      const inner = await manager
        .withLock(k, async () => manager.withLock(k, async () => 'never', { timeoutMs: 2_000 }), { timeoutMs: 5_000 })
        .catch((e: unknown) => e);
      expect(inner).toBeInstanceOf(ReentrantLockError);
      expect((inner as ReentrantLockError).code).toBe('LOCK_REENTRANT');
      await expect(
        manager.withLock(k, async () => manager.acquire(k, { timeoutMs: 2_000 }), { timeoutMs: 5_000 }),
      ).rejects.toBeInstanceOf(ReentrantLockError);
      // Another key inside, and the same key once released (work left behind by fn), are fine.
      let later: Promise<unknown> | undefined;
      expect(
        await manager.withLock(k, async (outer) => {
          // Starts once the outer lock is released (not after a fixed delay: a slow backend may still hold it then).
          later = (async () => {
            while (outer.held) await sleep(5);
            return manager.withLock(k, async () => 'after', { timeoutMs: 5_000 });
          })();
          return manager.withLock(key('other'), async () => 'nested', { timeoutMs: 5_000 });
        }, { timeoutMs: 5_000 }),
      ).toBe('nested');
      expect(await later).toBe('after');
      // Concurrent callers of one manager on one key are not reentrancy: they queue.
      const [x, y] = await Promise.all([
        manager.withLock(k, async () => 'x', { timeoutMs: 5_000 }),
        manager.withLock(k, async () => 'y', { timeoutMs: 5_000 }),
      ]);
      expect([x, y]).toEqual(['x', 'y']);
    });

    test('a lock serialises to JSON: the fencing token as a decimal string', async () => {
      const { manager } = await subject();
      const k = key('json');
      const lock = await manager.acquire(k, { timeoutMs: 5_000 });
      expect(lock.fencingTokenString).toBe(lock.fencingToken.toString());
      expect(BigInt(lock.fencingTokenString)).toBe(lock.fencingToken);
      const parsed = JSON.parse(JSON.stringify({ lock })) as { lock: { key: string; fencingToken: string; held: boolean } };
      expect(parsed.lock).toEqual({ key: k, fencingToken: lock.fencingTokenString, held: true });
      await lock.release();
      expect(JSON.parse(JSON.stringify(lock))).toMatchObject({ held: false });
    });

    test('close() fires held locks\' signals (closed), fails waiters with ClosedError, and refuses new acquires', async () => {
      const { manager } = await subject();
      const k = key('close');
      const states: ConnectionState[] = [];
      manager.onStateChange((s) => states.push(s));
      const holder = await manager.acquire(k, { timeoutMs: 5_000 });
      const waiter = manager.acquire(k).catch((e: unknown) => e);
      await sleep(20);
      await manager.close();
      expect(await waiter).toBeInstanceOf(ClosedError);
      expect(holder.held).toBe(false);
      expect(holder.signal.aborted).toBe(true);
      expect(holder.signal.reason).toBeInstanceOf(LockLostError);
      expect((holder.signal.reason as LockLostError).reason).toBe('closed');
      expect(manager.state).toBe('closed');
      expect(states).toContain('closed');
      await expect((async () => manager.acquire(k))()).rejects.toBeInstanceOf(ClosedError);
      await holder.release();
      await manager.close();
    });
  });
}
