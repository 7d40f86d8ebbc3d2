import type { Account, LedgerEntry, TransactionRecord } from '../domain/types.js';
import { parseAccount, parseLedgerEntry, parseRecord, toSafeInteger } from './documents.js';

/**
 * A row of the SQL adapters (SQLite and PostgreSQL share column names): integers as number, bigint or string (pg's
 * BIGINT), times as ISO text (SQLite) or a Date (pg's TIMESTAMPTZ). Every mapper validates through the document schemas.
 */
export type Row = Record<string, unknown>;

/** TIMESTAMPTZ comes back as a Date; the domain speaks ISO-8601 strings (SQLite already stores them). */
function isoTime(value: unknown): unknown {
  return value instanceof Date && !Number.isNaN(value.getTime()) ? value.toISOString() : value;
}

export function accountFromRow(row: Row): Account {
  return parseAccount({
    id: row['id'],
    balances: { FOOD: toSafeInteger(row['food']), MEAL: toSafeInteger(row['meal']), CASH: toSafeInteger(row['cash']) },
    version: toSafeInteger(row['version']),
    createdAt: isoTime(row['created_at']),
  });
}

export function recordFromRow(row: Row): TransactionRecord {
  return parseRecord({
    id: row['id'],
    accountId: row['account_id'],
    kind: row['kind'],
    amount: toSafeInteger(row['amount']),
    mcc: row['mcc'],
    merchant: row['merchant'],
    category: row['category'],
    appliedCategory: row['applied_category'],
    code: row['code'],
    reason: row['reason'],
    payloadHash: row['payload_hash'],
    version: toSafeInteger(row['version']),
    createdAt: isoTime(row['created_at']),
    ...(row['original_id'] === null || row['original_id'] === undefined ? {} : { originalId: row['original_id'] }),
  });
}

export function ledgerFromRow(row: Row): LedgerEntry {
  return parseLedgerEntry({
    accountId: row['account_id'],
    transactionId: row['transaction_id'],
    kind: row['kind'],
    category: row['category'],
    delta: toSafeInteger(row['delta']),
    balanceAfter: toSafeInteger(row['balance_after']),
    version: toSafeInteger(row['version']),
    createdAt: isoTime(row['created_at']),
  });
}
