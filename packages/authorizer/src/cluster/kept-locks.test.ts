import { LocalLockManager, type Lock } from '@catraca/coordination';
import { pino } from 'pino';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { KeptLocks } from './kept-locks.js';

const logger = pino({ level: 'silent' });

/** Counts the real acquisitions and releases made through the inner manager. */
class Counting extends LocalLockManager {
  acquired = 0;
  released = 0;
  override async acquire(key: string, options?: Parameters<LocalLockManager['acquire']>[1]): Promise<Lock> {
    const lock = await super.acquire(key, options);
    this.acquired++;
    const release = lock.release.bind(lock);
    const counter = this;
    const view: Lock = {
      key: lock.key,
      fencingToken: lock.fencingToken,
      get signal() {
        return lock.signal;
      },
      get held() {
        return lock.held;
      },
      release: async () => {
        if (lock.held) counter.released++;
        await release();
      },
    };
    return view;
  }
}

describe('KeptLocks', () => {
  const open: KeptLocks[] = [];
  afterEach(async () => {
    await Promise.all(open.map((k) => k.close()));
    open.length = 0;
  });
  const make = (inner: LocalLockManager, options: Partial<ConstructorParameters<typeof KeptLocks>[1]> = {}) => {
    const kept = new KeptLocks(inner, { logger, ...options });
    open.push(kept);
    return kept;
  };

  it('keeps the lock between leases: one real acquisition serves many, with the same fencing token', async () => {
    const inner = new Counting();
    const kept = make(inner);
    const first = await kept.acquire('k');
    await first.release();
    expect(first.held).toBe(false);
    const second = await kept.acquire('k');
    expect(second.fencingToken).toBe(first.fencingToken);
    expect(second.held).toBe(true);
    await second.release();
    expect(inner.acquired).toBe(1);
    expect(inner.released).toBe(0);
    expect(kept.tokenOf('k')).toBe(first.fencingToken);
  });

  it('lets idle locks go after idleMs, in one sweep', async () => {
    const inner = new Counting();
    const kept = make(inner, { idleMs: 40 });
    for (const key of ['a', 'b', 'c']) await (await kept.acquire(key)).release();
    const busy = await kept.acquire('d');
    await sleep(150);
    expect(inner.released).toBe(3);
    expect(kept.keys()).toEqual(['d']);
    await busy.release();
  });

  it('keeps at most maxKept, letting the least recently used idle ones go', async () => {
    const inner = new Counting();
    const kept = make(inner, { maxKept: 2 });
    for (const key of ['a', 'b', 'c']) await (await kept.acquire(key)).release();
    await kept.settled();
    expect(kept.keys().sort()).toEqual(['b', 'c']);
    expect(inner.released).toBe(1);
  });

  it('letGo releases idle locks at once (bulk) and leased ones when their lease ends', async () => {
    const inner = new Counting();
    const bulk: number[] = [];
    const kept = make(inner, {
      releaseMany: async (locks) => {
        bulk.push(locks.length);
        await Promise.all(locks.map((l) => l.release()));
      },
    });
    for (const key of ['a', 'b']) await (await kept.acquire(key)).release();
    const leased = await kept.acquire('c');
    expect(kept.letGo(() => true)).toBe(3);
    await kept.settled();
    expect(bulk).toEqual([2]);
    expect(kept.keys()).toEqual(['c']);
    await leased.release();
    await kept.settled();
    expect(bulk).toEqual([2, 1]);
    expect(kept.size).toBe(0);
    // The next acquisition takes a new lock with a newer token.
    const again = await kept.acquire('c');
    expect(again.fencingToken).toBeGreaterThan(leased.fencingToken);
    await again.release();
  });

  it('another party waits for the kept lock until it is let go', async () => {
    const inner = new Counting();
    const kept = make(inner);
    await (await kept.acquire('k')).release();
    await expect(inner.acquire('k', { timeoutMs: 20 })).rejects.toThrow(/timed out/);
    kept.letGo((key) => key === 'k');
    const other = await inner.acquire('k', { timeoutMs: 1_000 });
    expect(other.held).toBe(true);
    await other.release();
  });

  it('close releases every kept lock', async () => {
    const inner = new Counting();
    const kept = make(inner);
    for (const key of ['a', 'b']) await (await kept.acquire(key)).release();
    await kept.close();
    expect(inner.released).toBe(2);
  });
});

describe('KeptLocks: a caller that gives up does not give up the acquisition', () => {
  it('the lock acquired after the first caller timed out is kept for the next one (one real acquisition)', async () => {
    const inner = new Counting();
    const kept = new KeptLocks(inner, { logger });
    // Someone else holds the key for a moment.
    const other = await inner.acquire('k');
    await expect(kept.acquire('k', { signal: AbortSignal.timeout(20) })).rejects.toThrow(/timed out/);
    await other.release();
    await sleep(20);
    const lease = await kept.acquire('k', { signal: AbortSignal.timeout(1_000) });
    expect(lease.held).toBe(true);
    expect(inner.acquired).toBe(2); // other's, and the keeper's single one
    await lease.release();
    await kept.close();
  });
});
