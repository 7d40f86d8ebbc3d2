import {
  ClosedError,
  CoordinationUnavailableError,
  InvalidArgumentError,
  LockTimeoutError,
} from '../errors.js';
import type {
  AcquireOptions,
  ConnectionState,
  Coordinator,
  GroupMembership,
  Lock,
  Participant,
  TryAcquireManyOptions,
} from '../types.js';
import { assertDistinctKeys, assertKey, assertName, resolveWait } from '../wait.js';
import { assertNotReentrant, runWithLock } from '../with-lock.js';
import { createBatch, removeBatch } from './batch.js';
import { DeletionWatches } from './deletion-watches.js';
import { ZooKeeperGroupMembership } from './group-membership.js';
import { Acquirer, Busy } from './acquisition.js';
import { NodeCleaner } from './node-cleaner.js';
import { MULTI_CHUNK } from './multi.js';
import { resolveOptions, ZOOKEEPER_DEFAULTS, type ResolvedOptions, type ZooKeeperLockManagerOptions } from './options.js';
import { ConnectionTrouble, ServerError, ZkSession } from './session.js';
import { Topics } from './topics.js';
import { ZooKeeperLock } from './zookeeper-lock.js';
import { ensurePath } from './parents.js';
import { markHolder, queueParticipants } from './queue-inspection.js';
import { watchHeldLock } from './held-lock-watch.js';


/**
 * Per-key mutual exclusion across processes on ZooKeeper, after Apache Curator's `InterProcessMutex`: per key,
 * ephemeral sequential nodes under `/<namespace>/locks/<key>`; the lowest sequence holds the lock; each waiter
 * watches only its predecessor. One ZooKeeper session per manager serves all its locks: make one manager per process.
 * Each lock's fencing token is its node's creation zxid, which strictly increases across holders. Also revocation
 * (Curator's `Revoker`), participants, batched try-locks and releases in one `multi()`, group membership and change
 * notification ({@link Coordinator}).
 */
export class ZooKeeperLockManager implements Coordinator {
  /** Defaults of every optional constructor option. */
  static readonly DEFAULTS = ZOOKEEPER_DEFAULTS;
  readonly #options: ResolvedOptions;
  readonly #session: ZkSession;
  readonly #held = new Set<ZooKeeperLock>();
  /** Keys with an acquisition in progress or a held lock, with their count: their parent is not reaped. */
  readonly #busyKeys = new Map<string, number>();
  readonly #reapTimers = new Map<string, NodeJS.Timeout>();
  readonly #waits = new Set<AbortController>();
  readonly #background = new Set<Promise<unknown>>();
  readonly #deletions: DeletionWatches;
  readonly #cleaner: NodeCleaner;
  readonly #acquirer: Acquirer;
  readonly #groups = new Set<ZooKeeperGroupMembership>();
  readonly #topics: Topics;
  readonly #root: string;
  #closed = false;

