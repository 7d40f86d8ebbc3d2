import type { Lock, LockManager } from '@catraca/coordination';
import type { Logger } from 'pino';
import type { Store } from '../store/port.js';

/** The batched try-lock of `@catraca/coordination`'s ZooKeeper lock manager (coordination 1.0). */
interface BatchLocks {
  tryAcquireMany(keys: readonly string[], options?: { signal?: AbortSignal }): Promise<Map<string, Lock>>;
  releaseMany(locks: readonly Lock[]): Promise<void>;
}

/**
 * A store whose `createAccount` also creates the account's (persistent) lock parent in ZooKeeper, best effort and
 * bounded: the parent is made once, with the account, so that a cold account's first purchase pays one lock-node
 * create instead of a failed create, the parent's create and the node's create. Anything else passes through.
 */
export function withLockParents(store: Store, locks: LockManager, lockKey: (accountId: string) => string, logger: Logger): Store {
  const batch = locks as Partial<BatchLocks>;
  if (typeof batch.tryAcquireMany !== 'function' || typeof batch.releaseMany !== 'function') return store;
  const prepare = async (accountId: string): Promise<void> => {
    try {
      const held = await batch.tryAcquireMany!.call(locks, [lockKey(accountId)], { signal: AbortSignal.timeout(1_000) });
      if (held.size > 0) await batch.releaseMany!.call(locks, [...held.values()]);
    } catch (error) {
      logger.debug({ err: error, account: accountId }, 'lock parent not prepared; the first purchase makes it');
    }
  };
  return new Proxy(store, {
    get(target, property, receiver) {
      if (property === 'createAccount') {
        return async (...args: Parameters<Store['createAccount']>) => {
          const account = await target.createAccount(...args);
          await prepare(account.id);
          return account;
        };
      }
      const value: unknown = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
