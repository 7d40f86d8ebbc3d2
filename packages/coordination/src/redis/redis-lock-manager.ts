import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import {
  ClosedError,
  CoordinationError,
  CoordinationUnavailableError,
  InvalidArgumentError,
  LockLostError,
  LockTimeoutError,
  type LockLostReason,
} from '../errors.js';
import type { AcquireOptions, ConnectionState, Lock, LockManager } from '../types.js';
import { assertKey, resolveWait } from '../wait.js';
import { assertNotReentrant, runWithLock } from '../with-lock.js';
import { REDIS_LOCK_DEFAULTS, resolveRedisOptions, type RedisLockManagerOptions, type ResolvedRedisOptions } from './options.js';
import { RedisLock } from './redis-lock.js';
import { ACQUIRE_SCRIPT, RELEASE_SCRIPT, RENEW_SCRIPT } from './scripts.js';

const FENCE_PREFIX = 'fence:';

/** A try-lock (`timeoutMs: 0`) found the key busy. */
class TryLockBusy extends Error {}

/**
 * Per-key mutual exclusion on a single Redis node: `SET key token NX PX lease`, with a fencing token from a per-key
 * counter incremented in the same Lua script. Simple and fast, but weaker than the ZooKeeper lock: a Redis
 * failover or restart can grant a lock twice, and a holder paused past its lease keeps running while another holds
 * the key — correctness then rests on the fencing token. Waiters poll with a short jittered backoff; a release made by
 * this manager wakes one of its own waiters on that key at once.
 */
export class RedisLockManager implements LockManager {
  /** Defaults of every optional constructor option. */
  static readonly DEFAULTS = REDIS_LOCK_DEFAULTS;
  readonly #options: ResolvedRedisOptions;
  readonly #client: Redis;
  readonly #ownsClient: boolean;
  readonly #held = new Set<RedisLock>();
  /** One controller per acquisition in progress; close() aborts them. */
  readonly #waits = new Set<AbortController>();
  /** Local waiters pausing between attempts, per key; a local release wakes the oldest. */
  readonly #sleepers = new Map<string, Set<() => void>>();
  /** Commands waiting for the connection to become ready. */
  readonly #readyWaiters = new Set<() => void>();
  readonly #background = new Set<Promise<unknown>>();
  readonly #listeners = new Set<(state: ConnectionState) => void>();
  readonly #detach: () => void;
  #state: ConnectionState;
  #everConnected: boolean;
  #closed = false;

