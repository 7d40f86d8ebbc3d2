import {
  LockTimeoutError,
  runWithLock,
  type AcquireOptions,
  type ConnectionState,
  type Lock,
  type LockJson,
  type LockManager,
} from '@catraca/coordination';
import type { Logger } from 'pino';

/** Options of {@link KeptLocks}; defaults in {@link KEPT_LOCKS_DEFAULTS}. */
export interface KeptLocksOptions {
  /** Most locks kept while idle; past it the least recently used idle ones are released. Default 10 000. */
  maxKept?: number;
  /** A kept lock unused this long is released (in bulk, by a sweep every `idleMs / 2`). Default 30 000 ms. */
  idleMs?: number;
  /**
   * Bound of one (shared) acquisition of a key, independent of the deadline of the request that started it. Default
   * 10 000 ms.
   */
  acquireTimeoutMs?: number;
  /** Bulk release (one ZooKeeper `multi()` for many locks), when the lock manager has one. */
  releaseMany?: (locks: readonly Lock[]) => Promise<void>;
  logger: Logger;
}

export const KEPT_LOCKS_DEFAULTS = Object.freeze({ maxKept: 10_000, idleMs: 30_000, acquireTimeoutMs: 10_000 });

interface Kept {
  readonly lock: Lock;
  /** Leases handed out and not yet returned (the account gate hands out one at a time). */
  leases: number;
  lastUsed: number;
  /** Release at the end of the current lease instead of keeping it (revocation, hand-over). */
  letGo: boolean;
}

/** Resolves with `promise`, or rejects with a {@link LockTimeoutError} as soon as `signal` fires (the wait goes on). */
function untilAborted<T>(promise: Promise<T>, key: string, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(new LockTimeoutError(key, { cause: signal.reason }));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new LockTimeoutError(key, { cause: signal.reason }));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/** What the gate holds: a view of the kept lock whose `release()` returns it to the keeper instead of deleting it. */
class Lease implements Lock {
  #returned = false;
  constructor(
    private readonly kept: Kept,
    private readonly onReturn: (kept: Kept) => void,
  ) {}
  get key(): string {
    return this.kept.lock.key;
  }
  get fencingToken(): bigint {
    return this.kept.lock.fencingToken;
  }
  get fencingTokenString(): string {
    return this.kept.lock.fencingTokenString;
  }
  toJSON(): LockJson {
    return { key: this.key, fencingToken: this.fencingTokenString, held: this.held };
  }
  get signal(): AbortSignal {
    return this.kept.lock.signal;
  }
  get held(): boolean {
    return !this.#returned && this.kept.lock.held;
  }
  async release(): Promise<void> {
    if (this.#returned) return;
    this.#returned = true;
    this.onReturn(this.kept);
  }
}

/**
 * A {@link LockManager} that keeps what it acquires: the first `acquire` of a key takes the real lock (a ZooKeeper
 * node), and `release()` only returns it to this keeper, so the next batch of that key pays no ZooKeeper round trip.
 * Kept locks are let go in bulk when idle for `idleMs`, beyond `maxKept` (least recently used first), when asked to
 * ({@link letGo}: hand-over on a membership change, a revocation request), and on `close()`. A lock lost underneath
 * (session expiry) is forgotten at once; its lease's signal fires as the real lock's does.
 *
 * Safe only where other processes do not compete for the same keys in the normal course of things — that is what the
 * cluster routing ensures (every account is served by its home replica); a competitor would wait for the idle expiry.
 */
export class KeptLocks implements LockManager {
  readonly #kept = new Map<string, Kept>();
  readonly #maxKept: number;
  readonly #idleMs: number;
  readonly #sweep: NodeJS.Timeout;
  readonly #releasing = new Set<Promise<void>>();
  readonly #pending = new Map<string, Promise<Kept>>();
  readonly #acquireTimeoutMs: number;
  #closed = false;

