import { formatCentavos } from '../domain/index.js';
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

export function transactionView(record: TransactionRecord) {
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
  };
}
