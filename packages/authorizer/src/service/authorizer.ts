import { randomUUID } from 'node:crypto';
import type { ResultCache } from '@catraca/cache';
import type { LockManager } from '@catraca/coordination';
import type { Logger } from 'pino';
import { canonicalCreditPayload, canonicalDebitPayload, canonicalReversalPayload, payloadHash } from '../domain/index.js';
import type { Account, Category, StoredReason, TransactionRecord } from '../domain/types.js';
import { StoreUnavailableError } from '../errors.js';
import type { Metrics } from '../metrics.js';
import type { Store } from '../store/port.js';
import {
  AccountGate,
  GateRefusal,
  type AccountGateOptions,
  type GateContext,
  type GateJob,
  type LockUnavailablePolicy,
} from './account-gate.js';
import { fromRecord, refused, type Outcome } from './outcome.js';
import { planChain, type Planned } from './plan.js';
import { ReversalContext } from './reversal-context.js';
import type { RuleBook } from './rule-book.js';
import type { RequestRouter } from './routing.js';

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

/** A validated reversal request (SPEC §2.7). */
export interface ReversalRequest {
  /** The reversal's own idempotency key. */
  id: string;
  accountId: string;
  /** The id of the purchase to reverse. */
  originalId: string;
  /** Integer centavos, > 0; undefined reverses the whole remaining amount. */
  amount: number | undefined;
}

/** What the gate queues for an account: one request, with its id and payload hash settled. */
export type Job =
  | { kind: 'debit'; id: string; hash: string; request: DebitRequest }
  | { kind: 'credit'; id: string; hash: string; request: CreditRequest }
  | { kind: 'reversal'; id: string; hash: string; request: ReversalRequest };

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
  /** Cluster routing: requests whose account is homed on another replica are served there. Default: all here. */
  router?: RequestRouter;
  /**
   * Write the held lock's fencing token with every commit as the account's owner epoch, so that the store refuses a
   * commit from an older owner (cluster ownership). Only for a lock whose tokens increase across processes
   * (ZooKeeper's czxid). Default false.
   */
  fenceWithLockToken?: boolean;
  /** Called with the lock key when the store fenced a commit (see {@link AccountGateOptions.onFenced}). */
  onFenced?: (key: string) => void;
  /**
   * True when an account's existence should be checked before taking its lock (cluster ownership: an account whose
   * lock is not held yet). An unknown account then costs no lock and no coordination write; a known one's read is
   * reused by its first batch. Default: never.
   */
  checkAccountBeforeLock?: (accountId: string) => boolean;
}

/** How a request reached this replica. */
export interface ServeOptions {
  /** Forwarded by another replica: serve it here, never forward it again (one hop). */
  forwarded?: boolean;
}

interface CachedAnswer {
  h: string;
  c: '00' | '51';
  r: StoredReason;
}

/**
 * The authorization pipeline: idempotency (in-flight, cache, then the store's unique id) → the account gate (one
 * transaction per account at a time; the lock holder serves the queued requests as a batch) → read → decide → one
 * compare-and-set commit for the batch → cache. Declines are values; a `07` is returned, never thrown, never stored.
 */
