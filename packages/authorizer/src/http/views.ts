import { formatCentavos, remainingReversible } from '../domain/index.js';
import type { Account, TransactionRecord } from '../domain/types.js';

/** An account as the API shows it: balances as exact decimal strings with two places. */
export function accountView(account: Account) {
  return {
    id: account.id,
    balances: {
      FOOD: formatCentavos(account.balances.FOOD),
      MEAL: formatCentavos(account.balances.MEAL),
      CASH: formatCentavos(account.balances.CASH),
    },
    version: account.version,
  };
}

/** An account's balances, for a balance inquiry. */
export function balanceView(account: Account) {
  const { id, balances } = accountView(account);
  return { id, balances };
}

/**
 * A stored transaction as the API shows it. A reversal names its purchase (`original`); a purchase, given its
 * reversals, lists them and says how much they may still give back (`remaining`).
 */
export function transactionView(record: TransactionRecord, reversals?: readonly TransactionRecord[]) {
  const links =
    record.kind === 'reversal'
      ? { original: record.originalId }
      : record.kind === 'debit' && reversals !== undefined
        ? {
            reversals: reversals.map((r) => r.id),
            remaining: formatCentavos(remainingReversible(record, reversals.reduce((sum, r) => sum + r.amount, 0))),
          }
        : {};
  return {
    id: record.id,
    account: record.accountId,
    kind: record.kind,
    amount: formatCentavos(record.amount),
    mcc: record.mcc,
    merchant: record.merchant,
    category: record.category,
    appliedCategory: record.appliedCategory,
    code: record.code,
    reason: record.reason,
    version: record.version,
    createdAt: record.createdAt,
    ...links,
  };
}
