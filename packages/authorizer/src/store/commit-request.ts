import { CATEGORIES } from '../domain/types.js';
import type { Balances, LedgerEntry } from '../domain/types.js';
import type { CommitRequest } from './port.js';

/**
 * Rejects a commit request that is inconsistent with itself (a caller bug, never a runtime condition): wrong account
 * or version on the record or the ledger entries, or ledger entries whose last `balanceAfter` disagrees with the new
 * balances. Values (non-negative balances, positive integer amounts, known enums) are left to the database
 * constraints, and conservation against the stored balances is checked inside the commit itself.
 */
export function checkCommitRequest(request: CommitRequest): void {
  const { accountId, expectedVersion, record, ledger, balances } = request;
  const fail = (why: string): never => {
    throw new RangeError(`invalid commit request for account "${accountId}": ${why}`);
  };
  if (!Number.isSafeInteger(expectedVersion) || expectedVersion < 0) fail('expectedVersion must be an integer >= 0');
  const next = expectedVersion + 1;
  if (record.accountId !== accountId) fail('record.accountId differs');
  if (record.version !== next) fail(`record.version must be ${next}`);
  const lastAfter = new Map<string, number>();
  for (const entry of ledger) {
    if (entry.accountId !== accountId) fail('a ledger entry has another accountId');
    if (entry.version !== next) fail(`ledger entries must have version ${next}`);
    if (entry.transactionId !== record.id) fail('a ledger entry names another transaction');
    if (entry.kind === 'opening') fail('opening entries are written by createAccount only');
    lastAfter.set(entry.category, entry.balanceAfter);
  }
  for (const [category, after] of lastAfter) {
    if (balances[category as keyof Balances] !== after) fail(`ledger balanceAfter for ${category} differs`);
  }
}

/** The net change per category that the ledger entries make. */
export function ledgerDeltas(ledger: readonly LedgerEntry[]): Balances {
  const deltas: Balances = { FOOD: 0, MEAL: 0, CASH: 0 };
  for (const entry of ledger) deltas[entry.category] += entry.delta;
  return deltas;
}

/** The `opening` entries of a new account: one per category whose balance is not zero, at version 0. */
export function openingEntries(accountId: string, balances: Balances, createdAt: string): LedgerEntry[] {
  return CATEGORIES.filter((category) => balances[category] !== 0).map((category) => ({
    accountId,
    transactionId: null,
    kind: 'opening' as const,
    category,
    delta: balances[category],
    balanceAfter: balances[category],
    version: 0,
    createdAt,
  }));
}

/** Thrown inside a commit when the new balances are not the stored ones plus the ledger deltas (a caller bug). */
export function conservationError(accountId: string): RangeError {
  return new RangeError(
    `invalid commit request for account "${accountId}": new balances are not the stored balances plus the ledger deltas`,
  );
}