export class Authorizer {
  readonly #inflight = new Map<string, { hash: string; promise: Promise<Outcome> }>();
  readonly #gate: AccountGate<Job, Outcome>;
  /** Accounts read before their lock was taken, for the first batch to reuse (always safe: the commit is a CAS). */
  readonly #prefetched = new Map<string, Account>();
  /** Existence reads in flight, shared by concurrent requests for the same account (no read storm on a cold one). */
  readonly #prefetching = new Map<string, Promise<Account | undefined>>();

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
      ...(options.onFenced ? { onFenced: options.onFenced } : {}),
    });
  }

  /** Resolves when no request is queued or being served (graceful shutdown). */
  idle(): Promise<void> {
    return this.#gate.idle();
  }

  /** Authorizes a purchase. Never throws: every failure is a `07` with its reason. */
  async authorize(request: DebitRequest, signal: AbortSignal, serve: ServeOptions = {}): Promise<Outcome> {
    const hash = payloadHash(canonicalDebitPayload(request));
    // A server-made id is new by construction: nothing to look up, nothing to wait for.
    const fresh = request.id === undefined;
    const job: Job = { kind: 'debit', id: request.id ?? randomUUID(), hash, request };
    const routed = serve.forwarded ? undefined : await this.options.router?.route(job, signal);
    if (routed) return routed;
    return fresh ? this.#process(job, signal) : this.#once(job, signal);
  }

  /** Credits (tops up) one category. Same idempotency, lock, fence and routing as a debit. */
  async credit(request: CreditRequest, signal: AbortSignal, serve: ServeOptions = {}): Promise<Outcome> {
    const hash = payloadHash(canonicalCreditPayload(request));
    const job: Job = { kind: 'credit', id: request.id, hash, request };
    const routed = serve.forwarded ? undefined : await this.options.router?.route(job, signal);
    if (routed) return routed;
    return this.#once(job, signal);
  }

  /**
   * Reverses a purchase in full or in part (SPEC §2.7). A first-class job of the account's gate: same lock, batch,
   * fence, deadline, idempotency (by the reversal's own id) and routing to the account's home as a purchase. Never
   * throws.
   */
  async reverse(request: ReversalRequest, signal: AbortSignal, serve: ServeOptions = {}): Promise<Outcome> {
    const hash = payloadHash(canonicalReversalPayload(request));
    const job: Job = { kind: 'reversal', id: request.id, hash, request };
    const routed = serve.forwarded ? undefined : await this.options.router?.route(job, signal);
    if (routed) return routed;
    return this.#once(job, signal);
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
    const accountId = job.request.accountId;
    if (this.options.checkAccountBeforeLock?.(accountId)) {
      try {
        let read = this.#prefetching.get(accountId);
        if (!read) {
          read = this.options.store.getAccount(accountId, { signal }).finally(() => this.#prefetching.delete(accountId));
          this.#prefetching.set(accountId, read);
          const account = await read;
          if (account && this.#prefetched.size < 10_000) this.#prefetched.set(accountId, account);
        }
        if (!(await read)) return await this.#unknownAccount(job, signal);
      } catch {
        // Let the gate try (and report) it.
      }
    }
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
      let context: ReversalContext;
      try {
        const signal = jobs[pending[0]!]!.signal;
        account = ctx.account ?? this.#takePrefetched(accountId) ?? (await store.getAccount(accountId, { signal }));
        // Read after the account: a commit planned on it is fenced by the version read (or cached) before.
        context = await ReversalContext.load(store, originalsOf(pending.map((i) => jobs[i]!.input)), signal);
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

      const chain: Planned = planChain(account, pending.map((i) => jobs[i]!.input), this.options.rules.rules, context);
      if (chain.request === undefined) {
        // Every job refused (reversals over the remaining amount, say): nothing to write, nothing to fence.
        pending.forEach((i, k) => (results[i] = chain.outcomes[k]!));
        return results as Outcome[];
      }
      if (this.options.fenceWithLockToken && ctx.lock) chain.request.ownerEpoch = ctx.lock.fencingToken;
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
          pending.forEach((i, k) => (results[i] = chain.outcomes[k]!));
          return results as Outcome[];
        case 'duplicate_id':
          // Answers the taken ids only; the rest (refusals included: one may rest on a reversal now known to be a
          // replay) are decided again on the next turn.
          for (const i of pending) {
            const job = jobs[i]!.input;
            const answer = answerForTakenId(job, result.existing);
            if (answer !== undefined) results[i] = answer;
          }
          continue;
        case 'version_conflict':
          ctx.account = undefined;
          metrics.versionConflicts.inc();
          continue;
        case 'unknown_account':
          ctx.account = undefined;
          return failAll('unknown_account');
        case 'fenced':
          // A newer owner has committed on this account: this replica's lock is stale whatever it believes. Nothing
          // was written; the lock is let go so that the next request acquires (or is routed) afresh.
          ctx.account = undefined;
          metrics.versionConflicts.inc();
          logger.warn({ account: accountId, epoch: String(ctx.lock?.fencingToken) }, 'commit fenced by a newer owner epoch');
          ctx.fenced();
          return failAll('unavailable');
      }
    }
  }

  #takePrefetched(accountId: string): Account | undefined {
    const account = this.#prefetched.get(accountId);
    this.#prefetched.delete(accountId);
    return account;
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


/** The purchases that the reversals among `jobs` name. */
function originalsOf(jobs: readonly Job[]): string[] {
  return jobs.flatMap((job) => (job.kind === 'reversal' ? [job.request.originalId] : []));
}

/**
 * The answer to `job` when the store says its id is taken: the first answer when it is a replay, `07 id_conflict`
 * when the id was used for another payload, `07 reversed` when a reversal of this account spent it before it arrived;
 * undefined when its id is free.
 */
function answerForTakenId(job: Job, existing: readonly TransactionRecord[]): Outcome | undefined {
  const same = existing.find((record) => record.id === job.id);
  if (same) return same.payloadHash === job.hash ? fromRecord(same, true) : refused(job.id, 'id_conflict');
  const spent = existing.some((record) => record.kind === 'reversal' && record.originalId === job.id);
  return spent ? refused(job.id, 'reversed') : undefined;
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
