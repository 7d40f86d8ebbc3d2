import { randomUUID } from 'node:crypto';
import type { ResultCache } from '@catraca/cache';
import type { LockManager } from '@catraca/coordination';
import type { Logger } from 'pino';
import { canonicalCreditPayload, canonicalDebitPayload, payloadHash } from '../domain/index.js';
import type { Account, Category, TransactionRecord } from '../domain/types.js';
import { StoreUnavailableError } from '../errors.js';
import type { Metrics } from '../metrics.js';
import type { Store } from '../store/port.js';
import { AccountGate, GateRefusal, type GateContext, type GateJob, type LockUnavailablePolicy } from './account-gate.js';
import { fromRecord, refused, type Outcome } from './outcome.js';
import { planChain, type Planned } from './plan.js';
import type { RuleBook } from './rule-book.js';

/** A validated authorization request; money already in integer centavos. */
export interface DebitRequest {
  /** The client's idempotency key, or undefined (the server makes one; not retry-safe). */
  id: string | undefined;
  accountId: string;
  amount: number;
  mcc: string;
  merchant: string;
}

/** A validated credit (top-up) request. */
export interface CreditRequest {
  id: string;
  accountId: string;
  category: Category;
  amount: number;
}

/** What the gate queues for an account: one request, with its id and payload hash settled. */
export type Job =
  | { kind: 'debit'; id: string; hash: string; request: DebitRequest }
  | { kind: 'credit'; id: string; hash: string; request: CreditRequest };

export interface AuthorizerOptions {
  store: Store;
  cache: ResultCache;
  /** The per-account lock; undefined for `LOCK=none` (in-process queue and the store's fence alone). */
  locks: LockManager | undefined;
  /** Lock key of an account. */
  lockKey(accountId: string): string;
  lockUnavailable: LockUnavailablePolicy;
  /** Most requests decided and committed together for one account. */
  maxBatch: number;
  /** Longest a replica keeps an account's lock while requests for it keep arriving. */
  maxHoldMs: number;
  rules: RuleBook;
  metrics: Metrics;
  logger: Logger;
  /** Upper bound on one commit once it has started (a commit is never abandoned half-way by the request deadline). */
  commitTimeoutMs: number;
}

interface CachedAnswer {
  h: string;
  c: '00' | '51';
  r: 'approved' | 'insufficient_funds' | 'credited';
}

/**
 * The authorization pipeline: idempotency (in-flight, cache, then the store's unique id) → the account gate (one
 * transaction per account at a time; the lock holder serves the queued requests as a batch) → read → decide → one
 * compare-and-set commit for the batch → cache. Declines are values; a `07` is returned, never thrown, never stored.
 */
export class Authorizer {
  readonly #inflight = new Map<string, { hash: string; promise: Promise<Outcome> }>();
  readonly #gate: AccountGate<Job, Outcome>;