  constructor(
    private readonly inner: LockManager,
    private readonly options: KeptLocksOptions,
  ) {
    this.#maxKept = options.maxKept ?? KEPT_LOCKS_DEFAULTS.maxKept;
    this.#idleMs = options.idleMs ?? KEPT_LOCKS_DEFAULTS.idleMs;
    this.#acquireTimeoutMs = options.acquireTimeoutMs ?? KEPT_LOCKS_DEFAULTS.acquireTimeoutMs;
    if (!Number.isInteger(this.#maxKept) || this.#maxKept < 0) throw new RangeError('maxKept must be an integer >= 0');
    if (!(this.#idleMs >= 1)) throw new RangeError('idleMs must be >= 1');
    this.#sweep = setInterval(() => this.#releaseIdle(), Math.max(1, Math.floor(this.#idleMs / 2)));
    this.#sweep.unref();
  }

  get state(): ConnectionState {
    return this.inner.state;
  }

  /** Number of locks currently kept (leased or idle). */
  get size(): number {
    return this.#kept.size;
  }

  /** The fencing token of the kept lock on `key`, when one is kept and still held. */
  tokenOf(key: string): bigint | undefined {
    const kept = this.#kept.get(key);
    return kept && kept.lock.held ? kept.lock.fencingToken : undefined;
  }

  /** Keys of the kept locks. */
  keys(): string[] {
    return [...this.#kept.keys()];
  }

  onStateChange(listener: (state: ConnectionState) => void): () => void {
    return this.inner.onStateChange(listener);
  }

  withLock<T>(key: string, fn: (lock: Lock) => Promise<T>, options?: AcquireOptions): Promise<T> {
    return runWithLock(this, key, fn, options);
  }

  async acquire(key: string, options?: AcquireOptions): Promise<Lock> {
    const existing = this.#kept.get(key);
    if (existing && existing.lock.held && !existing.letGo && existing.leases === 0) {
      existing.leases++;
      return new Lease(existing, (k) => this.#return(k));
    }
    if (existing && !existing.lock.held) this.#kept.delete(key);
    // One acquisition per key, shared, and bounded by `acquireTimeoutMs` rather than by the caller's deadline: a caller
    // that gives up leaves it running, so the lock is there for the next request instead of every deadline costing a
    // lock node created and deleted again (what an overloaded replica would otherwise do to ZooKeeper).
    let pending = this.#pending.get(key);
    if (!pending) {
      pending = this.#acquireShared(key);
      this.#pending.set(key, pending);
      void pending.finally(() => this.#pending.delete(key)).catch(() => {});
    }
    const kept = await untilAborted(pending, key, options?.signal);
    if (kept.leases > 0 || kept.letGo || !kept.lock.held) {
      // Taken by another caller meanwhile, or already lost: try again (the gate serialises callers, so this is rare).
      return this.acquire(key, options);
    }
    kept.leases++;
    return new Lease(kept, (k) => this.#return(k));
  }

  async #acquireShared(key: string): Promise<Kept> {
    // A revocation request (e.g. an operator moving an account, or a new home whose view is ahead) is a signal: let go
    // at the end of the current lease. Hand-overs on a membership change do not need it: the old home sees the same
    // change and lets go by itself (see ClusterRouter).
    const lock = await this.inner.acquire(key, {
      timeoutMs: this.#acquireTimeoutMs,
      onRevocationRequested: () => this.letGo((k) => k === key),
    });
    const kept: Kept = { lock, leases: 0, lastUsed: performance.now(), letGo: false };
    if (this.#closed) {
      await lock.release().catch(() => {});
      return kept;
    }
    this.#kept.set(key, kept);
    lock.signal.addEventListener('abort', () => {
      if (this.#kept.get(key) === kept) this.#kept.delete(key);
    }, { once: true });
    if (this.#kept.size > this.#maxKept) this.#evict(this.#kept.size - this.#maxKept);
    return kept;
  }

  /**
   * Lets go of the kept locks whose key matches: idle ones at once (in bulk), leased ones when their lease ends.
   * Returns how many were kept.
   */
  letGo(match: (key: string) => boolean, limit = Infinity): number {
    const idle: Kept[] = [];
    let count = 0;
    for (const [key, kept] of this.#kept) {
      if (count >= limit) break;
      if (!match(key) || kept.letGo) continue;
      count++;
      kept.letGo = true;
      if (kept.leases === 0) idle.push(kept);
    }
    this.#releaseAll(idle);
    return count;
  }

  /** Releases every kept lock, then closes the inner lock manager. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#sweep);
    this.#releaseAll([...this.#kept.values()]);
    await Promise.allSettled([...this.#releasing]);
    await this.inner.close();
  }

  /** Waits for the bulk releases under way. */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.#releasing]);
  }

  #return(kept: Kept): void {
    kept.leases--;
    kept.lastUsed = performance.now();
    if (kept.leases === 0 && (kept.letGo || this.#closed || !kept.lock.held)) this.#releaseAll([kept]);
  }

  #releaseIdle(): void {
    const before = performance.now() - this.#idleMs;
    this.#releaseAll([...this.#kept.values()].filter((k) => k.leases === 0 && k.lastUsed <= before));
  }

  #evict(count: number): void {
    const idle = [...this.#kept.values()].filter((k) => k.leases === 0).sort((a, b) => a.lastUsed - b.lastUsed);
    this.#releaseAll(idle.slice(0, count));
  }

  #releaseAll(list: readonly Kept[]): void {
    const locks: Lock[] = [];
    for (const kept of list) {
      if (this.#kept.get(kept.lock.key) === kept) this.#kept.delete(kept.lock.key);
      if (kept.lock.held) locks.push(kept.lock);
    }
    if (locks.length === 0) return;
    const { releaseMany, logger } = this.options;
    const done = (releaseMany ? releaseMany(locks) : Promise.all(locks.map((l) => l.release())).then(() => {}))
      .catch((error: unknown) => logger.warn({ err: error, locks: locks.length }, 'releasing kept locks failed'))
      .finally(() => this.#releasing.delete(done));
    this.#releasing.add(done);
  }
}