  constructor(options: RedisLockManagerOptions) {
    this.#options = resolveRedisOptions(options);
    const { url, client, commandTimeoutMs, logger } = this.#options;
    this.#ownsClient = client === undefined;
    this.#client =
      client ??
      new Redis(url as string, {
        enableOfflineQueue: false,
        // A command cut by a disconnect fails instead of being re-sent later, when its caller has given up.
        maxRetriesPerRequest: 0,
        autoResendUnfulfilledCommands: false,
        commandTimeout: commandTimeoutMs,
        connectTimeout: Math.max(commandTimeoutMs, 1_000),
        retryStrategy: (times: number) => Math.min(times * 50, 1_000),
      });
    this.#everConnected = this.#client.status === 'ready';
    this.#state = this.#everConnected ? 'connected' : 'suspended';

    const onReady = (): void => {
      this.#setState(this.#everConnected ? 'reconnected' : 'connected');
      this.#everConnected = true;
      for (const wake of [...this.#readyWaiters]) wake();
    };
    const onDown = (): void => {
      if (this.#state === 'connected' || this.#state === 'reconnected') this.#setState('suspended');
    };
    const onError = (error: Error): void => logger.debug({ event: 'redis-error', err: error.message }, 'redis client error');
    this.#client.on('ready', onReady);
    this.#client.on('close', onDown);
    this.#client.on('end', onDown);
    this.#client.on('error', onError);
    this.#detach = () => {
      this.#client.off('ready', onReady);
      this.#client.off('close', onDown);
      this.#client.off('end', onDown);
      // An owned client keeps its error listener: without one, ioredis prints late errors to the console.
      if (!this.#ownsClient) this.#client.off('error', onError);
    };
  }

  get state(): ConnectionState {
    return this.#state;
  }

  async acquire(key: string, options?: AcquireOptions): Promise<Lock> {
    // async: argument errors are rejections, never synchronous throws (as in every implementation).
    assertKey(key);
    if (key.startsWith(FENCE_PREFIX)) {
      throw new InvalidArgumentError(`invalid lock key ${JSON.stringify(key)}: "${FENCE_PREFIX}" is reserved for fence counters`);
    }
    assertNotReentrant(this, key);
    return this.#acquire(key, options);
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
    this.#setState('closed');
    for (const wait of this.#waits) wait.abort(new ClosedError());
    const releases = [...this.#held].map((lock) => {
      lock.lose(new LockLostError(lock.key, 'closed'));
      return this.#deleteIfOurs(lock.redisKey, lock.token).catch(() => {});
    });
    this.#held.clear();
    await Promise.allSettled([...releases, ...this.#background]);
    this.#detach();
    if (!this.#ownsClient) return;
    if (this.#client.status === 'ready') {
      let timer: NodeJS.Timeout | undefined;
      const bound = new Promise<void>((resolve) => (timer = setTimeout(resolve, this.#options.commandTimeoutMs)));
      await Promise.race([this.#client.quit().catch(() => {}), bound]);
      clearTimeout(timer);
    }
    this.#client.disconnect();
  }

  async #acquire(key: string, options: AcquireOptions | undefined): Promise<Lock> {
    if (this.#closed) throw new ClosedError();
    const { signal: callerSignal, tryOnce } = resolveWait(options);
    if (callerSignal?.aborted) throw new LockTimeoutError(key, { cause: callerSignal.reason });

    // One signal for this wait: the caller's deadline, or close().
    const wait = new AbortController();
    const forward = (): void => wait.abort(callerSignal?.reason);
    callerSignal?.addEventListener('abort', forward, { once: true });
    this.#waits.add(wait);
    const progress = { answeredBusy: false };
    try {
      return await this.#acquireLoop(key, wait.signal, progress, tryOnce);
    } catch (error) {
      if (this.#closed) throw new ClosedError({ cause: error });
      if (error instanceof TryLockBusy) throw new LockTimeoutError(key);
      if (callerSignal?.aborted) {
        // Busy only if Redis said so; a wait that ended without any answer is an outage (or too short to tell).
        throw progress.answeredBusy
          ? new LockTimeoutError(key, { cause: callerSignal.reason })
          : new CoordinationUnavailableError('Redis did not answer before the wait ended', { cause: error });
      }
      throw error instanceof CoordinationError ? error : new CoordinationUnavailableError(String(error), { cause: error });
    } finally {
      callerSignal?.removeEventListener('abort', forward);
      this.#waits.delete(wait);
    }
  }

  async #acquireLoop(key: string, signal: AbortSignal, progress: { answeredBusy: boolean }, tryOnce: boolean): Promise<Lock> {
    const { keyPrefix, leaseMs } = this.#options;
    const redisKey = keyPrefix + key;
    const fenceKey = keyPrefix + FENCE_PREFIX + key;
    for (let attempt = 0; ; attempt++) {
      signal.throwIfAborted();
      const token = randomUUID();
      const sentAt = performance.now();
      const fence = await this.#call(
        (client) => client.eval(ACQUIRE_SCRIPT, 2, redisKey, fenceKey, token, leaseMs) as Promise<string | null>,
        signal,
        // The caller gave up while the command was in flight: a late grant must not keep the key for a whole lease.
        (late) => {
          if (late !== null) this.#deleteInBackground(key, redisKey, token);
        },
      );
      if (fence !== null) {
        // A reply slower than the loss deadline leaves too little of the lease to trust: give it back, try again.
        if (performance.now() - sentAt < this.#lossAfterMs) return this.#grant(key, BigInt(fence), redisKey, token, sentAt);
        this.#deleteInBackground(key, redisKey, token);
        continue;
      }
      progress.answeredBusy = true;
      if (tryOnce) throw new TryLockBusy();
      await this.#pause(key, attempt, signal);
    }
  }

  get #lossAfterMs(): number {
    return (this.#options.leaseMs * 2) / 3;
  }

  #grant(key: string, fencingToken: bigint, redisKey: string, token: string, sentAt: number): RedisLock {
    const lock = new RedisLock(key, fencingToken, redisKey, token, sentAt, (l) => this.#release(l));
    this.#held.add(lock);
    this.#schedule(lock);
    return lock;
  }

  /** Arms the next renewal (a third of the lease after the last one) and the loss deadline (two thirds). */
  #schedule(lock: RedisLock): void {
    const now = performance.now();
    const { leaseMs } = this.#options;
    lock.setTimers(
      setTimeout(() => void this.#renew(lock), Math.max(0, lock.renewedAt + leaseMs / 3 - now)),
      setTimeout(() => this.#lose(lock, 'session-lost'), Math.max(0, lock.renewedAt + this.#lossAfterMs - now)),
    );
  }

  async #renew(lock: RedisLock): Promise<void> {
    const { leaseMs, retryMaxMs, logger } = this.#options;
    const sentAt = performance.now();
    let extended: unknown;
    try {
      extended = await this.#call((client) => client.eval(RENEW_SCRIPT, 1, lock.redisKey, lock.token, leaseMs));
    } catch (error) {
      if (!lock.held) return;
      logger.warn({ event: 'lock-renew-failed', key: lock.key, err: errorMessage(error) }, 'lease renewal failed; retrying');
      // Retry until the loss deadline (its timer is still armed).
      lock.setTimers(setTimeout(() => void this.#renew(lock), Math.max(retryMaxMs, leaseMs / 30)), undefined);
      return;
    }
    if (!lock.held) return;
    if (extended === 1) {
      lock.renewedAt = sentAt;
      this.#schedule(lock);
    } else {
      // The key expired or holds another token: someone else may hold the lock now.
      this.#lose(lock, 'session-lost');
    }
  }

  #lose(lock: RedisLock, reason: LockLostReason): void {
    if (!lock.lose(new LockLostError(lock.key, reason))) return;
    this.#held.delete(lock);
    this.#options.logger.warn(
      { event: 'lock-lost', key: lock.key, reason, msSinceRenewal: performance.now() - lock.renewedAt, leaseMs: this.#options.leaseMs },
      'lock lost',
    );
    // Give the key back early if it is still ours, so others need not wait out the lease.
    this.#deleteInBackground(lock.key, lock.redisKey, lock.token);
  }

  async #release(lock: RedisLock): Promise<void> {
    this.#held.delete(lock);
    try {
      await this.#deleteIfOurs(lock.redisKey, lock.token);
    } catch (error) {
      // Nothing the caller could do: the lease expires on its own within leaseMs.
      this.#options.logger.warn({ event: 'lock-release-failed', key: lock.key, err: errorMessage(error) }, 'release failed; the lease will expire');
      return;
    }
    this.#wakeOne(lock.key);
  }

  #deleteIfOurs(redisKey: string, token: string): Promise<unknown> {
    return this.#call((client) => client.eval(RELEASE_SCRIPT, 1, redisKey, token));
  }

  #deleteInBackground(key: string, redisKey: string, token: string): void {
    const task = this.#deleteIfOurs(redisKey, token).then(
      () => this.#wakeOne(key),
      (error: unknown) => this.#options.logger.debug({ event: 'lock-delete-failed', key, err: errorMessage(error) }, 'background delete failed'),
    );
    this.#background.add(task);
    void task.finally(() => this.#background.delete(task));
  }

  /** Sleeps a jittered, doubling pause in [retryMinMs, retryMaxMs], or until a local release of `key` wakes it. */
  #pause(key: string, attempt: number, signal: AbortSignal): Promise<void> {
    const { retryMinMs, retryMaxMs } = this.#options;
    const ceiling = Math.min(retryMaxMs, retryMinMs * 2 ** Math.min(attempt, 20));
    const delayMs = retryMinMs + Math.random() * (ceiling - retryMinMs);
    let sleepers = this.#sleepers.get(key);
    if (!sleepers) {
      sleepers = new Set();
      this.#sleepers.set(key, sleepers);
    }
    const set = sleepers;
    return new Promise<void>((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        set.delete(wake);
        if (set.size === 0 && this.#sleepers.get(key) === set) this.#sleepers.delete(key);
      };
      const wake = (): void => {
        done();
        resolve();
      };
      const onAbort = (): void => {
        done();
        reject(signal.reason);
      };
      const timer = setTimeout(wake, delayMs);
      signal.addEventListener('abort', onAbort, { once: true });
      set.add(wake);
    });
  }

  #wakeOne(key: string): void {
    const first = this.#sleepers.get(key)?.values().next();
    if (first && !first.done) first.value();
  }

  /**
   * Sends one command, bounded by `commandTimeoutMs` including the wait for a ready connection, and by `signal`.
   * Every failure is a {@link CoordinationUnavailableError}, except an abort (rejected with the signal's reason).
   * `onLate` gets the reply of a command that was sent but given up on.
   */
  #call<T>(send: (client: Redis) => Promise<T>, signal?: AbortSignal, onLate?: (value: T) => void): Promise<T> {
    const { commandTimeoutMs } = this.#options;
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      let sent: Promise<T> | undefined;
      const finish = (): boolean => {
        if (settled) return false;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.#readyWaiters.delete(run);
        return true;
      };
      const giveUp = (error: unknown): void => {
        if (!finish()) return;
        reject(error);
        if (sent && onLate) sent.then(onLate, () => {});
      };
      const onAbort = (): void => giveUp(signal?.reason);
      const timer = setTimeout(() => {
        // A sent command without an answer: the server is hung or unreachable, though the socket may look fine.
        if (sent && (this.#state === 'connected' || this.#state === 'reconnected')) this.#setState('suspended');
        giveUp(
          new CoordinationUnavailableError(
            sent ? `Redis did not answer within ${commandTimeoutMs} ms` : `no ready Redis connection within ${commandTimeoutMs} ms`,
          ),
        );
      }, commandTimeoutMs);
      const run = (): void => {
        this.#readyWaiters.delete(run);
        if (settled) return;
        sent = send(this.#client);
        sent.then(
          (value) => {
            if (!finish()) return;
            if (this.#state === 'suspended' && this.#client.status === 'ready') this.#setState('reconnected');
            resolve(value);
          },
          (error: unknown) => {
            if (finish()) reject(new CoordinationUnavailableError(`Redis command failed: ${errorMessage(error)}`, { cause: error }));
          },
        );
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      const status = this.#client.status;
      if (status === 'ready') run();
      else if (status === 'end') giveUp(new CoordinationUnavailableError(`Redis connection is ${status}`));
      else this.#readyWaiters.add(run);
    });
  }

  #setState(state: ConnectionState): void {
    if (this.#state === state || (this.#closed && state !== 'closed')) return;
    this.#state = state;
    this.#options.logger.info({ event: 'state', state }, `redis lock manager ${state}`);
    for (const listener of [...this.#listeners]) {
      try {
        listener(state);
      } catch (error) {
        this.#options.logger.error({ event: 'listener-error', err: errorMessage(error) }, 'state listener threw');
      }
    }
  }
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
