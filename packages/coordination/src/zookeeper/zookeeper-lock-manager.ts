import zookeeper from 'node-zookeeper-client';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ClosedError,
  CoordinationUnavailableError,
  LockLostError,
  LockTimeoutError,
  type LockLostReason,
} from '../errors.js';
import type { AcquireOptions, ConnectionState, Lock, LockManager } from '../types.js';
import { assertKey, waitSignal } from '../wait.js';
import { runWithLock } from '../with-lock.js';
import { baseName, lockNodePrefix, newAttemptId, sortLockNodes } from './lock-node-name.js';
import { resolveOptions, ZOOKEEPER_DEFAULTS, type ResolvedOptions, type ZooKeeperLockManagerOptions } from './options.js';
import { ConnectionTrouble, ServerError, ZK, ZkSession } from './session.js';

const EPHEMERAL_SEQUENTIAL = zookeeper.CreateMode.EPHEMERAL_SEQUENTIAL;
const PERSISTENT = zookeeper.CreateMode.PERSISTENT;

/** One acquisition: its node (once created) and what is known about it. */
interface Attempt {
  readonly key: string;
  readonly id: string;
  readonly parent: string;
  generation: number;
  path: string | undefined;
  token: bigint | undefined;
  /** A create was sent and its outcome is unknown (no reply): the node may exist. */
  createUnknown: boolean;
  /** The caller gave up; any node this attempt made must go. */
  abandoned: boolean;
}

class ZooKeeperLock implements Lock {
  readonly #controller = new AbortController();
  #held = true;

  constructor(
    readonly key: string,
    readonly fencingToken: bigint,
    readonly path: string,
    readonly generation: number,
    private readonly onRelease: (lock: ZooKeeperLock) => Promise<void>,
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
    await this.onRelease(this);
  }

  lose(reason: LockLostReason): void {
    if (!this.#held) return;
    this.#held = false;
    this.#controller.abort(new LockLostError(this.key, reason));
  }
}

/**
 * Per-key mutual exclusion across processes on ZooKeeper, after Apache Curator's `InterProcessMutex`: per key,
 * ephemeral sequential nodes under `/<namespace>/locks/<key>`; the lowest sequence holds the lock; each waiter
 * watches only its predecessor. One ZooKeeper session per manager serves all its locks: make one manager per process.
 * Each lock's fencing token is its node's creation zxid, which strictly increases across holders.
 */
export class ZooKeeperLockManager implements LockManager {
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
  readonly #root: string;
  #closed = false;

