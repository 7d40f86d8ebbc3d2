import { randomUUID } from 'node:crypto';
import type { ResultCache } from '@catraca/cache';
import type { Logger } from 'pino';
import {
  canonicalCreditPayload,
  canonicalDebitPayload,
  decide,
  normalizeMerchantName,
  payloadHash,
} from '../domain/index.js';
import type { Account, Category, LedgerEntry, TransactionRecord } from '../domain/types.js';
import type { Metrics } from '../metrics.js';
import type { CommitRequest, Store } from '../store/port.js';
import { GateRefusal, type AccountGate, type GateContext } from './account-gate.js';
import { fromRecord, refused, type Outcome } from './outcome.js';
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

export interface AuthorizerOptions {
  store: Store;
  cache: ResultCache;
  gate: AccountGate;
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

type Planned =
  | { kind: 'unknown_account' }
  | { kind: 'commit'; request: CommitRequest; after: Account };

/**
 * The authorization pipeline: idempotency (in-flight, cache, then the store's unique id) → category (L3 over L1) →
 * the account gate (one transaction per account at a time) → read → decide → compare-and-set commit → cache.
 * Declines are values; a `07` is returned, never thrown, and never stored.
 */
export class Authorizer {
  readonly #inflight = new Map<string, { hash: string; promise: Promise<Outcome> }>();

  constructor(private readonly options: AuthorizerOptions) {}

  /** Authorizes a purchase. Never throws: every failure is a `07` with its reason. */
  authorize(request: DebitRequest, signal: AbortSignal): Promise<Outcome> {
    const hash = payloadHash(canonicalDebitPayload(request));
    if (request.id === undefined) {
      // A server-made id is new by construction: nothing to look up, nothing to wait for.
      const id = randomUUID();
      return this.#process(id, request.accountId, hash, signal, (account) => this.#planDebit(id, hash, request, account));
    }
    const id = request.id;
    return this.#once(id, hash, signal, () =>
      this.#process(id, request.accountId, hash, signal, (account) => this.#planDebit(id, hash, request, account)),
    );
  }

