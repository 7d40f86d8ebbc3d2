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
  /**
   * The account as the previous job of this batch left it, so the batch reads the store once. Always safe: a commit
   * still compare-and-sets on the version, so a stale value costs a retry, never a wrong balance.
   */
  account: Account | undefined;
}

interface Job {
  signal: AbortSignal;
  run(ctx: GateContext): Promise<unknown>;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

export interface AccountGateOptions {
  /** The per-account lock; undefined runs on the in-process queue and the store's fence alone (`LOCK=none`). */
  locks: LockManager | undefined;
  /** Lock key for an account id. */
  keyFor(accountId: string): string;
  policy: LockUnavailablePolicy;
  /** Most jobs served under one acquisition. */
  maxBatch: number;
  /** After this long holding the lock, release it even if jobs wait (they re-acquire, queueing fairly). */
  maxHoldMs: number;
  metrics: Metrics;
  logger: Logger;
}

/**
 * One transaction per account at a time. Jobs for an account queue here in FIFO order; the first one acquires the
 * account's lock, and the holder then serves the jobs queued behind it (bounded by `maxBatch` and `maxHoldMs`) before
 * releasing, so a hot account pays for one acquisition per batch instead of one per transaction, while a waiter on
 * another replica still gets its turn within its deadline.
 */
export class AccountGate {
  readonly #queues = new Map<string, Job[]>();
  readonly #drains = new Set<Promise<void>>();

  constructor(private readonly options: AccountGateOptions) {}

  /** Number of accounts with queued or running jobs. */
  get activeAccounts(): number {
    return this.#queues.size;
  }

  run<T>(accountId: string, signal: AbortSignal, fn: (ctx: GateContext) => Promise<T>): Promise<T> {
    if (signal.aborted) return Promise.reject(new GateRefusal('deadline_exceeded', { cause: signal.reason }));
    return new Promise<T>((resolve, reject) => {
      const job: Job = { signal, run: fn, resolve: resolve as (value: unknown) => void, reject };
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

  /** Waits for every queued job to finish (for graceful shutdown). */
  async idle(): Promise<void> {
    while (this.#drains.size > 0) await Promise.allSettled([...this.#drains]);
  }

  async #drain(accountId: string): Promise<void> {
    const queue = this.#queues.get(accountId)!;
    try {
      while (queue.length > 0) {
        const head = queue[0]!;
        if (head.signal.aborted) {
          queue.shift();
          head.reject(new GateRefusal('deadline_exceeded', { cause: head.signal.reason }));
          continue;
        }
        const acquired = await this.#acquire(accountId, head);
        if (acquired === 'refused') continue;
        await this.#serveBatch(queue, acquired);
      }
    } finally {
      this.#queues.delete(accountId);
    }
  }

  /** Acquires the account's lock for `head`; 'refused' when `head` was rejected (and removed) instead. */
  async #acquire(accountId: string, head: Job): Promise<Lock | undefined | 'refused'> {
    const { locks, policy, metrics, logger } = this.options;
    if (!locks) return undefined;
    const started = performance.now();
    try {
      const lock = await locks.acquire(this.options.keyFor(accountId), { signal: head.signal });
      metrics.lockWait.observe({ outcome: 'acquired' }, (performance.now() - started) / 1000);
      return lock;
    } catch (error) {
      const queue = this.#queues.get(accountId)!;
      if (error instanceof LockTimeoutError) {
        metrics.lockWait.observe({ outcome: 'timeout' }, (performance.now() - started) / 1000);
        queue.shift();
        head.reject(new GateRefusal('deadline_exceeded', { cause: error }));
        return 'refused';
      }
      metrics.lockWait.observe({ outcome: 'unavailable' }, (performance.now() - started) / 1000);
      const unavailable = error instanceof CoordinationUnavailableError || error instanceof ClosedError;
      if (!unavailable) logger.error({ err: error }, 'unexpected error from the lock manager');
      if (policy === 'fence-only' && !(error instanceof ClosedError)) {
        metrics.degraded.inc({ dependency: 'lock', policy });
        logger.warn({ err: error, account: accountId }, 'lock unavailable; proceeding on the store fence alone');
        return undefined;
      }
      queue.shift();
      head.reject(new GateRefusal('unavailable', { cause: error }));
      return 'refused';
    }
  }

  async #serveBatch(queue: Job[], lock: Lock | undefined): Promise<void> {
    const { maxBatch, maxHoldMs, policy, metrics, logger } = this.options;
    const started = performance.now();
    const ctx: GateContext = {
      lock,
      account: undefined,
      mustNotCommit: () => policy === 'fail-closed' && lock !== undefined && lock.signal.aborted,
    };
    let served = 0;
    try {
      while (queue.length > 0 && served < maxBatch) {
        if (served > 0 && performance.now() - started >= maxHoldMs) break;
        if (served > 0 && lock?.signal.aborted) break;
        const job = queue.shift()!;
        if (job.signal.aborted) {
          job.reject(new GateRefusal('deadline_exceeded', { cause: job.signal.reason }));
          continue;
        }
        served++;
        try {
          job.resolve(await job.run(ctx));
        } catch (error) {
          job.reject(error);
        }
      }
    } finally {
      metrics.batchSize.observe(served);
      if (lock) {
        metrics.lockHold.observe((performance.now() - started) / 1000);
        await lock.release().catch((error: unknown) => logger.warn({ err: error }, 'lock release failed'));
      }
    }
  }
}