  constructor(private readonly options: AuthorizerOptions) {
    this.#gate = new AccountGate<Job, Outcome>({
      process: (accountId, jobs, ctx) => this.#serve(accountId, jobs, ctx),
      locks: options.locks,
      keyFor: options.lockKey,
      policy: options.lockUnavailable,
      maxBatch: options.maxBatch,
      maxHoldMs: options.maxHoldMs,
      metrics: options.metrics,
      logger: options.logger,
    });
  }

  /** Resolves when no request is queued or being served (graceful shutdown). */
  idle(): Promise<void> {
    return this.#gate.idle();
  }

  /** Authorizes a purchase. Never throws: every failure is a `07` with its reason. */
  authorize(request: DebitRequest, signal: AbortSignal): Promise<Outcome> {
    const hash = payloadHash(canonicalDebitPayload(request));
    // A server-made id is new by construction: nothing to look up, nothing to wait for.
    if (request.id === undefined) return this.#process({ kind: 'debit', id: randomUUID(), hash, request }, signal);
    const job: Job = { kind: 'debit', id: request.id, hash, request };
    return this.#once(job, signal);
  }

  /** Credits (tops up) one category. Same idempotency, lock and fence as a debit. */
  credit(request: CreditRequest, signal: AbortSignal): Promise<Outcome> {
    const hash = payloadHash(canonicalCreditPayload(request));
    return this.#once({ kind: 'credit', id: request.id, hash, request }, signal);
  }

  /** In-process single flight per id: a concurrent duplicate waits for the first and gets its answer. */
  async #once(job: Job, signal: AbortSignal): Promise<Outcome> {
    const running = this.#inflight.get(job.id);
    if (running) {
      if (running.hash !== job.hash) return refused(job.id, 'id_conflict');
      const first = await beforeAbort(running.promise, signal);
      // The first copy may still apply the id: the outcome is not known yet (SPEC §2.3), never "deadline, unchanged".
      if (first === undefined) return refused(job.id, 'in_progress');
      return first.code === '07' ? first : { ...first, replayed: true };
    }
    const promise = this.#cached(job.id, job.hash, signal).then((hit) => hit ?? this.#process(job, signal));
    this.#inflight.set(job.id, { hash: job.hash, promise });
    try {
      return await promise;
    } finally {
      this.#inflight.delete(job.id);
    }
  }

  async #cached(id: string, hash: string, signal: AbortSignal): Promise<Outcome | undefined> {
    const raw = await this.options.cache.get(`tx:${id}`, { signal });
    if (raw === undefined) return undefined;
    let answer: CachedAnswer;
    try {
      answer = JSON.parse(raw) as CachedAnswer;
    } catch {
      return undefined;
    }
    if (answer.h !== hash) return refused(id, 'id_conflict');
    return { code: answer.c, reason: answer.r, transactionId: id, replayed: true };
  }

  async #process(job: Job, signal: AbortSignal): Promise<Outcome> {
    try {
      const outcome = await this.#gate.run(job.request.accountId, signal, job);
      if (outcome.record) this.#remember(outcome.record);
      return outcome;
    } catch (error) {
      if (error instanceof GateRefusal) return refused(job.id, error.reason);
      this.options.logger.error({ err: error, account: job.request.accountId }, 'authorization failed');
      return refused(job.id, 'unavailable');
    }
  }

  /**
   * Serves one account's batch under its lock: read once, decide every request in order on the running balances,
   * and commit them as one chain (one compare-and-set from the version read). A duplicate id is answered from its
   * stored record and the rest decided again; a version conflict (the fence: someone else wrote) means read again.
   */
  async #serve(accountId: string, jobs: readonly GateJob<Job>[], ctx: GateContext): Promise<Outcome[]> {
    const { store, metrics, logger } = this.options;
    const results: Array<Outcome | undefined> = jobs.map(() => undefined);
    const open = () => jobs.flatMap((job, i) => (results[i] === undefined ? [i] : []));
    for (;;) {
      // Last exit before the commit: past this point a request's deadline no longer cancels anything.
      for (const i of open()) {
        if (jobs[i]!.signal.aborted) results[i] = refused(jobs[i]!.input.id, 'deadline_exceeded');
      }
      const pending = open();
      if (pending.length === 0) return results as Outcome[];
      const failAll = (reason: 'unavailable' | 'unknown_account' | 'outcome_unknown') => {
        for (const i of pending) results[i] = refused(jobs[i]!.input.id, reason);
        return results as Outcome[];
      };

      let account: Account | undefined;
      try {
        account = ctx.account ?? (await store.getAccount(accountId, { signal: jobs[pending[0]!]!.signal }));
      } catch (error) {
        logger.warn({ err: error, account: accountId }, 'store read failed');
        if (jobs[pending[0]!]!.signal.aborted) continue;
        return failAll('unavailable');
      }
      if (!account) {
        for (const i of pending) results[i] = await this.#unknownAccount(jobs[i]!.input, jobs[i]!.signal);
        return results as Outcome[];
      }
      if (ctx.mustNotCommit()) return failAll('unavailable');

      const chain: Planned = planChain(account, pending.map((i) => jobs[i]!.input), this.options.rules.rules);
      const started = performance.now();
      let result;
      try {
        result = await store.commit(chain.request, { signal: AbortSignal.timeout(this.options.commitTimeoutMs) });
      } catch (error) {
        ctx.account = undefined;
        metrics.storeCommit.observe({ outcome: 'error' }, (performance.now() - started) / 1000);
        if (error instanceof StoreUnavailableError && error.outcomeUnknown) {
          logger.warn({ err: error, account: accountId, transactions: pending.length }, 'commit outcome unknown');
          return failAll('outcome_unknown');
        }
        logger.warn({ err: error, account: accountId, transactions: pending.length }, 'commit failed; nothing applied');
        return failAll('unavailable');
      }
      metrics.storeCommit.observe({ outcome: result.status }, (performance.now() - started) / 1000);
      switch (result.status) {
        case 'committed':
          ctx.account = chain.after;
          pending.forEach((i, k) => (results[i] = fromRecord(chain.request.records[k]!, false)));
          return results as Outcome[];
        case 'duplicate_id':
          for (const existing of result.existing) {
            const i = pending.find((p) => jobs[p]!.input.id === existing.id);
            if (i === undefined) continue;
            const job = jobs[i]!.input;
            results[i] = existing.payloadHash === job.hash ? fromRecord(existing, true) : refused(job.id, 'id_conflict');
          }
          continue;
        case 'version_conflict':
          ctx.account = undefined;
          metrics.versionConflicts.inc();
          continue;
        case 'unknown_account':
          ctx.account = undefined;
          return failAll('unknown_account');
      }
    }
  }

  /** An unknown account may still be a replay of an id first used on another account: report that precisely. */
  async #unknownAccount(job: Job, signal: AbortSignal): Promise<Outcome> {
    try {
      const existing = await this.options.store.getTransaction(job.id, { signal });
      if (existing) return existing.payloadHash === job.hash ? fromRecord(existing, true) : refused(job.id, 'id_conflict');
    } catch {
      // The account is unknown either way.
    }
    return refused(job.id, 'unknown_account');
  }

  /** Caches a stored decision for fast replays; best effort, off the request's path. */
  #remember(record: TransactionRecord): void {
    const answer: CachedAnswer = { h: record.payloadHash, c: record.code, r: record.reason };
    void this.options.cache.set(`tx:${record.id}`, JSON.stringify(answer)).catch(() => {});
  }
}


/** Resolves with `promise`'s value, or undefined as soon as `signal` fires (the caller's own deadline). */
function beforeAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T | undefined> {
  if (signal.aborted) return Promise.resolve(undefined);
  return new Promise<T | undefined>((resolve, reject) => {
    const onAbort = (): void => resolve(undefined);
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
