import type { Account, Balances, LedgerEntry, MerchantRule, TransactionRecord } from '../domain/types.js';

export interface StoreCallOptions {
  /**
   * Abandons the call when it fires. A write abandoned before it was sent to the backend writes nothing; one abandoned
   * while the backend was committing it rejects with a {@link StoreUnavailableError} whose outcome is unknown (applied
   * whole or not at all, never half): a retry with the same transaction ids tells which.
   */
  signal?: AbortSignal;
}

/**
 * A commit: a chain of one or more transactions on one account, with the new balances and their ledger entries,
 * stored together or not at all.
 */
export interface CommitRequest {
  accountId: string;
  /** The account version the decisions were made on. The commit applies only if it is still current. */
  expectedVersion: number;
  /** The account's balances after the whole chain (equal to the current ones if every record is a decline). */
  balances: Balances;
  /** Every balance change of the chain, in order; each entry's `version` is the version of its record. */
  ledger: LedgerEntry[];
  /** The chain's records, n >= 1, with versions expectedVersion+1 … expectedVersion+n in order. */
  records: TransactionRecord[];
  /**
   * The committing owner's epoch (its lock's fencing token). When given, the commit also requires the account's
   * stored epoch to be at most this one, and stores this one: once a newer owner has committed, an older owner cannot,
   * whatever version it read. When absent, the stored epoch is neither checked nor changed (version CAS alone).
   */
  ownerEpoch?: bigint;
}

export type CommitOutcome =
  | { status: 'committed' }
  /** The account changed since it was read: nothing was written. */
  | { status: 'version_conflict' }
  /**
   * Some record ids are taken already (checked first, before the version): nothing was written. `existing` holds the
   * stored records with those ids, then the stored reversals of the same account whose original is one of those ids
   * (a purchase reversed before it arrived: the id is spent, see SPEC §2.7).
   */
  | { status: 'duplicate_id'; existing: TransactionRecord[] }
  | { status: 'unknown_account' }
  /** The account's stored owner epoch is newer than the request's `ownerEpoch`: nothing was written. */
  | { status: 'fenced' };

export interface TransactionPage {
  items: TransactionRecord[];
  /** Pass as `before` to get the next (older) page; absent on the last page. */
  nextBefore?: number;
}

/**
 * The authorizer's durable state, in domain words. Every adapter (SQLite, PostgreSQL, MongoDB) passes the same
 * contract suite (`test/store-contract.ts`).
 *
 * Errors: {@link AccountExistsError} from `createAccount`; {@link StoreUnavailableError} whenever the backend cannot
 * answer (including an aborted call). Nothing else is expected.
 */
export interface Store {
  readonly kind: 'sqlite' | 'postgres' | 'mongodb';
  /** Creates or migrates the schema and indexes. Idempotent; safe for several replicas at once. */
  init(options?: StoreCallOptions): Promise<void>;
  /** Resolves when the backend answers; for readiness. */
  ping(options?: StoreCallOptions): Promise<void>;

  /** Creates an account at version 0, with one `opening` ledger entry per category whose balance is not 0. */
  createAccount(id: string, balances: Balances, options?: StoreCallOptions): Promise<Account>;
  getAccount(id: string, options?: StoreCallOptions): Promise<Account | undefined>;

  getTransaction(id: string, options?: StoreCallOptions): Promise<TransactionRecord | undefined>;
  /**
   * The stored records whose id is one of `ids`, and the stored reversals (of any account) whose original is one of
   * `ids`, in no particular order: what a reversal is decided on, and what a purchase's remaining amount comes from.
   */
  getWithReversals(ids: readonly string[], options?: StoreCallOptions): Promise<TransactionRecord[]>;
  /**
   * Atomically: refuses the chain if any of its record ids exists, or is the original of a stored reversal of the
   * same account (checked first), then compare-and-sets the account
   * version from `expectedVersion` to `expectedVersion + records.length` with the new balances, and inserts the
   * records and the ledger entries. A request inconsistent with itself (see `checkCommitRequest`) or whose new
   * balances are not the stored ones plus the ledger deltas is a caller bug: RangeError, nothing written.
   */
  commit(request: CommitRequest, options?: StoreCallOptions): Promise<CommitOutcome>;
  /** An account's transactions, newest first (by version), at most `limit`, older than `before` when given. */
  listTransactions(
    accountId: string,
    page: { limit: number; before?: number },
    options?: StoreCallOptions,
  ): Promise<TransactionPage>;
  /** An account's ledger in version order (opening entries first). */
  listLedger(accountId: string, options?: StoreCallOptions): Promise<LedgerEntry[]>;

  listMerchantRules(options?: StoreCallOptions): Promise<MerchantRule[]>;
  /** Creates or replaces the rule with this `match`. */
  putMerchantRule(rule: MerchantRule, options?: StoreCallOptions): Promise<void>;
  /** Removes the rule; false when there was none. */
  deleteMerchantRule(match: string, options?: StoreCallOptions): Promise<boolean>;
  /**
   * Stores `rules` if this store has never been seeded before — once per store, ever, even if those rules are later
   * deleted — and returns true when it seeded now. Safe when several replicas start at once (exactly one seeds).
   */
  seedMerchantRules(rules: readonly MerchantRule[], options?: StoreCallOptions): Promise<boolean>;

  close(): Promise<void>;
}