  constructor(options: ZooKeeperLockManagerOptions) {
    this.#options = resolveOptions(options);
    this.#root = `/${this.#options.namespace}`;
    this.#session = new ZkSession(this.#options);
    this.#cleaner = new NodeCleaner(this.#session, this.#options.logger, (task) => this.#track(task), () => this.#closed);
    this.#deletions = new DeletionWatches(this.#session);
    this.#acquirer = new Acquirer({
      session: this.#session,
      logger: this.#options.logger,
      operationTimeoutMs: this.#options.operationTimeoutMs,
      deletions: this.#deletions,
      cleaner: this.#cleaner,
      ensureParent: (parent, signal) => this.#ensureParent(parent, signal),
      track: (task) => this.#track(task),
      closed: () => this.#closed,
    });
    this.#topics = new Topics(this.#session, this.#root, this.#options.logger);
    this.#session.onState((state) => this.#onState(state));
  }

  get state(): ConnectionState {
    return this.#closed ? 'closed' : this.#session.state;
  }

  /** The session timeout negotiated with the server. */
  get sessionTimeoutMs(): number {
    return this.#session.sessionTimeoutMs;
  }

  /** Resolves once connected; rejects with `CoordinationUnavailableError` after `operationTimeoutMs`. */
  waitConnected(options: { signal?: AbortSignal } = {}): Promise<void> {
    return this.#session.waitConnected(this.#options.operationTimeoutMs, options.signal);
  }

  onStateChange(listener: (state: ConnectionState) => void): () => void {
    return this.#session.onState(listener);
  }

  withLock<T>(key: string, fn: (lock: Lock) => Promise<T>, options?: AcquireOptions): Promise<T> {
    return runWithLock(this, key, fn, options);
  }

  async acquire(key: string, options?: AcquireOptions): Promise<Lock> {
    assertKey(key);
    assertNotReentrant(this, key);
    if (this.#closed) throw new ClosedError();
    const { signal: callerSignal, tryOnce } = resolveWait(options);
    if (callerSignal?.aborted) throw new LockTimeoutError(key, { cause: callerSignal.reason });

    // One signal for this wait: the caller's deadline, or close().
    const wait = new AbortController();
    const forward = (): void => wait.abort(callerSignal?.reason);
    callerSignal?.addEventListener('abort', forward, { once: true });
    this.#waits.add(wait);
    const attempt = this.#acquirer.newAttempt(key, this.#parentOf(key));
    this.#busy(key, +1);
    try {
      const granted = await this.#acquirer.run(attempt, wait.signal, tryOnce);
      return this.#grant(key, granted.path, granted.token, attempt.generation, options?.onRevocationRequested);
    } catch (error) {
      this.#busy(key, -1);
      this.#acquirer.abandon(attempt);
      if (error instanceof Busy && !this.#closed) throw new LockTimeoutError(key);
      throw this.#acquireError(key, error, callerSignal);
    } finally {
      callerSignal?.removeEventListener('abort', forward);
      this.#waits.delete(wait);
    }
  }

  /**
   * Who holds and who waits on `key`, holder first, waiters in queue order; `sessionId` is the node's
   * `ephemeralOwner` in hex. A snapshot: it may be stale by the time it is read.
   */
  async participants(key: string, options: { signal?: AbortSignal } = {}): Promise<Participant[]> {
    assertKey(key);
    if (this.#closed) throw new ClosedError();
    return queueParticipants(this.#session, this.#parentOf(key), options.signal).catch((error: unknown) => {
      throw this.#requestError(error);
    });
  }

  /**
   * Curator's `Revoker.attemptRevoke`: writes `__REVOKE__` on the current holder's node, whose data watch calls its
   * `onRevocationRequested`. Resolves false when nobody holds `key`.
   */
  async requestRevocation(key: string, options: { signal?: AbortSignal } = {}): Promise<boolean> {
    assertKey(key);
    if (this.#closed) throw new ClosedError();
    return markHolder(this.#session, this.#parentOf(key), options.signal).catch((error: unknown) => {
      throw this.#requestError(error);
    });
  }

  /**
   * Try-locks several keys: one `multi()` creates a lock node for every key (500 per transaction at most; parents
   * are created persistent if missing, then the batch is retried), one read round lists every key's queue, and the
   * nodes of the keys that turned out busy are deleted in one more `multi()`. Returns the locks of the free keys; all
   * locks of one transaction share its zxid as fencing token (still strictly increasing per key). A create whose
   * reply was lost is found by its protected-mode GUID, never re-sent blindly. A failure (no answer, `signal`) fails
   * the whole call and gives back what earlier chunks got: an aborted `signal` rejects with `LockTimeoutError` (key:
   * the first key of the chunk, cause: the reason), an outage with `CoordinationUnavailableError`.
   */
  async tryAcquireMany(keys: readonly string[], options: TryAcquireManyOptions = {}): Promise<Map<string, Lock>> {
    assertDistinctKeys(keys);
    for (const key of keys) assertNotReentrant(this, key);
    if (this.#closed) throw new ClosedError();
    const { signal } = options;
    if (signal?.aborted) throw new LockTimeoutError(keys[0] ?? '', { cause: signal.reason });
    const locks = new Map<string, Lock>();
    for (let from = 0; from < keys.length; from += MULTI_CHUNK) {
      const chunk = keys.slice(from, from + MULTI_CHUNK);
      for (const key of chunk) this.#busy(key, +1);
      let batch;
      try {
        batch = await createBatch(this.#batchContext(), chunk, signal);
      } catch (error) {
        for (const key of chunk) this.#busy(key, -1);
        // All or nothing for the caller: locks of earlier chunks go back, so no lock is held that nobody was given.
        await this.releaseMany([...locks.values()]).catch(() => {});
        throw this.#acquireError(chunk[0] ?? '', error, signal);
      }
      const losers: string[] = [];
      for (const key of chunk) {
        const node = batch.nodes.get(key);
        if (node && node.free && batch.generation === this.#session.generation && !this.#closed) {
          locks.set(key, this.#grant(key, node.path, batch.token, batch.generation, options.onRevocationRequested));
        } else {
          if (node) losers.push(node.path);
          this.#busy(key, -1);
        }
      }
      if (losers.length > 0) this.#track(this.#cleaner.removeOrDefer(losers, batch.generation));
    }
    return locks;
  }

  /** Releases many locks, deleting their nodes in one `multi()` (500 per transaction at most). */
  async releaseMany(locks: readonly Lock[]): Promise<void> {
    if (!Array.isArray(locks)) throw new InvalidArgumentError('locks must be an array');
    const mine: ZooKeeperLock[] = [];
    const others: Lock[] = [];
    for (const lock of locks) {
      if (lock instanceof ZooKeeperLock && this.#held.has(lock)) {
        if (lock.markReleased()) mine.push(lock);
      } else if (lock && typeof lock.release === 'function') {
        others.push(lock);
      } else {
        throw new InvalidArgumentError('releaseMany takes locks');
      }
    }
    for (const lock of mine) this.#held.delete(lock);
    const tasks: Promise<unknown>[] = others.map((lock) => lock.release());
    for (let from = 0; from < mine.length; from += MULTI_CHUNK) {
      const chunk = mine.slice(from, from + MULTI_CHUNK);
      tasks.push(
        removeBatch(this.#session, chunk.map((lock) => lock.path)).then(
          () => undefined,
          // One node deleted by someone else (NO_NODE) fails the whole transaction; so does a lost connection:
          // release one by one, which notices the missing node and retries the rest in the background.
          () => Promise.all(chunk.map((lock) => this.#releaseNode(lock))),
        ).finally(() => {
          for (const lock of chunk) this.#busy(lock.key, -1);
        }),
      );
    }
    await Promise.all(tasks);
  }

  /**
   * Joins `group` as `memberId`: an ephemeral node `/<namespace>/groups/<group>/<memberId>` holding `data`,
   * registered again by every new session (after waiting out a node its previous session left) and after a deletion
   * by hand. Resolves once registered and the member list is loaded.
   */
  async joinGroup(group: string, memberId: string, data: string, options: { signal?: AbortSignal } = {}): Promise<GroupMembership> {
    assertName('group', group);
    assertName('member id', memberId);
    if (typeof data !== 'string') throw new InvalidArgumentError('member data must be a string');
    if (this.#closed) throw new ClosedError();
    const membership = new ZooKeeperGroupMembership(this.#session, `${this.#root}/groups/${group}`, group, memberId, data, this.#options, () =>
      this.#groups.delete(membership),
    );
    this.#groups.add(membership);
    try {
      await membership.start(options.signal);
    } catch (error) {
      await membership.leave().catch(() => {});
      if (this.#closed) throw new ClosedError({ cause: error });
      throw this.#requestError(error);
    }
    return membership;
  }

  /** Bumps `/<namespace>/topics/<topic>` (created persistent on first use): every `watch(topic)` fires. */
  async notify(topic: string, options: { signal?: AbortSignal } = {}): Promise<void> {
    assertName('topic', topic);
    if (this.#closed) throw new ClosedError();
    try {
      await this.#topics.notify(topic, options.signal);
    } catch (error) {
      throw this.#requestError(error);
    }
  }

  /** Data watch on `/<namespace>/topics/<topic>`: `listener` runs after every bump and after every reconnection. */
  watch(topic: string, listener: () => void): () => void {
    assertName('topic', topic);
    if (typeof listener !== 'function') throw new InvalidArgumentError('listener must be a function');
    if (this.#closed) throw new ClosedError();
    return this.#topics.watch(topic, listener);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const timer of this.#reapTimers.values()) clearTimeout(timer);
    this.#reapTimers.clear();
    for (const wait of this.#waits) wait.abort(new ClosedError());
    this.#topics.close();
    const leaving = [...this.#groups].map((g) => g.leave().catch(() => {}));
    const releases = [...this.#held].map((lock) => {
      lock.lose('closed');
      return this.#cleaner.deleteNode(lock.path).catch(() => {});
    });
    await Promise.allSettled([...leaving, ...releases, ...this.#background]);
    await this.#session.close();
  }

  #parentOf(key: string): string {
    return `${this.#root}/locks/${key}`;
  }

  #batchContext(): Parameters<typeof createBatch>[0] {
    return {
      session: this.#session,
      parentOf: (key) => this.#parentOf(key),
      ensureParent: (parent, signal) => this.#ensureParent(parent, signal),
      logger: this.#options.logger,
      operationTimeoutMs: this.#options.operationTimeoutMs,
      track: (task) => this.#track(task),
    };
  }

  #requestError(error: unknown): Error {
    if (this.#closed || error instanceof ClosedError) return new ClosedError({ cause: error });
    if (error instanceof CoordinationUnavailableError || error instanceof InvalidArgumentError) return error;
    if (error instanceof ConnectionTrouble || error instanceof ServerError) {
      return new CoordinationUnavailableError(`ZooKeeper request failed: ${error.message}`, { cause: error });
    }
    return error instanceof Error ? error : new CoordinationUnavailableError(String(error), { cause: error });
  }

  #acquireError(key: string, error: unknown, callerSignal: AbortSignal | undefined): Error {
    if (this.#closed || error instanceof ClosedError) return new ClosedError({ cause: error });
    if (callerSignal?.aborted) {
      // A wait that ended while the service could not answer is an outage, not a busy lock.
      return this.#session.connected
        ? new LockTimeoutError(key, { cause: callerSignal.reason })
        : new CoordinationUnavailableError('ZooKeeper did not answer before the wait ended', { cause: error });
    }
    return this.#requestError(error);
  }

  #ensureParent(parent: string, signal: AbortSignal | undefined): Promise<void> {
    return ensurePath(this.#session, parent, signal);
  }

  #grant(key: string, path: string, token: bigint, generation: number, onRevocation: ((lock: Lock) => void) | undefined): Lock {
    const lock = new ZooKeeperLock(key, token, path, generation, (l) => this.#release(l), onRevocation);
    this.#held.add(lock);
    this.#watchHeld(lock);
    this.#options.logger.debug({ event: 'lock.acquired', key, token: String(token) }, 'lock acquired');
    return lock;
  }

  /** Deletion of the node by someone else fires the lock's signal; a revocation marker calls its holder. */
  #watchHeld(lock: ZooKeeperLock): void {
    watchHeldLock(this.#session, lock, {
      onDeleted: (l) => this.#lose(l, 'node-deleted'),
      onCallbackError: (l, error) =>
        this.#options.logger.error({ event: 'lock.revocation_callback_error', key: l.key, err: error }, 'onRevocationRequested threw'),
      track: (task) => this.#track(task),
      closed: () => this.#closed,
    });
  }

  #lose(lock: ZooKeeperLock, reason: 'node-deleted' | 'session-lost'): void {
    if (!lock.lose(reason)) return;
    this.#held.delete(lock);
    this.#busy(lock.key, -1);
    this.#options.logger.warn({ event: 'lock.lost', key: lock.key, reason }, 'lock lost');
  }

  async #release(lock: ZooKeeperLock): Promise<void> {
    this.#held.delete(lock);
    try {
      await this.#releaseNode(lock);
    } finally {
      this.#busy(lock.key, -1);
    }
  }

  /** Deletes a released lock's node; a node already gone means the lock was lost before: its signal fires. */
  async #releaseNode(lock: ZooKeeperLock): Promise<void> {
    try {
      const existed = await this.#cleaner.deleteNode(lock.path);
      if (!existed && lock.generation === this.#session.generation) {
        lock.lostDuringRelease('node-deleted');
        this.#options.logger.warn({ event: 'lock.node_missing', key: lock.key }, 'released a lock whose node someone else deleted');
      }
    } catch (error) {
      if (lock.generation === this.#session.generation && !this.#closed) {
        this.#cleaner.deleteInBackground(lock.path, lock.generation);
      }
      this.#options.logger.warn({ event: 'lock.release_deferred', key: lock.key, err: error }, 'release retried in background');
    }
  }

  #track(task: Promise<unknown>): void {
    this.#background.add(task);
    void task.finally(() => this.#background.delete(task));
  }

  #busy(key: string, delta: number): void {
    const count = (this.#busyKeys.get(key) ?? 0) + delta;
    if (count > 0) {
      this.#busyKeys.set(key, count);
      return;
    }
    this.#busyKeys.delete(key);
    if (delta < 0) this.#scheduleReap(key);
  }

  /**
   * Deletes a key's parent `reapDelayMs` after its last local use; ZooKeeper refuses if another process has a node in
   * it. One timer per key, pushed back by every release, so a hot key has one pending reap, not one per release, and
   * `close()` clears them instead of waiting them out. `reapDelayMs: Infinity` keeps parents (long-lived keys).
   */
  #scheduleReap(key: string): void {
    if (this.#closed || this.#options.reapDelayMs === Infinity) return;
    clearTimeout(this.#reapTimers.get(key));
    const reap = (): void => {
      this.#reapTimers.delete(key);
      if (this.#busyKeys.has(key) || this.#closed) return;
      this.#track(
        this.#session.remove(this.#parentOf(key)).catch(() => {
          // NOT_EMPTY (someone else waits or holds), NO_NODE (already reaped), or no connection: leave it.
        }),
      );
    };
    if (this.#options.reapDelayMs === 0) {
      reap();
      return;
    }
    const timer = setTimeout(reap, this.#options.reapDelayMs);
    timer.unref();
    this.#reapTimers.set(key, timer);
  }

  #onState(state: ConnectionState): void {
    if (state !== 'lost') return;
    this.#deletions.clear();
    const generation = this.#session.generation;
    for (const lock of [...this.#held]) {
      if (lock.generation < generation) this.#lose(lock, 'session-lost');
    }
  }
}
