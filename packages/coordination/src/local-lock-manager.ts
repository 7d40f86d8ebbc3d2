import { ClosedError, LockLostError, LockTimeoutError } from './errors.js';
import type { AcquireOptions, ConnectionState, Lock, LockManager } from './types.js';
import { runWithLock } from './with-lock.js';
import { assertKey, waitSignal } from './wait.js';

interface Waiter {
  grant(lock: LocalLock): void;
  fail(error: Error): void;
}

interface KeyQueue {
  holder: LocalLock | undefined;
  waiters: Waiter[];
}

class LocalLock implements Lock {
  readonly #controller = new AbortController();
  #held = true;

  constructor(
    readonly key: string,
    readonly fencingToken: bigint,
    private readonly onRelease: (lock: LocalLock) => void,
  ) {}

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  get held(): boolean {
    return this.#held;
  }

  async release(): Promise<void> {
    if (!this.#held) return;
    this.#held = false;
    this.onRelease(this);
  }

  /** Marks the lock lost (manager closed) and fires its signal. */
  lose(error: LockLostError): void {
    if (!this.#held) return;
    this.#held = false;
    this.#controller.abort(error);
  }
}

/**
 * Per-key mutual exclusion inside one process: waiters queue per key in FIFO order and are woken one at a time, with
 * no polling. Fencing tokens come from one counter, so they strictly increase across holders of every key.
 */
export class LocalLockManager implements LockManager {
  readonly #queues = new Map<string, KeyQueue>();
  readonly #listeners = new Set<(state: ConnectionState) => void>();
  #nextToken = 1n;
  #closed = false;

  get state(): ConnectionState {
    return this.#closed ? 'closed' : 'connected';
  }

  /** Number of keys with a holder or waiters; for tests and metrics. */
  get activeKeys(): number {
    return this.#queues.size;
  }

  acquire(key: string, options?: AcquireOptions): Promise<Lock> {
    assertKey(key);
    if (this.#closed) return Promise.reject(new ClosedError());
    const signal = waitSignal(options);
    if (signal?.aborted) return Promise.reject(new LockTimeoutError(key, { cause: signal.reason }));

    let queue = this.#queues.get(key);
    if (!queue) {
      queue = { holder: undefined, waiters: [] };
      this.#queues.set(key, queue);
    }
    if (!queue.holder) {
      queue.holder = this.#grant(key);
      return Promise.resolve(queue.holder);
    }

    const q = queue;
    return new Promise<Lock>((resolve, reject) => {
      const onAbort = (): void => {
        const index = q.waiters.indexOf(waiter);
        if (index >= 0) q.waiters.splice(index, 1);
        reject(new LockTimeoutError(key, { cause: signal?.reason }));
      };
      const waiter: Waiter = {
        grant: (lock) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(lock);
        },
        fail: (error) => {
          signal?.removeEventListener('abort', onAbort);
          reject(error);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      q.waiters.push(waiter);
    });
  }

  withLock<T>(key: string, fn: (lock: Lock) => Promise<T>, options?: AcquireOptions): Promise<T> {
    return runWithLock(this, key, fn, options);
  }

  onStateChange(listener: (state: ConnectionState) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const [key, queue] of this.#queues) {
      queue.holder?.lose(new LockLostError(key, 'closed'));
      for (const waiter of queue.waiters) waiter.fail(new ClosedError());
    }
    this.#queues.clear();
    for (const listener of this.#listeners) listener('closed');
  }

  #grant(key: string): LocalLock {
    const token = this.#nextToken++;
    return new LocalLock(key, token, (lock) => this.#release(lock));
  }

  #release(lock: LocalLock): void {
    const queue = this.#queues.get(lock.key);
    if (!queue || queue.holder !== lock) return;
    const next = queue.waiters.shift();
    if (!next) {
      this.#queues.delete(lock.key);
      return;
    }
    queue.holder = this.#grant(lock.key);
    next.grant(queue.holder);
  }
}
