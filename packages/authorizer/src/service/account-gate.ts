import {
  ClosedError,
  CoordinationUnavailableError,
  LockTimeoutError,
  type Lock,
  type LockManager,
} from '@catraca/coordination';
import type { Logger } from 'pino';
import type { Account } from '../domain/types.js';
import type { Metrics } from '../metrics.js';

/** What to do when the lock service cannot answer (SPEC §3). */
export type LockUnavailablePolicy = 'fence-only' | 'fail-closed';

/** Why the gate could not run a job; the authorizer maps each to a `07` reason. */
export class GateRefusal extends Error {
  constructor(readonly reason: 'deadline_exceeded' | 'unavailable', options?: { cause?: unknown }) {
    super(reason, options);
    this.name = 'GateRefusal';
  }
}

/** What a job sees while it runs inside the gate. */
export interface GateContext {
  /** The held lock, or undefined when running degraded (lock service unavailable, policy fence-only). */
  readonly lock: Lock | undefined;
  /** True when the job must not commit: the lock was lost and the policy is fail-closed. */
  mustNotCommit(): boolean;
  /** The store refused a commit for a newer owner epoch: stop serving this account under this lock. */
  fenced(): void;
  /**
   * The account as the previous job of this batch left it, so the batch reads the store once. Always safe: a commit
   * still compare-and-sets on the version, so a stale value costs a retry, never a wrong balance.
   */
  account: Account | undefined;
}

/** One queued request: its input and its own deadline. */
export interface GateJob<I> {
  readonly input: I;
  readonly signal: AbortSignal;
}

/**
 * Serves a batch of one account's jobs while the gate holds the account's lock; returns one result per job, in order.
 * Must not throw for a single job's sake: a throw fails the whole batch.
 */
export type BatchProcessor<I, O> = (accountId: string, jobs: readonly GateJob<I>[], ctx: GateContext) => Promise<O[]>;

interface Job<I, O> extends GateJob<I> {
  resolve(value: O): void;
  reject(error: unknown): void;
}

export interface AccountGateOptions<I, O> {
  /** Serves the batches. */
  process: BatchProcessor<I, O>;
  /** The per-account lock; undefined runs on the in-process queue and the store's fence alone (`LOCK=none`). */
  locks: LockManager | undefined;
  /** Lock key for an account id. */
  keyFor(accountId: string): string;
  policy: LockUnavailablePolicy;
  /** Most jobs handed to `process` at once. */
  maxBatch: number;
  /** After this long holding the lock, release it even if jobs wait (they re-acquire, queueing fairly). */
  maxHoldMs: number;
  metrics: Metrics;
  logger: Logger;
  /** Called with the lock key when a batch was fenced (a newer owner exists): lets a lock keeper drop that lock. */
  onFenced?: (key: string) => void;
}

/**
 * One transaction per account at a time. Jobs for an account queue here in FIFO order; the first one acquires the
 * account's lock, and the holder then hands the queued jobs to `process` in batches of up to `maxBatch`, batch after
 * batch, until the queue is empty or it has held the lock for `maxHoldMs`. A hot account so pays for one acquisition
 * (and, in the authorizer, one read and one commit) per batch instead of per transaction, while a waiter on another
 * replica still gets its turn within its deadline.
 */
export class AccountGate<I, O> {
  readonly #queues = new Map<string, Job<I, O>[]>();
  readonly #drains = new Set<Promise<void>>();
  readonly #releases = new Set<Promise<void>>();

  constructor(private readonly options: AccountGateOptions<I, O>) {}

  /** Number of accounts with queued or running jobs. */
  get activeAccounts(): number {
    return this.#queues.size;
  }

  /**
   * Queues `input` for `accountId`; settles with its result from `process`, or a {@link GateRefusal}. A job whose
   * signal fires while it waits in the queue leaves it at once (it never waits out a batch or a release ahead of it).
   */
  run(accountId: string, signal: AbortSignal, input: I): Promise<O> {
    if (signal.aborted) return Promise.reject(new GateRefusal('deadline_exceeded', { cause: signal.reason }));
    return new Promise<O>((resolve, reject) => {
      const onAbort = (): void => {
        const queue = this.#queues.get(accountId);
        if (queue && removeJob(queue, job)) job.reject(new GateRefusal('deadline_exceeded', { cause: signal.reason }));
      };
      const job: Job<I, O> = {
        input,
        signal,
        resolve: (value) => {
          signal.removeEventListener('abort', onAbort);
          resolve(value);
        },
        reject: (error) => {
          signal.removeEventListener('abort', onAbort);
          reject(error);
        },
      };
      signal.addEventListener('abort', onAbort, { once: true });
      const queue = this.#queues.get(accountId);
      if (queue) {
        queue.push(job);
        return;
      }
      this.#queues.set(accountId, [job]);
      const drain = this.#drain(accountId).finally(() => this.#drains.delete(drain));
      this.#drains.add(drain);
    });
  }