  /** Credits (tops up) one category. Same idempotency, lock and fence as a debit. */
  credit(request: CreditRequest, signal: AbortSignal): Promise<Outcome> {
    const hash = payloadHash(canonicalCreditPayload(request));
    return this.#once(request.id, hash, signal, () =>
      this.#process(request.id, request.accountId, hash, signal, (account) => this.#planCredit(hash, request, account)),
    );
  }

  /** In-process single flight per id: a concurrent duplicate waits for the first and gets its answer. */
  async #once(id: string, hash: string, signal: AbortSignal, work: () => Promise<Outcome>): Promise<Outcome> {
    const running = this.#inflight.get(id);
    if (running) {
      if (running.hash !== hash) return refused(id, 'id_conflict');
      const first = await running.promise;
      return first.code === '07' ? first : { ...first, replayed: true };
    }
    const promise = this.#cached(id, hash, signal).then((hit) => hit ?? work());
    this.#inflight.set(id, { hash, promise });
    try {
      return await promise;
    } finally {
      this.#inflight.delete(id);
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

  async #process(
    id: string,
    accountId: string,
    hash: string,
    signal: AbortSignal,
    plan: (account: Account) => Planned,
  ): Promise<Outcome> {
    try {
      const outcome = await this.options.gate.run(accountId, signal, (ctx) =>
        this.#decideAndCommit(id, accountId, hash, signal, ctx, plan),
      );
      if (outcome.record) this.#remember(outcome.record);
      return outcome;
    } catch (error) {
      if (error instanceof GateRefusal) return refused(id, error.reason);
      this.options.logger.error({ err: error, account: accountId }, 'authorization failed');
      return refused(id, 'unavailable');
    }
  }

  async #decideAndCommit(
    id: string,
    accountId: string,
    hash: string,
    signal: AbortSignal,
    ctx: GateContext,
    plan: (account: Account) => Planned,
  ): Promise<Outcome> {
    const { store, metrics, logger } = this.options;
    for (;;) {
      if (signal.aborted) return refused(id, 'deadline_exceeded');
      let account: Account | undefined;
      try {
        account = ctx.account ?? (await store.getAccount(accountId, { signal }));
      } catch (error) {
        if (signal.aborted) return refused(id, 'deadline_exceeded');
        logger.warn({ err: error, account: accountId }, 'store read failed');
        return refused(id, 'unavailable');
      }
      if (!account) return this.#unknownAccount(id, hash, signal);
      const planned = plan(account);
      if (planned.kind === 'unknown_account') return refused(id, 'unknown_account');

      // Last exit before the commit: past this point the request's deadline no longer cancels anything.
      if (signal.aborted) return refused(id, 'deadline_exceeded');
      if (ctx.mustNotCommit()) return refused(id, 'unavailable');

      const started = performance.now();
      let result;
      try {
        result = await store.commit(planned.request, { signal: AbortSignal.timeout(this.options.commitTimeoutMs) });
      } catch (error) {
        ctx.account = undefined;
        metrics.storeCommit.observe({ outcome: 'error' }, (performance.now() - started) / 1000);
        logger.warn({ err: error, account: accountId, transaction: id }, 'commit failed; nothing applied');
        return refused(id, 'unavailable');
      }
      metrics.storeCommit.observe({ outcome: result.status }, (performance.now() - started) / 1000);
      switch (result.status) {
        case 'committed':
          ctx.account = planned.after;
          return fromRecord(planned.request.record, false);
        case 'duplicate_id':
          if (result.existing.payloadHash !== hash) return refused(id, 'id_conflict');
          return fromRecord(result.existing, true);
        case 'version_conflict':
          // The fence held: someone else changed the account since it was read. Read again and decide again.
          ctx.account = undefined;
          metrics.versionConflicts.inc();
          continue;
        case 'unknown_account':
          ctx.account = undefined;
          return refused(id, 'unknown_account');
      }
    }
  }

  /** An unknown account may still be a replay of an id first used on another account: report that precisely. */
  async #unknownAccount(id: string, hash: string, signal: AbortSignal): Promise<Outcome> {
    try {
      const existing = await this.options.store.getTransaction(id, { signal });
      if (existing) return existing.payloadHash === hash ? fromRecord(existing, true) : refused(id, 'id_conflict');
    } catch {
      // The account is unknown either way.
    }
    return refused(id, 'unknown_account');
  }

  #planDebit(id: string, hash: string, request: DebitRequest, account: Account): Planned {
    const decision = decide({
      balances: account.balances,
      amount: request.amount,
      mcc: request.mcc,
      merchantName: normalizeMerchantName(request.merchant),
      rules: this.options.rules.rules,
    });
    const version = account.version + 1;
    const createdAt = new Date().toISOString();
    const record: TransactionRecord = {
      id,
      accountId: account.id,
      kind: 'debit',
      amount: request.amount,
      mcc: request.mcc,
      merchant: request.merchant,
      category: decision.category,
      appliedCategory: decision.appliedCategory,
      code: decision.code,
      reason: decision.code === '00' ? 'approved' : 'insufficient_funds',
      payloadHash: hash,
      version,
      createdAt,
    };
    const ledger: LedgerEntry[] =
      decision.appliedCategory === null
        ? []
        : [
            {
              accountId: account.id,
              transactionId: id,
              kind: 'debit',
              category: decision.appliedCategory,
              delta: -request.amount,
              balanceAfter: decision.balances[decision.appliedCategory],
              version,
              createdAt,
            },
          ];
    return {
      kind: 'commit',
      request: { accountId: account.id, expectedVersion: account.version, balances: decision.balances, ledger, record },
      after: { ...account, balances: decision.balances, version },
    };
  }

  #planCredit(hash: string, request: CreditRequest, account: Account): Planned {
    const balances = { ...account.balances, [request.category]: account.balances[request.category] + request.amount };
    const version = account.version + 1;
    const createdAt = new Date().toISOString();
    const record: TransactionRecord = {
      id: request.id,
      accountId: account.id,
      kind: 'credit',
      amount: request.amount,
      mcc: null,
      merchant: null,
      category: request.category,
      appliedCategory: request.category,
      code: '00',
      reason: 'credited',
      payloadHash: hash,
      version,
      createdAt,
    };
    const ledger: LedgerEntry[] = [
      {
        accountId: account.id,
        transactionId: request.id,
        kind: 'credit',
        category: request.category,
        delta: request.amount,
        balanceAfter: balances[request.category],
        version,
        createdAt,
      },
    ];
    return {
      kind: 'commit',
      request: { accountId: account.id, expectedVersion: account.version, balances, ledger, record },
      after: { ...account, balances, version },
    };
  }

  /** Caches a stored decision for fast replays; best effort, off the request's path. */
  #remember(record: TransactionRecord): void {
    const answer: CachedAnswer = { h: record.payloadHash, c: record.code, r: record.reason };
    void this.options.cache.set(`tx:${record.id}`, JSON.stringify(answer)).catch(() => {});
  }
}

