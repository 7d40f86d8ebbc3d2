import { InvalidArgumentError } from './errors.js';
import type { AcquireOptions } from './types.js';

/** Combines an acquire's `signal` and `timeoutMs` into one signal (or none when neither is given). */
export function waitSignal(options: AcquireOptions | undefined): AbortSignal | undefined {
  const { signal, timeoutMs } = options ?? {};
  if (timeoutMs !== undefined && (!Number.isFinite(timeoutMs) || timeoutMs < 0)) {
    throw new InvalidArgumentError(`timeoutMs must be a finite number >= 0, got ${timeoutMs}`);
  }
  const timeout = timeoutMs === undefined ? undefined : AbortSignal.timeout(timeoutMs);
  if (signal && timeout) return AbortSignal.any([signal, timeout]);
  return signal ?? timeout;
}

/** Validates a lock key: a non-empty string without `/` (keys become node names in ZooKeeper). */
export function assertKey(key: string): void {
  if (typeof key !== 'string' || key.length === 0 || key.length > 512 || key.includes('/') || key === '.' || key === '..') {
    throw new InvalidArgumentError(`invalid lock key ${JSON.stringify(key)}: 1-512 characters, no "/"`);
  }
}
