import { categoryForMcc } from './mcc.js';
import { matchMerchantRule } from './merchant.js';
import type { Balances, Category, MerchantRule } from './types.js';

/** Everything a debit decision depends on; the decision reads nothing else. */
export interface DecisionInput {
  /** The account's balances, integer centavos, as read at the account's current version. */
  balances: Balances;
  /** Integer centavos, > 0 (see `parseAmount`). */
  amount: number;
  /** 4-digit MCC (see `parseMcc`). */
  mcc: string;
  /** The normalized merchant name (see `normalizeMerchantName`). */
  merchantName: string;
  rules: readonly MerchantRule[];
}

/**
 * A debit's outcome. A decline is a value, not an error.
 * - `00`: `appliedCategory` is the balance debited (the chosen category, or CASH as fallback); `balances` after.
 * - `51`: nothing is debited; `balances` are a copy of the input's.
 */
export type Decision =
  | { code: '00'; category: Category; appliedCategory: Category; balances: Balances }
  | { code: '51'; category: Category; appliedCategory: null; balances: Balances };

/** Which rule chose the category: a merchant rule (L3) or the MCC (L1). */
export type CategorySource = 'merchant' | 'mcc';

/**
 * Chooses a debit's category (SPEC §2.1): a matching merchant rule decides (L3), even over a valid MCC;
 * otherwise the MCC does (L1).
 */
export function chooseCategory(
  mcc: string,
  merchantName: string,
  rules: readonly MerchantRule[],
): { category: Category; source: CategorySource } {
  const rule = matchMerchantRule(merchantName, rules);
  if (rule !== undefined) return { category: rule.category, source: 'merchant' };
  return { category: categoryForMcc(mcc), source: 'mcc' };
}

/**
 * Decides a debit (SPEC §2.2): if the chosen category's balance covers the whole amount, debit it; otherwise,
 * if the category is not CASH and CASH covers the whole amount, debit CASH; otherwise decline with `51`.
 * An amount is never split across balances and no balance goes below zero. Pure: the input is not mutated
 * and the returned balances are a new object.
 *
 * @throws RangeError when `amount` is not a positive safe integer: a caller bug, since `parseAmount` guarantees it.
 */
export function decide(input: DecisionInput): Decision {
  const { balances, amount } = input;
  if (!Number.isSafeInteger(amount) || amount <= 0) {
    throw new RangeError(`amount must be a positive integer of centavos, got ${String(amount)}`);
  }
  const { category } = chooseCategory(input.mcc, input.merchantName, input.rules);
  const applied = balanceToDebit(balances, category, amount);
  if (applied === null) {
    return { code: '51', category, appliedCategory: null, balances: { ...balances } };
  }
  return {
    code: '00',
    category,
    appliedCategory: applied,
    balances: { ...balances, [applied]: balances[applied] - amount },
  };
}

/** The balance that covers the whole amount: the chosen category first, then CASH (L2); null when neither does. */
function balanceToDebit(balances: Balances, category: Category, amount: number): Category | null {
  if (balances[category] >= amount) return category;
  if (category !== 'CASH' && balances.CASH >= amount) return 'CASH';
  return null;
}
