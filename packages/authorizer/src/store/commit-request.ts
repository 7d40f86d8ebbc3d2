import { CATEGORIES } from '../domain/types.js';
import type { Balances, Category, LedgerEntry } from '../domain/types.js';
import type { CommitRequest } from './port.js';

/**
 * Rejects a commit request that is inconsistent with itself (a caller bug, never a runtime condition): an empty
 * chain, records of another account or out of version sequence, repeated record ids, ledger entries that name no
 * record of the chain or carry another version, out of order, whose `balanceAfter` values do not follow from one
 * another, or whose last `balanceAfter` disagrees with the new balances, and negative balances. Other values
 * (positive integer amounts, known enums) are left to the database constraints, and conservation against the stored
 * balances is checked inside the commit itself.
 */
export function checkCommitRequest(request: CommitRequest): void {
  const { accountId, expectedVersion, records, ledger, balances } = request;
  const fail = (why: string): never => {
    throw new RangeError(`invalid commit request for account "${accountId}": ${why}`);
  };
  if (!Number.isSafeInteger(expectedVersion) || expectedVersion < 0) fail('expectedVersion must be an integer >= 0');
  if (!Array.isArray(records) || records.length === 0) fail('a chain needs at least one record');
  const versionOf = new Map<string, number>();
  records.forEach((record, i) => {
    const version = expectedVersion + 1 + i;
    if (record.accountId !== accountId) fail(`record "${record.id}" has another accountId`);
    if (record.version !== version) fail(`record "${record.id}" must have version ${version}`);
    if (versionOf.has(record.id)) fail(`record id "${record.id}" appears twice in the chain`);
    versionOf.set(record.id, version);
  });
  const lastAfter = new Map<Category, number>();
  // Stryker disable next-line ArithmeticOperator: equivalent — each entry's version already equals its record's (>= expectedVersion + 1)
  let lastVersion = expectedVersion + 1;
  for (const entry of ledger) {
    if (entry.accountId !== accountId) fail('a ledger entry has another accountId');
    if (entry.kind === 'opening') fail('opening entries are written by createAccount only');
    // Stryker disable next-line ConditionalExpression: equivalent — no record id is null, so the lookup gives undefined too
    const version = entry.transactionId === null ? undefined : versionOf.get(entry.transactionId);
    if (version === undefined) fail('a ledger entry names no record of the chain');
    if (entry.version !== version) fail(`ledger entries of "${entry.transactionId}" must have version ${version}`);
    if (entry.version < lastVersion) fail('ledger entries must be in version order');
    lastVersion = entry.version;
    if (entry.balanceAfter < 0) fail(`a ledger entry leaves ${entry.category} negative`);
    const before = lastAfter.get(entry.category);
    if (before !== undefined && before + entry.delta !== entry.balanceAfter) {
      fail(`ledger balanceAfter for ${entry.category} does not follow from the previous entry`);
    }
    lastAfter.set(entry.category, entry.balanceAfter);
  }
  for (const category of CATEGORIES) {
    if (!(balances[category] >= 0)) fail(`new ${category} balance must not be negative`);
    const after = lastAfter.get(category);
    if (after !== undefined && balances[category] !== after) fail(`ledger balanceAfter for ${category} differs`);
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
