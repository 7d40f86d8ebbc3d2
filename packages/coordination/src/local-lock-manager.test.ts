import { describe, expect, test } from 'vitest';
import { ClosedError, LockLostError, LockTimeoutError } from './errors.js';
import { LocalLockManager } from './local-lock-manager.js';
import type { Lock } from './types.js';

describe('LocalLockManager', () => {
  test('grants waiters in FIFO order, one at a time', async () => {
    const m = new LocalLockManager();
    const first = await m.acquire('k');
    const order: number[] = [];
    const waiters = [1, 2, 3].map((n) =>
      m.acquire('k').then((lock) => {
        order.push(n);
        return lock;
      }),
    );
    await first.release();
    for (const waiter of waiters) await (await waiter).release();
    expect(order).toEqual([1, 2, 3]);
    expect(m.activeKeys).toBe(0);
  });

  test('a timed-out or aborted waiter leaves the queue and the next one still gets the lock', async () => {
    const m = new LocalLockManager();
    const holder = await m.acquire('k');
    await expect(m.acquire('k', { timeoutMs: 5 })).rejects.toBeInstanceOf(LockTimeoutError);
    const controller = new AbortController();
    const aborted = m.acquire('k', { signal: controller.signal });
    const survivor = m.acquire('k');
    controller.abort(new Error('gone'));
    const error = await aborted.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LockTimeoutError);
    expect((error as LockTimeoutError).cause).toEqual(new Error('gone'));
    await holder.release();
    const next = await survivor;
    expect(next.held).toBe(true);
    await next.release();
    expect(m.activeKeys).toBe(0);
  });

  test('an already aborted signal fails at once', async () => {
    const m = new LocalLockManager();
    await expect(m.acquire('k', { signal: AbortSignal.abort() })).rejects.toBeInstanceOf(LockTimeoutError);
  });

  test('fencing tokens strictly increase across holders', async () => {
    const m = new LocalLockManager();
    const tokens: bigint[] = [];
    for (let i = 0; i < 5; i++) {
      await m.withLock(i % 2 ? 'a' : 'b', async (lock) => {
        tokens.push(lock.fencingToken);
      });
    }
    for (let i = 1; i < tokens.length; i++) expect(tokens[i]! > tokens[i - 1]!).toBe(true);
  });

  test('release is idempotent and does not release a later holder', async () => {
    const m = new LocalLockManager();
    const first = await m.acquire('k');
    const second = m.acquire('k');
    await first.release();
    const lock: Lock = await second;
    await first.release();
    expect(lock.held).toBe(true);
    await lock.release();
  });

  test('close fires held signals with LockLostError(closed), fails waiters, and refuses new acquires', async () => {
    const m = new LocalLockManager();
    const states: string[] = [];
    m.onStateChange((s) => states.push(s));
    const held = await m.acquire('k');
    const waiter = m.acquire('k').catch((e: unknown) => e);
    await m.close();
    expect(held.signal.aborted).toBe(true);
    expect(held.signal.reason).toBeInstanceOf(LockLostError);
    expect((held.signal.reason as LockLostError).reason).toBe('closed');
    expect(await waiter).toBeInstanceOf(ClosedError);
    await expect(m.acquire('k')).rejects.toBeInstanceOf(ClosedError);
    expect(m.state).toBe('closed');
    expect(states).toEqual(['closed']);
  });

  test('withLock releases after an error and rethrows the error', async () => {
    const m = new LocalLockManager();
    await expect(
      m.withLock('k', async () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(m.activeKeys).toBe(0);
  });
  test('held turns false on release and on close; a lock released before close keeps a quiet signal', async () => {
    const m = new LocalLockManager();
    const released = await m.acquire('a');
    await released.release();
    expect(released.held).toBe(false);
    expect(released.toJSON().held).toBe(false);
    const lost = await m.acquire('b');
    expect(lost.held).toBe(true);
    await m.close();
    expect(lost.held).toBe(false);
    expect(released.signal.aborted).toBe(false);
    // Releasing a lock the manager already dropped is a no-op, not an error.
    await lost.release();
    expect(lost.held).toBe(false);
  });

  test('a waiter with a deadline that is granted in time holds the lock; its signal firing later changes nothing', async () => {
    const m = new LocalLockManager();
    const holder = await m.acquire('k');
    const controller = new AbortController();
    const timed = m.acquire('k', { signal: controller.signal, timeoutMs: 60_000 });
    const next = m.acquire('k');
    await holder.release();
    const lock = await timed;
    expect(lock.held).toBe(true);
    expect(lock.fencingToken > holder.fencingToken).toBe(true);
    controller.abort(new Error('late'));
    expect(lock.held).toBe(true);
    expect(lock.signal.aborted).toBe(false);
    expect((await m.participants('k')).length).toBe(2);
    await lock.release();
    const last = await next;
    expect(last.held).toBe(true);
    await last.release();
    expect(m.activeKeys).toBe(0);
  });

  test('onStateChange: unsubscribing stops the calls; a second close notifies nobody again', async () => {
    const m = new LocalLockManager();
    const kept: string[] = [];
    const dropped: string[] = [];
    m.onStateChange((s) => kept.push(s));
    const off = m.onStateChange((s) => dropped.push(s));
    off();
    expect(m.state).toBe('connected');
    await m.close();
    await m.close();
    expect(kept).toEqual(['closed']);
    expect(dropped).toEqual([]);
  });

  test('participants of a free key are empty; bad keys are refused', async () => {
    const m = new LocalLockManager();
    expect(await m.participants('free')).toEqual([]);
    await expect(m.acquire('a/b')).rejects.toThrow(/invalid lock key/);
    await expect(m.participants('')).rejects.toThrow(/invalid lock key/);
    await expect(m.requestRevocation('..')).rejects.toThrow(/invalid lock key/);
  });
});
