import type { Balances, Category, TransactionRecord } from './types.js';

/** Everything a reversal decision depends on (SPEC §2.7); the decision reads nothing else. */
export interface ReversalInput {
  /** The account the reversal names. */
  accountId: string;
  /** Integer centavos to give back, > 0; undefined gives back the whole remaining amount. */
  amount: number | undefined;
  /** The purchase being reversed, as stored or as decided earlier in the same chain; undefined when not there. */
  original: TransactionRecord | undefined;
  /** Integer centavos that earlier reversals of this purchase gave back already. */
  reversedSoFar: number;
  /** The account's balances, as the chain has left them so far. */
  balances: Balances;
}

/** Why a reversal is refused (`07`): nothing is recorded and nothing changes. */
export type ReversalRefusal = 'exceeds_remaining' | 'account_mismatch' | 'not_reversible';

/**
 * A reversal's outcome. A refusal is a value, not an error.
 * - `00 reversed`: `restored` centavos go back to `appliedCategory`, the balance the purchase actually debited.
 * - `00 nothing_to_reverse`: the purchase was declined, or is reversed in full already; nothing changes.
 * - `00 original_unknown`: no such purchase (unknown, answered `07`, or still in flight): acknowledged and recorded,
 *   nothing changes, and the purchase is refused if it arrives later.
 * - `07`: over the remaining amount, a purchase of another account, or an id that is not a purchase.
 */
export type ReversalDecision =
  | {
      code: '00';
      reason: 'reversed';
      restored: number;
      category: Category | null;
      appliedCategory: Category;
      balances: Balances;
    }
  | {
      code: '00';
      reason: 'nothing_to_reverse' | 'original_unknown';
      restored: 0;
      category: Category | null;
      appliedCategory: null;
      balances: Balances;
    }
  | { code: '07'; reason: ReversalRefusal };

/** Centavos of `original` that reversals may still give back: what it debited minus what was given back already. */
export function remainingReversible(original: TransactionRecord, reversedSoFar: number): number {
  if (original.kind !== 'debit' || original.code !== '00') return 0;
  return Math.max(0, original.amount - reversedSoFar);
}

/**
 * Decides a reversal (SPEC §2.7): gives back the requested amount (default: all that remains) to the balance the
 * purchase debited (its applied category, CASH fallback included), never more than remains. Pure: the input is not
 * mutated and the returned balances are a new object.
 *
 * @throws RangeError when `amount` is given and is not a positive safe integer (a caller bug: `parseAmount` checks it).
 */
export function decideReversal(input: ReversalInput): ReversalDecision {
  const { original, amount, balances } = input;
  if (amount !== undefined && (!Number.isSafeInteger(amount) || amount <= 0)) {
    throw new RangeError(`amount must be a positive integer of centavos, got ${String(amount)}`);
  }
  if (original === undefined) {
    return { code: '00', reason: 'original_unknown', restored: 0, category: null, appliedCategory: null, balances: { ...balances } };
  }
  if (original.accountId !== input.accountId) return { code: '07', reason: 'account_mismatch' };
  if (original.kind !== 'debit') return { code: '07', reason: 'not_reversible' };
  const nothing = { code: '00', reason: 'nothing_to_reverse', restored: 0, category: original.category, appliedCategory: null } as const;
  // A purchase that debited nothing (declined) has nothing to give back, whatever the amount asked.
  if (original.appliedCategory === null) return { ...nothing, balances: { ...balances } };
  const remaining = remainingReversible(original, input.reversedSoFar);
  const restored = amount ?? remaining;
  if (restored > remaining) return { code: '07', reason: 'exceeds_remaining' };
  if (restored === 0) return { ...nothing, balances: { ...balances } };
  const applied = original.appliedCategory;
  return {
    code: '00',
    reason: 'reversed',
    restored,
    category: original.category,
    appliedCategory: applied,
    balances: { ...balances, [applied]: balances[applied] + restored },
  };
}
