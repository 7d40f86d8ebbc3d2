import { describe, expect, it } from 'vitest';
import type { LedgerEntry, TransactionRecord } from '../domain/types.js';
import { checkCommitRequest, conservationError, ledgerDeltas, openingEntries } from './commit-request.js';
import type { CommitRequest } from './port.js';

const AT = '2026-11-30T00:00:00.000Z';

function record(id: string, version: number, overrides: Partial<TransactionRecord> = {}): TransactionRecord {
  return {
    id,
    accountId: 'acc-1',
    kind: 'debit',
    amount: 100,
    mcc: '5411',
    merchant: 'MERCADO',
    category: 'FOOD',
    appliedCategory: 'FOOD',
    code: '00',
    reason: 'approved',
    payloadHash: 'h',
    version,
    createdAt: AT,
    ...overrides,
  };
}

function entry(transactionId: string, version: number, overrides: Partial<LedgerEntry> = {}): LedgerEntry {
  return {
    accountId: 'acc-1',
    transactionId,
    kind: 'debit',
    category: 'FOOD',
    delta: -100,
    balanceAfter: 900,
    version,
    createdAt: AT,
    ...overrides,
  };
}

/** A valid two-record chain on version 3: FOOD 1000 → 900 → 800. */
function chain(overrides: Partial<CommitRequest> = {}): CommitRequest {
  return {
    accountId: 'acc-1',
    expectedVersion: 3,
    balances: { FOOD: 800, MEAL: 0, CASH: 0 },
    records: [record('tx-1', 4), record('tx-2', 5)],
    ledger: [entry('tx-1', 4, { balanceAfter: 900 }), entry('tx-2', 5, { balanceAfter: 800 })],
    ...overrides,
  };
}

function refusal(request: CommitRequest): string {
  try {
    checkCommitRequest(request);
  } catch (error) {
    expect(error).toBeInstanceOf(RangeError);
    return (error as Error).message;
  }
  throw new Error('expected the request to be refused');
}

