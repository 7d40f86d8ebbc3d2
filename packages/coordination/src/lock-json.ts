import type { Lock, LockJson } from './types.js';

/** The JSON form of a lock: the fencing token as a decimal string (a bigint has no JSON encoding). */
export function lockJson(lock: Pick<Lock, 'key' | 'fencingToken' | 'held'>): LockJson {
  return { key: lock.key, fencingToken: lock.fencingToken.toString(), held: lock.held };
}
