import type { CoordinationErrorCode } from './errors.js';

/** Minimal structured logger; pino's and console-like loggers fit. The library never logs to the console itself. */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** A logger that drops everything; the default. */
export const silentLogger: Logger = Object.freeze({
  debug() {},
  info() {},
  warn() {},
  error() {},
});

/**
 * Connection state of a lock manager, after Apache Curator:
 * - `connected`: the service answers; held locks are trustworthy.
 * - `suspended`: no answer for a while (or a disconnect); held locks may be lost. Stop starting new critical work.
 * - `reconnected`: the same session came back; locks held before the suspension are still held.
 * - `lost`: the session is gone; every lock it held is lost. A new session is made automatically.
 * - `closed`: `close()` was called.
 */
export type ConnectionState = 'connected' | 'suspended' | 'reconnected' | 'lost' | 'closed';

export interface AcquireOptions {
  /** Gives up the wait when this signal fires (e.g. a request deadline). */
  signal?: AbortSignal;
  /** Gives up the wait after this many milliseconds. Default: wait until `signal` fires (or forever without one). */
  timeoutMs?: number;
}

/** A held lock. Release it exactly when the critical section ends; releasing twice is harmless. */
export interface Lock {
  /** The key this lock guards. */
  readonly key: string;
  /**
   * A token that strictly increases across successive holders of the same key. Hand it to the resource you write to
   * so it can refuse a write from a holder older than one it has already seen.
   */
  readonly fencingToken: bigint;
  /** Fires (with a {@link LockLostError} reason) when the lock is lost, or can no longer be trusted, while held. */
  readonly signal: AbortSignal;
  /** True until `release()` is called or the lock is lost. */
  readonly held: boolean;
  /** Releases the lock. Idempotent; never throws for a lock that is already released or lost. */
  release(): Promise<void>;
}

/** Per-key mutual exclusion. Implemented in-process ({@link LocalLockManager}) and on ZooKeeper. */
export interface LockManager {
  /**
   * Waits until the lock on `key` is held by the caller, and returns it.
   * @throws {LockTimeoutError} the wait ended (timeout or signal) before the lock was acquired.
   * @throws {CoordinationUnavailableError} the coordination service cannot answer.
   * @throws {ClosedError} the manager is closed.
   */
  acquire(key: string, options?: AcquireOptions): Promise<Lock>;
  /**
   * Runs `fn` while holding the lock on `key`, then releases it, also when `fn` throws. A failed release never hides
   * an error thrown by `fn`. `fn` should watch `lock.signal` and stop when it fires.
   */
  withLock<T>(key: string, fn: (lock: Lock) => Promise<T>, options?: AcquireOptions): Promise<T>;
  /** Current connection state. The in-process implementation is always `connected` until closed. */
  readonly state: ConnectionState;
  /** Subscribes to state changes; returns an unsubscribe function. */
  onStateChange(listener: (state: ConnectionState) => void): () => void;
  /** Releases every held lock (their signals fire with reason `closed`), fails every waiter, and frees resources. */
  close(): Promise<void>;
}

export type { CoordinationErrorCode };
