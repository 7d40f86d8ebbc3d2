import type { Balances, LedgerEntry, TransactionRecord } from '../domain/types.js';

/** One job's effect on the chain: a record and its ledger entry, if it changes a balance. */
export interface Step {
  record: TransactionRecord;
  balances: Balances;
  entry?: LedgerEntry;
}

/** The fields every record of a chain shares. */
export type RecordBase = Pick<TransactionRecord, 'id' | 'accountId' | 'payloadHash' | 'version' | 'createdAt'>;

/** The ledger entry of `record`'s change of one category by `delta`, leaving `after`. */
export function ledgerEntry(
  record: TransactionRecord,
  kind: LedgerEntry['kind'],
  category: keyof Balances,
  delta: number,
  after: Balances,
): LedgerEntry {
  return {
    accountId: record.accountId,
    transactionId: record.id,
    kind,
    category,
    delta,
    balanceAfter: after[category],
    version: record.version,
    createdAt: record.createdAt,
  };
}
