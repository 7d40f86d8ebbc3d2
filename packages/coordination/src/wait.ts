import { InvalidArgumentError } from './errors.js';
import type { AcquireOptions } from './types.js';

/** The largest delay Node's timers accept (2^31-1 ms, ~24.8 days); a larger one fires after 1 ms. */
export const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/** What an acquire waits for: `signal` (deadline and/or caller's signal), or a single try when `tryOnce`. */
export interface Wait {
  readonly signal: AbortSignal | undefined;
  /** `timeoutMs: 0`: acquire if free, fail with `LockTimeoutError` at once if busy. */
  readonly tryOnce: boolean;
}

/**
 * Resolves an acquire's `signal` and `timeoutMs` into one {@link Wait}. `Infinity` means no deadline; finite values
 * above {@link MAX_TIMEOUT_MS} are clamped to it (never the 1 ms a larger timer would give).
 * @throws {InvalidArgumentError} `timeoutMs` is negative, NaN or not a number.
 */
export function resolveWait(options: AcquireOptions | undefined): Wait {
  const { signal, timeoutMs } = options ?? {};
  if (timeoutMs !== undefined && (typeof timeoutMs !== 'number' || Number.isNaN(timeoutMs) || timeoutMs < 0)) {
    throw new InvalidArgumentError(`timeoutMs must be a number >= 0 (or Infinity), got ${String(timeoutMs)}`);
  }
  const onRevocation = options?.onRevocationRequested;
  if (onRevocation !== undefined && typeof onRevocation !== 'function') {
    throw new InvalidArgumentError('onRevocationRequested must be a function');
  }
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new InvalidArgumentError('signal must be an AbortSignal');
  }
  if (timeoutMs === 0) return { signal, tryOnce: true };
  const timeout =
    timeoutMs === undefined || timeoutMs === Infinity ? undefined : AbortSignal.timeout(Math.min(timeoutMs, MAX_TIMEOUT_MS));
  return { signal: signal && timeout ? AbortSignal.any([signal, timeout]) : (signal ?? timeout), tryOnce: false };
}

/** Combines an acquire's `signal` and `timeoutMs` into one signal (or none). Kept for callers without try-lock. */
export function waitSignal(options: AcquireOptions | undefined): AbortSignal | undefined {
  const wait = resolveWait(options);
  return wait.tryOnce ? (options?.signal ?? AbortSignal.timeout(0)) : wait.signal;
}

/**
 * Characters ZooKeeper refuses in a path (its `PathUtils`): controls, C1 controls, surrogates (so every emoji and
 * other non-BMP character), the private-use area and U+FFF0-U+FFFF. Refused in every implementation, so that a key
 * valid on one backend is valid on all.
 */
// eslint-disable-next-line no-control-regex
const FORBIDDEN = /[\u0000-\u001f\u007f-\u009f\ud800-\uf8ff\ufff0-\uffff]/;

/** Validates a name that becomes one path segment: non-empty, ≤ 512 chars, no `/`, not `.`/`..`, no forbidden char. */
export function assertName(kind: string, name: string): void {
  if (typeof name !== 'string' || name.length === 0 || name.length > 512 || name.includes('/') || name === '.' || name === '..') {
    throw new InvalidArgumentError(`invalid ${kind} ${JSON.stringify(name)}: 1-512 characters, no "/"`);
  }
  if (FORBIDDEN.test(name)) {
    throw new InvalidArgumentError(
      `invalid ${kind} ${JSON.stringify(name)}: control characters, emoji and other characters outside the Basic ` +
        'Multilingual Plane, and U+E000-U+F8FF/U+FFF0-U+FFFF are not allowed',
    );
  }
}

/** Validates a lock key (see {@link assertName}). */
export function assertKey(key: string): void {
  assertName('lock key', key);
}

/** Validates a batch of keys: an array of valid, distinct keys. */
export function assertDistinctKeys(keys: readonly string[]): void {
  if (!Array.isArray(keys)) throw new InvalidArgumentError('keys must be an array');
  for (const key of keys) assertKey(key);
  if (new Set(keys).size !== keys.length) throw new InvalidArgumentError('keys must be distinct');
}
