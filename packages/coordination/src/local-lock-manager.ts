import { ClosedError, InvalidArgumentError, LockLostError, LockTimeoutError } from './errors.js';
import { LocalGroups } from './local-groups.js';
import { lockJson } from './lock-json.js';
import type {
  AcquireOptions,
  ConnectionState,
  Coordinator,
  GroupMembership,
  Lock,
  LockJson,
  Participant,
  TryAcquireManyOptions,
} from './types.js';
import { assertDistinctKeys, assertKey, assertName, resolveWait } from './wait.js';
import { assertNotReentrant, runWithLock } from './with-lock.js';

interface Waiter {
  readonly node: string;
  readonly onRevocation: ((lock: Lock) => void) | undefined;
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
  #revocationAsked = false;

  constructor(
    readonly key: string,
    readonly fencingToken: bigint,
    private readonly onRelease: (lock: LocalLock) => void,
    private readonly onRevocation: ((lock: Lock) => void) | undefined,
  ) {}

  get fencingTokenString(): string {
    return this.fencingToken.toString();
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  get held(): boolean {
    return this.#held;
  }

  get node(): string {
    return `local-${this.fencingToken}`;
  }

  async release(): Promise<void> {
    // Stryker disable next-line ConditionalExpression: equivalent — a second onRelease finds the lock is no longer its queue's holder and returns
    if (!this.#held) return;
    this.#held = false;
    this.onRelease(this);
  }

  toJSON(): LockJson {
    return lockJson(this);
  }

  /** Marks the lock lost (manager closed) and fires its signal. */
  lose(error: LockLostError): void {
    // Stryker disable next-line ConditionalExpression: equivalent — close() only loses current holders, which are held
    if (!this.#held) return;
    this.#held = false;
    this.#controller.abort(error);
  }

  /** Calls the holder's revocation callback, once, outside the caller's stack. */
  askToRevoke(): void {
    if (this.#revocationAsked || !this.#held || !this.onRevocation) return;
    this.#revocationAsked = true;
    const callback = this.onRevocation;
    queueMicrotask(() => {
      if (this.#held) callSafely(() => callback(this));
    });
  }
}

/**
 * Per-key mutual exclusion inside one process: waiters queue per key in FIFO order and are woken one at a time, with
 * no polling. Fencing tokens come from one counter, so they strictly increase across holders of every key. Also
 * implements the rest of {@link Coordinator} in-process (revocation, participants, batches, groups, topics), so a
 * single-process deployment and unit tests use the same interfaces as a cluster on ZooKeeper.
 */
export class LocalLockManager implements Coordinator {
  readonly #queues = new Map<string, KeyQueue>();
  readonly #listeners = new Set<(state: ConnectionState) => void>();
  readonly #groups = new LocalGroups();
  readonly #topics = new Map<string, Set<() => void>>();
  #nextToken = 1n;
  #nextWaiter = 1;
  #closed = false;

  get state(): ConnectionState {
    return this.#closed ? 'closed' : 'connected';
  }

  /** Number of keys with a holder or waiters; for tests and metrics. */
  get activeKeys(): number {
    return this.#queues.size;
  }

  acquire(key: string, options?: AcquireOptions): Promise<Lock> {
    try {
      assertKey(key);
      assertNotReentrant(this, key);
      if (this.#closed) throw new ClosedError();
      return this.#acquire(key, options);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #acquire(key: string, options: AcquireOptions | undefined): Promise<Lock> {
    const { signal, tryOnce } = resolveWait(options);
    if (signal?.aborted) return Promise.reject(new LockTimeoutError(key, { cause: signal.reason }));
    const onRevocation = options?.onRevocationRequested;

    let queue = this.#queues.get(key);
    if (!queue) {
      queue = { holder: undefined, waiters: [] };
      this.#queues.set(key, queue);
    }
    if (!queue.holder) {
      queue.holder = this.#grant(key, onRevocation);
      return Promise.resolve(queue.holder);
    }
    if (tryOnce) return Promise.reject(new LockTimeoutError(key));

    const q = queue;
    return new Promise<Lock>((resolve, reject) => {
      const onAbort = (): void => {
        const index = q.waiters.indexOf(waiter);
        // Stryker disable next-line ConditionalExpression: equivalent — grant and fail remove this listener, so it only runs while the waiter is queued
        if (index >= 0) q.waiters.splice(index, 1);
        // Stryker disable next-line OptionalChaining: equivalent — this listener is only ever registered on a signal
        reject(new LockTimeoutError(key, { cause: signal?.reason }));
      };
      const waiter: Waiter = {
        node: `local-waiter-${this.#nextWaiter++}`,
        onRevocation,
        grant: (lock) => {
          // Stryker disable next-line StringLiteral: equivalent — a listener left behind finds the waiter gone (index -1) and rejects a settled promise
          signal?.removeEventListener('abort', onAbort);
          resolve(lock);
        },
        fail: (error) => {
          // Stryker disable next-line StringLiteral: equivalent — a listener left behind finds the waiter gone (index -1) and rejects a settled promise
          signal?.removeEventListener('abort', onAbort);
          reject(error);
        },
      };
      // Stryker disable next-line ObjectLiteral,BooleanLiteral: equivalent — an AbortSignal fires at most once
      signal?.addEventListener('abort', onAbort, { once: true });
      q.waiters.push(waiter);
    });
  }

  withLock<T>(key: string, fn: (lock: Lock) => Promise<T>, options?: AcquireOptions): Promise<T> {
    return runWithLock(this, key, fn, options);
  }

  async participants(key: string, _options?: { signal?: AbortSignal }): Promise<Participant[]> {
    assertKey(key);
    const queue = this.#queues.get(key);
    if (!queue?.holder) return [];
    return [
      { node: queue.holder.node, sessionId: 'local', isHolder: true },
      ...queue.waiters.map((w) => ({ node: w.node, sessionId: 'local', isHolder: false })),
    ];
  }

  async requestRevocation(key: string, _options?: { signal?: AbortSignal }): Promise<boolean> {
    assertKey(key);
    if (this.#closed) throw new ClosedError();
    const holder = this.#queues.get(key)?.holder;
    if (!holder) return false;
    holder.askToRevoke();
    return true;
  }

  async tryAcquireMany(keys: readonly string[], options?: TryAcquireManyOptions): Promise<Map<string, Lock>> {
    assertDistinctKeys(keys);
    if (this.#closed) throw new ClosedError();
    const signal = options?.signal;
    if (signal?.aborted) throw new LockTimeoutError(keys[0] ?? '', { cause: signal.reason });
    const locks = new Map<string, Lock>();
    for (const key of keys) {
      const lock = await this.acquire(key, { timeoutMs: 0, ...pickRevocation(options) }).catch((error: unknown) => {
        if (error instanceof LockTimeoutError) return undefined;
        throw error;
      });
      if (lock) locks.set(key, lock);
    }
    return locks;
  }

  async releaseMany(locks: readonly Lock[]): Promise<void> {
    await Promise.all(locks.map((lock) => lock.release()));
  }

  async joinGroup(group: string, memberId: string, data: string, _options?: { signal?: AbortSignal }): Promise<GroupMembership> {
    assertName('group', group);
    assertName('member id', memberId);
    if (typeof data !== 'string') throw new InvalidArgumentError('member data must be a string');
    if (this.#closed) throw new ClosedError();
    return this.#groups.join(group, memberId, data);
  }

  async notify(topic: string, _options?: { signal?: AbortSignal }): Promise<void> {
    assertName('topic', topic);
    if (this.#closed) throw new ClosedError();
    // Stryker disable next-line ArrayDeclaration: equivalent — a non-function in the list would throw inside callSafely, which drops it
    for (const listener of [...(this.#topics.get(topic) ?? [])]) queueMicrotask(() => callSafely(listener));
  }

  watch(topic: string, listener: () => void): () => void {
    assertName('topic', topic);
    if (typeof listener !== 'function') throw new InvalidArgumentError('listener must be a function');
    let set = this.#topics.get(topic);
    if (!set) this.#topics.set(topic, (set = new Set()));
    const own = (): void => listener();
    set.add(own);
    return () => {
      set.delete(own);
      if (set.size === 0 && this.#topics.get(topic) === set) this.#topics.delete(topic);
    };
  }

  onStateChange(listener: (state: ConnectionState) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const [key, queue] of this.#queues) {
      // Stryker disable next-line OptionalChaining: equivalent — a queue in the map always has a holder (it is deleted when the last one releases)
      queue.holder?.lose(new LockLostError(key, 'closed'));
      for (const waiter of queue.waiters) waiter.fail(new ClosedError());
    }
    this.#queues.clear();
    this.#groups.clear();
    this.#topics.clear();
    for (const listener of this.#listeners) listener('closed');
  }

  #grant(key: string, onRevocation: ((lock: Lock) => void) | undefined): LocalLock {
    const token = this.#nextToken++;
    return new LocalLock(key, token, (lock) => this.#release(lock), onRevocation);
  }

  #release(lock: LocalLock): void {
    const queue = this.#queues.get(lock.key);
    // Stryker disable next-line ConditionalExpression,LogicalOperator,EqualityOperator: equivalent — only a held lock calls onRelease, and a held lock is its queue's holder
    if (!queue || queue.holder !== lock) return;
    const next = queue.waiters.shift();
    if (!next) {
      this.#queues.delete(lock.key);
      return;
    }
    queue.holder = this.#grant(lock.key, next.onRevocation);
    next.grant(queue.holder);
  }
}

/**
 * Runs a caller's callback from a microtask: what it throws is dropped rather than crashing the process as an
 * uncaught exception (the in-process manager has no logger; the callback owns its errors).
 */
export function callSafely(fn: () => void): void {
  try {
    fn();
  } catch {
    // The callback's own error; see above.
  }
}

function pickRevocation(options: TryAcquireManyOptions | undefined): Pick<AcquireOptions, 'onRevocationRequested'> {
  return options?.onRevocationRequested ? { onRevocationRequested: options.onRevocationRequested } : {};
}
