import { AsyncLocalStorage } from 'node:async_hooks';
import { ReentrantLockError } from './errors.js';
import type { AcquireOptions, Lock, LockManager } from './types.js';

/** The locks held by the current async context through `withLock`: manager → key → lock. */
const held = new AsyncLocalStorage<ReadonlyMap<object, ReadonlyMap<string, Lock>>>();

/**
 * True when the current async context runs inside `withLock(key)` of `manager`: acquiring `key` again there would
 * wait for itself forever. Every implementation checks it first and rejects with {@link ReentrantLockError}.
 */
export function heldByCaller(manager: object, key: string): boolean {
  // A lock already released does not count: work `fn` left running in the background may acquire the key later.
  return held.getStore()?.get(manager)?.get(key)?.held ?? false;
}

/** Throws {@link ReentrantLockError} when {@link heldByCaller}. */
export function assertNotReentrant(manager: object, key: string): void {
  if (heldByCaller(manager, key)) throw new ReentrantLockError(key);
}

/**
 * Runs `fn` under the lock on `key` and releases it afterwards. Shared by every {@link LockManager} implementation.
 * An error from `fn` always wins over an error from the release. `fn` runs in an async context that records the
 * lock, so that acquiring the same key from the same manager inside it fails with {@link ReentrantLockError}
 * instead of deadlocking.
 */
export async function runWithLock<T>(
  manager: Pick<LockManager, 'acquire'>,
  key: string,
  fn: (lock: Lock) => Promise<T>,
  options?: AcquireOptions,
): Promise<T> {
  const lock = await manager.acquire(key, options);
  const outer = held.getStore();
  const inner = new Map(outer);
  inner.set(manager, new Map([...(outer?.get(manager) ?? []), [key, lock]]));
  let result: T;
  try {
    result = await held.run(inner, () => fn(lock));
  } catch (error) {
    await lock.release().catch(() => {});
    throw error;
  }
  await lock.release();
  return result;
}
