/** The three balances of a multi-benefit account. */
export const CATEGORIES = ['FOOD', 'MEAL', 'CASH'] as const;
export type Category = (typeof CATEGORIES)[number];

/** Integer centavos per category. Never negative. */
export type Balances = Record<Category, number>;

export interface Account {
  id: string;
  balances: Balances;
  /** Increases by one on every committed transaction of the account; the compare-and-set fence. Starts at 0. */
  version: number;
  createdAt: string;
}

/** The body of every `POST /transactions` answer. */
export type ResponseCode = '00' | '51' | '07';

/** What a stored transaction did. Only decisions are stored: a `07` is never a record. */
export type TransactionKind = 'debit' | 'credit' | 'reversal';

/**
 * Why a stored transaction answered as it did. Reversals (always `00`): `reversed` (an amount given back),
 * `nothing_to_reverse` (the purchase was declined or is reversed in full already), `original_unknown` (no such purchase
 * on the account yet: recorded, and a purchase with that id arriving later is refused with `07 reversed`).
 */
export type StoredReason =
  | 'approved'
  | 'insufficient_funds'
  | 'credited'
  | 'reversed'
  | 'nothing_to_reverse'
  | 'original_unknown';

/** An immutable record of one processed transaction; its `id` is the idempotency key. */
export interface TransactionRecord {
  id: string;
  accountId: string;
  kind: TransactionKind;
  /** Integer centavos: > 0 for debits and credits; for reversals the amount given back, >= 0. */
  amount: number;
  /** Debits: the request's MCC; credits: null. */
  mcc: string | null;
  /** Debits: the request's merchant field as received; credits: null. */
  merchant: string | null;
  /**
   * The category the rules chose (debits), the credited category (credits), or the reversed purchase's category
   * (reversals; null when the purchase is not there).
   */
  category: Category | null;
  /** The balance actually changed; null when declined, or for a reversal that gave nothing back. */
  appliedCategory: Category | null;
  /** Reversals only: the id of the purchase it reverses. */
  originalId?: string;
  code: '00' | '51';
  reason: StoredReason;
  /** sha256 of the canonical payload; a replay with another hash is an `id_conflict`. */
  payloadHash: string;
  /** The account version this commit produced; orders an account's history. */
  version: number;
  createdAt: string;
}

export type LedgerKind = 'opening' | 'debit' | 'credit' | 'reversal';

/**
 * One balance change. Per account and category, the sum of `delta` over the ledger equals the balance at all times.
 */
export interface LedgerEntry {
  accountId: string;
  /** The transaction that caused it; for `opening` entries, null. */
  transactionId: string | null;
  kind: LedgerKind;
  category: Category;
  /** Signed integer centavos. */
  delta: number;
  /** The category balance after this entry. */
  balanceAfter: number;
  /** The account version after this entry (0 for opening entries). */
  version: number;
  createdAt: string;
}

/** A data-driven override: a merchant name that decides the category regardless of the MCC (SPEC §2.5). */
export interface MerchantRule {
  /** Normalized match text; a trailing `*` makes it a pure prefix. */
  match: string;
  category: Category;
}