  constructor(options: ZooKeeperLockManagerOptions) {
    this.#options = resolveOptions(options);
    this.#root = `/${this.#options.namespace}`;
    this.#session = new ZkSession(this.#options);
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
    if (this.#closed) throw new ClosedError();
    const callerSignal = waitSignal(options);
    if (callerSignal?.aborted) throw new LockTimeoutError(key, { cause: callerSignal.reason });

    // One signal for this wait: the caller's deadline, or close().
    const wait = new AbortController();
    const forward = (): void => wait.abort(callerSignal?.reason);
    callerSignal?.addEventListener('abort', forward, { once: true });
    this.#waits.add(wait);
    const attempt: Attempt = {
      key,
      id: newAttemptId(),
      parent: `${this.#root}/locks/${key}`,
      generation: this.#session.generation,
      path: undefined,
      token: undefined,
      createUnknown: false,
      abandoned: false,
    };
    this.#busy(key, +1);
    try {
      return await this.#acquireLoop(attempt, wait.signal);
    } catch (error) {
      this.#busy(key, -1);
      this.#abandon(attempt);
      throw this.#acquireError(key, error, callerSignal);
    } finally {
      callerSignal?.removeEventListener('abort', forward);
      this.#waits.delete(wait);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const timer of this.#reapTimers.values()) clearTimeout(timer);
    this.#reapTimers.clear();
    for (const wait of this.#waits) wait.abort(new ClosedError());
    const releases = [...this.#held].map((lock) => {
      lock.lose('closed');
      return this.#deleteNode(lock.path).catch(() => {});
    });
    await Promise.allSettled([...releases, ...this.#background]);
    await this.#session.close();
  }

  #acquireError(key: string, error: unknown, callerSignal: AbortSignal | undefined): Error {
    if (this.#closed || error instanceof ClosedError) return new ClosedError({ cause: error });
    if (callerSignal?.aborted) {
      // A wait that ended while the service could not answer is an outage, not a busy lock.
      return this.#session.connected
        ? new LockTimeoutError(key, { cause: callerSignal.reason })
        : new CoordinationUnavailableError('ZooKeeper did not answer before the wait ended', { cause: error });
    }
    if (error instanceof CoordinationUnavailableError) return error;
    if (error instanceof ConnectionTrouble || error instanceof ServerError) {
      return new CoordinationUnavailableError(`ZooKeeper request failed: ${error.message}`, { cause: error });
    }
    return error instanceof Error ? error : new CoordinationUnavailableError(String(error), { cause: error });
  }

  async #acquireLoop(attempt: Attempt, signal: AbortSignal): Promise<Lock> {
    for (;;) {
      signal.throwIfAborted();
      const generation = this.#session.generation;
      if (attempt.generation !== generation) {
        // The old session's ephemeral node is gone with it (or will be when the server expires it).
        attempt.generation = generation;
        attempt.path = undefined;
        attempt.createUnknown = false;
      }
      try {
        if (!attempt.path) {
          if (attempt.createUnknown) await this.#adopt(attempt, signal);
          if (!attempt.path) await this.#create(attempt, signal);
        }
        const path = attempt.path as string | undefined;
        if (!path) continue;
        const [children] = await this.#session.getChildren(attempt.parent, { signal });
        const nodes = sortLockNodes(children);
        const index = nodes.findIndex((node) => node.name === baseName(path));
        if (index < 0) {
          // Our node is gone (its session expired, or someone deleted it): start over with a new node.
          attempt.path = undefined;
          continue;
        }
        if (index === 0) return this.#grant(attempt, path);
        const predecessor = nodes[index - 1];
        if (predecessor) await this.#waitForDeletion(`${attempt.parent}/${predecessor.name}`, attempt, signal);
      } catch (error) {
        if (!(error instanceof ConnectionTrouble) || signal.aborted) throw error;
        // Outcome unknown: wait for the connection (bounded) and look again; the node will be adopted if it exists.
        await this.#session.waitConnected(this.#options.operationTimeoutMs, signal);
      }
    }
  }

  async #create(attempt: Attempt, signal: AbortSignal): Promise<void> {
    for (let round = 0; ; round++) {
      attempt.createUnknown = true;
      const generation = this.#session.generation;
      try {
        const [path, zxid] = await this.#session.create(lockNodePrefix(attempt.parent, attempt.id), EPHEMERAL_SEQUENTIAL, {
          signal,
          onLate: (error, late) => {
            if (!error && typeof late === 'string' && attempt.path !== late) this.#deleteInBackground(late, generation);
          },
        });
        attempt.createUnknown = false;
        if (attempt.abandoned || generation !== this.#session.generation) {
          this.#deleteInBackground(path, generation);
          return;
        }
        attempt.path = path;
        attempt.token = zxidToBigInt(zxid) ?? (await this.#czxid(path, signal));
        return;
      } catch (error) {
        if (error instanceof ServerError && error.zkCode === ZK['NO_NODE'] && round < 5) {
          attempt.createUnknown = false;
          await this.#ensureParent(attempt.parent, signal);
          continue;
        }
        if (error instanceof ServerError) attempt.createUnknown = false;
        throw error;
      }
    }
  }

  /** After a create without a reply: finds the node by its attempt id, keeps the lowest, deletes any other. */
  async #adopt(attempt: Attempt, signal: AbortSignal): Promise<void> {
    let children: string[];
    try {
      [children] = await this.#session.getChildren(attempt.parent, { signal });
    } catch (error) {
      if (error instanceof ServerError && error.zkCode === ZK['NO_NODE']) {
        attempt.createUnknown = false;
        return;
      }
      throw error;
    }
    attempt.createUnknown = false;
    const mine = sortLockNodes(children).filter((node) => node.attemptId === attempt.id);
    const [first, ...extra] = mine;
    for (const node of extra) this.#deleteInBackground(`${attempt.parent}/${node.name}`, attempt.generation);
    if (!first) return;
    const path = `${attempt.parent}/${first.name}`;
    const token = await this.#czxid(path, signal);
    if (token === undefined) return;
    attempt.path = path;
    attempt.token = token;
    this.#options.logger.info({ event: 'lock.adopted', key: attempt.key }, 'adopted a lock node whose create reply was lost');
  }

  /**
   * A node's creation zxid, read with one extra round trip: for adopted nodes, and for a client without the
   * create-zxid patch (which reports it in the create reply for free).
   */
  async #czxid(path: string, signal: AbortSignal): Promise<bigint | undefined> {
    const [stat] = await this.#session.exists(path, undefined, { signal });
    return stat ? zxidToBigInt(stat.czxid) : undefined;
  }