describe('checkCommitRequest', () => {
  it('accepts a consistent chain, a chain of declines with no ledger entries, and a balance drained to exactly zero', () => {
    expect(() => checkCommitRequest(chain())).not.toThrow();
    const declines = chain({
      balances: { FOOD: 0, MEAL: 0, CASH: 0 },
      records: [record('tx-1', 4, { code: '51', appliedCategory: null, reason: 'insufficient_funds' })],
      ledger: [],
    });
    expect(() => checkCommitRequest(declines)).not.toThrow();
    const drained = chain({
      expectedVersion: 0,
      balances: { FOOD: 0, MEAL: 0, CASH: 0 },
      records: [record('tx-1', 1)],
      ledger: [entry('tx-1', 1, { balanceAfter: 0 })],
    });
    expect(() => checkCommitRequest(drained)).not.toThrow();
  });

  it('names the account in every refusal', () => {
    expect(refusal(chain({ records: [] }))).toBe('invalid commit request for account "acc-1": a chain needs at least one record');
  });

  it.each<[string, Partial<CommitRequest>, string]>([
    ['a negative expected version', { expectedVersion: -1 }, 'expectedVersion must be an integer >= 0'],
    ['a fractional expected version', { expectedVersion: 1.5 }, 'expectedVersion must be an integer >= 0'],
    ['an empty chain', { records: [] }, 'a chain needs at least one record'],
    ['a record of another account', { records: [record('tx-1', 4, { accountId: 'acc-2' }), record('tx-2', 5)] }, 'record "tx-1" has another accountId'],
    ['a record out of version sequence', { records: [record('tx-1', 4), record('tx-2', 6)] }, 'record "tx-2" must have version 5'],
    ['a chain that does not start at expectedVersion + 1', { records: [record('tx-1', 3), record('tx-2', 4)] }, 'record "tx-1" must have version 4'],
    ['a repeated record id', { records: [record('tx-1', 4), record('tx-1', 5)] }, 'record id "tx-1" appears twice in the chain'],
  ])('refuses %s', (_name, overrides, why) => {
    expect(refusal(chain(overrides))).toBe(`invalid commit request for account "acc-1": ${why}`);
  });

  it.each<[string, LedgerEntry[], string]>([
    ['a ledger entry of another account', [entry('tx-1', 4, { accountId: 'acc-2' }), entry('tx-2', 5, { balanceAfter: 800 })], 'a ledger entry has another accountId'],
    ['an opening entry', [entry('tx-1', 4, { kind: 'opening' }), entry('tx-2', 5, { balanceAfter: 800 })], 'opening entries are written by createAccount only'],
    ['an entry naming no record of the chain', [entry('tx-9', 4), entry('tx-2', 5, { balanceAfter: 800 })], 'a ledger entry names no record of the chain'],
    ['an entry with no transaction', [entry('tx-1', 4, { transactionId: null }), entry('tx-2', 5, { balanceAfter: 800 })], 'a ledger entry names no record of the chain'],
    ['an entry with its record\'s version wrong', [entry('tx-1', 5), entry('tx-2', 5, { balanceAfter: 800 })], 'ledger entries of "tx-1" must have version 4'],
    ['entries out of version order', [entry('tx-2', 5, { balanceAfter: 900 }), entry('tx-1', 4, { balanceAfter: 800 })], 'ledger entries must be in version order'],
    ['an entry leaving a balance negative', [entry('tx-1', 4), entry('tx-2', 5, { balanceAfter: -1, delta: -901 })], 'a ledger entry leaves FOOD negative'],
    ['a balanceAfter that does not follow from the previous one', [entry('tx-1', 4), entry('tx-2', 5, { balanceAfter: 801 })], 'ledger balanceAfter for FOOD does not follow from the previous entry'],
  ])('refuses %s', (_name, ledger, why) => {
    expect(refusal(chain({ ledger }))).toBe(`invalid commit request for account "acc-1": ${why}`);
  });

  it('follows balanceAfter per category, not across categories', () => {
    const ledger = [
      entry('tx-1', 4, { category: 'MEAL', delta: -100, balanceAfter: 50 }),
      entry('tx-2', 5, { category: 'FOOD', delta: -100, balanceAfter: 800 }),
    ];
    expect(() => checkCommitRequest(chain({ ledger, balances: { FOOD: 800, MEAL: 50, CASH: 0 } }))).not.toThrow();
  });

  it('allows several entries of one record, in version order', () => {
    const ledger = [
      entry('tx-1', 4, { balanceAfter: 900 }),
      entry('tx-2', 5, { balanceAfter: 800 }),
      entry('tx-2', 5, { category: 'CASH', delta: 10, balanceAfter: 10, kind: 'credit' }),
    ];
    expect(() => checkCommitRequest(chain({ ledger, balances: { FOOD: 800, MEAL: 0, CASH: 10 } }))).not.toThrow();
  });

  it.each<[string, Partial<CommitRequest>, string]>([
    ['a negative new balance', { balances: { FOOD: 800, MEAL: -1, CASH: 0 } }, 'new MEAL balance must not be negative'],
    ['a NaN new balance', { balances: { FOOD: 800, MEAL: 0, CASH: Number.NaN } }, 'new CASH balance must not be negative'],
    ['new balances that disagree with the last balanceAfter', { balances: { FOOD: 801, MEAL: 0, CASH: 0 } }, 'ledger balanceAfter for FOOD differs'],
  ])('refuses %s', (_name, overrides, why) => {
    expect(refusal(chain(overrides))).toBe(`invalid commit request for account "acc-1": ${why}`);
  });
});

describe('ledger helpers', () => {
  it('ledgerDeltas sums the signed deltas per category', () => {
    const ledger = [
      entry('a', 1, { delta: -100 }),
      entry('b', 2, { delta: 30, category: 'CASH' }),
      entry('c', 3, { delta: -5 }),
    ];
    expect(ledgerDeltas(ledger)).toEqual({ FOOD: -105, MEAL: 0, CASH: 30 });
    expect(ledgerDeltas([])).toEqual({ FOOD: 0, MEAL: 0, CASH: 0 });
  });

  it('openingEntries makes one opening entry per non-zero category at version 0', () => {
    expect(openingEntries('acc-1', { FOOD: 100, MEAL: 0, CASH: 5 }, AT)).toEqual([
      { accountId: 'acc-1', transactionId: null, kind: 'opening', category: 'FOOD', delta: 100, balanceAfter: 100, version: 0, createdAt: AT },
      { accountId: 'acc-1', transactionId: null, kind: 'opening', category: 'CASH', delta: 5, balanceAfter: 5, version: 0, createdAt: AT },
    ]);
    expect(openingEntries('acc-1', { FOOD: 0, MEAL: 0, CASH: 0 }, AT)).toEqual([]);
  });

  it('conservationError names the account and the broken rule', () => {
    const error = conservationError('acc-1');
    expect(error).toBeInstanceOf(RangeError);
    expect(error.message).toBe(
      'invalid commit request for account "acc-1": new balances are not the stored balances plus the ledger deltas',
    );
  });
});