  /** Waits for every queued job to finish and every lock to be released (for graceful shutdown). */
  async idle(): Promise<void> {
    while (this.#drains.size > 0 || this.#releases.size > 0) {
      await Promise.allSettled([...this.#drains, ...this.#releases]);
    }
  }

  async #drain(accountId: string): Promise<void> {
    const queue = this.#queues.get(accountId)!;
    try {
      while (queue.length > 0) {
        // A job whose signal fired has already left the queue (see `run`): the head is always live.
        const head = queue[0]!;
        const acquired = await this.#acquire(accountId, head);
        if (acquired === 'refused') continue;
        await this.#serveBatch(accountId, queue, acquired);
      }
    } finally {
      this.#queues.delete(accountId);
    }
  }

  /** Acquires the account's lock for `head`; 'refused' when `head` was rejected (and removed) instead. */
  async #acquire(accountId: string, head: Job<I, O>): Promise<Lock | undefined | 'refused'> {
    const { locks, policy, metrics, logger } = this.options;
    if (!locks) return undefined;
    const started = performance.now();
    try {
      // Known outage: do not spend the request's whole budget waiting for a session that is not there (the head job
      // would always time out, and the batch behind it with it). Fence-only goes straight to the fence; fail-closed
      // answers at once.
      if (locks.state === 'suspended' || locks.state === 'lost') {
        throw new CoordinationUnavailableError(`lock service ${locks.state}`);
      }
      const lock = await locks.acquire(this.options.keyFor(accountId), { signal: head.signal });
      metrics.lockWait.observe({ outcome: 'acquired' }, (performance.now() - started) / 1000);
      return lock;
    } catch (error) {
      const queue = this.#queues.get(accountId)!;
      if (error instanceof LockTimeoutError) {
        metrics.lockWait.observe({ outcome: 'timeout' }, (performance.now() - started) / 1000);
        removeJob(queue, head);
        head.reject(new GateRefusal('deadline_exceeded', { cause: error }));
        return 'refused';
      }
      metrics.lockWait.observe({ outcome: 'unavailable' }, (performance.now() - started) / 1000);
      const unavailable = error instanceof CoordinationUnavailableError || error instanceof ClosedError;
      if (!unavailable) logger.error({ err: error }, 'unexpected error from the lock manager');
      if (policy === 'fence-only' && !(error instanceof ClosedError)) {
        metrics.degraded.inc({ dependency: 'lock', policy });
        // Counted, not logged per batch: an outage would flood the log. State changes are logged by the runtime.
        logger.debug({ err: error, account: accountId }, 'lock unavailable; proceeding on the store fence alone');
        return undefined;
      }
      removeJob(queue, head);
      head.reject(new GateRefusal('unavailable', { cause: error }));
      return 'refused';
    }
  }

  async #serveBatch(accountId: string, queue: Job<I, O>[], lock: Lock | undefined): Promise<void> {
    const { maxBatch, maxHoldMs, policy, metrics, logger, process } = this.options;
    const started = performance.now();
    let fenced = false;
    const ctx: GateContext = {
      lock,
      account: undefined,
      mustNotCommit: () => policy === 'fail-closed' && lock !== undefined && lock.signal.aborted,
      fenced: () => {
        fenced = true;
        this.options.onFenced?.(this.options.keyFor(accountId));
      },
    };
    try {
      for (let first = true; queue.length > 0; first = false) {
        if (!first && (fenced || performance.now() - started >= maxHoldMs || lock?.signal.aborted)) break;
        const batch = queue.splice(0, maxBatch);
        metrics.batchSize.observe(batch.length);
        try {
          const results = await process(accountId, batch, ctx);
          batch.forEach((job, i) => job.resolve(results[i]!));
        } catch (error) {
          for (const job of batch) job.reject(error);
        }
      }
    } finally {
      if (lock) {
        metrics.lockHold.observe((performance.now() - started) / 1000);
        // Off the request path: a release can wait on a suspended session (bounded by the lock manager), and the jobs
        // behind must not wait with it; their next acquire queues behind this holder's node like any other waiter's.
        const release = lock
          .release()
          .catch((error: unknown) => logger.warn({ err: error }, 'lock release failed'))
          .finally(() => this.#releases.delete(release));
        this.#releases.add(release);
      }
    }
  }
}

/** Removes `job` from `queue`; false when it was not there (already taken into a batch, or refused). */
function removeJob<J>(queue: J[], job: J): boolean {
  const index = queue.indexOf(job);
  if (index < 0) return false;
  queue.splice(index, 1);
  return true;
}