  async #ensureParent(parent: string, signal: AbortSignal): Promise<void> {
    const create = async (path: string): Promise<boolean> => {
      try {
        await this.#session.create(path, PERSISTENT, { signal });
        return true;
      } catch (error) {
        if (error instanceof ServerError && error.zkCode === ZK['NODE_EXISTS']) return true;
        if (error instanceof ServerError && error.zkCode === ZK['NO_NODE']) return false;
        throw error;
      }
    };
    if (await create(parent)) return;
    await create(this.#root);
    await create(`${this.#root}/locks`);
    await create(parent);
  }

  /** Resolves when `path` is gone, changed, or the session was lost; watches only that node (no herd). */
  #waitForDeletion(path: string, attempt: Attempt, signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let done = false;
      const finish = (error?: unknown): void => {
        if (done) return;
        done = true;
        signal.removeEventListener('abort', onAbort);
        offState();
        if (error === undefined) resolve();
        else reject(error);
      };
      const onAbort = (): void => finish(signal.reason ?? new Error('aborted'));
      const offState = this.#session.onState((state) => {
        if (state === 'lost') finish();
      });
      signal.addEventListener('abort', onAbort, { once: true });
      const watcher = (): void => {
        if (done) return;
        this.#options.logger.debug({ event: 'lock.predecessor_gone', key: attempt.key }, 'lock predecessor gone');
        finish();
      };
      this.#session.exists(path, watcher, { signal }).then(
        ([stat]) => {
          if (!stat) finish();
        },
        (error: unknown) => finish(error),
      );
    });
  }

  #grant(attempt: Attempt, path: string): Lock {
    if (attempt.token === undefined) {
      throw new Error(`no fencing token for the lock node of "${attempt.key}"`);
    }
    const lock = new ZooKeeperLock(attempt.key, attempt.token, path, attempt.generation, (l) => this.#release(l));
    this.#held.add(lock);
    this.#options.logger.debug({ event: 'lock.acquired', key: attempt.key, token: String(attempt.token) }, 'lock acquired');
    return lock;
  }

  async #release(lock: ZooKeeperLock): Promise<void> {
    this.#held.delete(lock);
    try {
      await this.#deleteNode(lock.path);
    } catch (error) {
      if (lock.generation === this.#session.generation && !this.#closed) {
        this.#deleteInBackground(lock.path, lock.generation);
      }
      this.#options.logger.warn({ event: 'lock.release_deferred', key: lock.key, err: error }, 'release retried in background');
    } finally {
      this.#busy(lock.key, -1);
    }
  }

  async #deleteNode(path: string): Promise<void> {
    try {
      await this.#session.remove(path);
    } catch (error) {
      if (error instanceof ServerError && error.zkCode === ZK['NO_NODE']) return;
      throw error;
    }
  }

  /** Deletes `path` until it is gone or its session ends (then the server deletes it). */
  #deleteInBackground(path: string, generation: number): void {
    const task = (async () => {
      for (let round = 0; generation === this.#session.generation && this.state !== 'closed'; round++) {
        try {
          await this.#deleteNode(path);
          return;
        } catch (error) {
          if (error instanceof ServerError) {
            this.#options.logger.error({ event: 'lock.delete_failed', path, err: error }, 'could not delete a lock node');
            return;
          }
          await sleep(Math.min(1_000, 50 * 2 ** round));
        }
      }
    })();
    this.#track(task);
  }

  /** Removes whatever an abandoned attempt left: its node, or a node from a create whose reply never came. */
  #abandon(attempt: Attempt): void {
    attempt.abandoned = true;
    if (attempt.path) {
      this.#deleteInBackground(attempt.path, attempt.generation);
      attempt.path = undefined;
    } else if (attempt.createUnknown && !this.#closed) {
      const generation = attempt.generation;
      const task = (async () => {
        while (generation === this.#session.generation && !this.#closed) {
          try {
            await this.#adopt(attempt, new AbortController().signal);
            if (attempt.path) this.#deleteInBackground(attempt.path, generation);
            return;
          } catch {
            await sleep(100);
          }
        }
      })();
      this.#track(task);
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
   * `close()` clears them instead of waiting them out.
   */
  #scheduleReap(key: string): void {
    if (this.#closed) return;
    clearTimeout(this.#reapTimers.get(key));
    const reap = (): void => {
      this.#reapTimers.delete(key);
      if (this.#busyKeys.has(key) || this.#closed) return;
      this.#track(
        this.#session.remove(`${this.#root}/locks/${key}`).catch(() => {
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
    const generation = this.#session.generation;
    for (const lock of [...this.#held]) {
      if (lock.generation < generation) {
        this.#held.delete(lock);
        lock.lose('session-lost');
        this.#busy(lock.key, -1);
      }
    }
  }
}

function zxidToBigInt(zxid: Buffer | undefined): bigint | undefined {
  return Buffer.isBuffer(zxid) && zxid.length === 8 ? zxid.readBigInt64BE(0) : undefined;
}
