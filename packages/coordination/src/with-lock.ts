import type { AcquireOptions, Lock, LockManager } from './types.js';

/**
 * Runs `fn` under the lock on `key` and releases it afterwards. Shared by every {@link LockManager} implementation.
 * An error from `fn` always wins over an error from the release.
 */
export async function runWithLock<T>(
  manager: Pick<LockManager, 'acquire'>,
  key: string,
  fn: (lock: Lock) => Promise<T>,
  options?: AcquireOptions,
): Promise<T> {
  const lock = await manager.acquire(key, options);
  let result: T;
  try {
    result = await fn(lock);
  } catch (error) {
    await lock.release().catch(() => {});
    throw error;
  }
  await lock.release();
  return result;
}
