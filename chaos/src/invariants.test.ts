/**
 * The checker against a real store (SQLite in memory): a consistent history passes; each planted discrepancy between
 * the store and the clients' records is reported with its evidence.
 */
import { openSqliteStore, type Balances, type Store, type TransactionRecord } from '@catraca/authorizer';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkInvariants, type CheckInput } from './invariants.js';
import type { Attempt, CreditOp, DebitOp } from './load.js';

const now = (): string => new Date().toISOString();

function debitRecord(id: string, amount: number, version: number, code: '00' | '51'): TransactionRecord {
  return {
    id, accountId: 'acc', kind: 'debit', amount, mcc: '5999', merchant: 'LOJA CHAOS', category: 'CASH',
    appliedCategory: code === '00' ? 'CASH' : null, code, reason: code === '00' ? 'approved' : 'insufficient_funds',
    payloadHash: `h-${id}`, version, createdAt: now(),
  };
}

function debitOp(id: string, amount: number, seen: Array<'00' | '51'>): DebitOp {
  return { id, account: 'acc', amount, mcc: '5999', seen: new Set(seen), final: seen[0] ?? 'unknown', startedAt: 0, endedAt: 1 };
}

describe('invariant checker', () => {
  let store: Store;
  let input: CheckInput & {
    openings: Map<string, Balances>;
    debits: Map<string, DebitOp>;
    credits: Map<string, CreditOp>;
    attempts: Attempt[];
  };

  beforeEach(async () => {
    store = await openSqliteStore({ path: ':memory:' });
    const opening: Balances = { FOOD: 0, MEAL: 0, CASH: 1_000 };
    await store.createAccount('acc', opening);
    // d1 approved (1000 → 400), d2 declined (700 > 400).
    const outcome = await store.commit({
      accountId: 'acc',
      expectedVersion: 0,
      balances: { FOOD: 0, MEAL: 0, CASH: 400 },
      ledger: [{ accountId: 'acc', transactionId: 'd1', kind: 'debit', category: 'CASH', delta: -600, balanceAfter: 400, version: 1, createdAt: now() }],
      records: [debitRecord('d1', 600, 1, '00'), debitRecord('d2', 700, 2, '51')],
    });
    expect(outcome.status).toBe('committed');
    input = {
      store,
      openings: new Map([['acc', opening]]),
      debits: new Map([
        ['d1', debitOp('d1', 600, ['00'])],
        ['d2', debitOp('d2', 700, ['51'])],
      ]),
      credits: new Map(),
      attempts: [{ opId: 'd1', kind: 'debit', sentAt: 0, latencyMs: 1, outcome: '00', detail: 'approved' }],
    };
  });
  afterEach(async () => {
    await store.close();
  });

  it('passes a consistent history', async () => {
    const verdict = await checkInvariants(input);
    expect(verdict.violations).toEqual([]);
    expect(verdict.checked).toMatchObject({ accounts: 1, records: 2, approvals: 1 });
  });

  it('reports a 00 the client saw that the store does not have, and a stored debit nobody sent', async () => {
    input.debits.set('ghost', debitOp('ghost', 100, ['00']));
    input.debits.delete('d2');
    const verdict = await checkInvariants(input);
    expect(verdict.ok).toBe(false);
    expect(verdict.violations.join('\n')).toContain('every 00 a client saw is stored: ghost');
    expect(verdict.violations.join('\n')).toContain('stored debit was sent: acc d2');
  });

  it('reports a decision the store contradicts, two answers for one id, an unacknowledged-but-claimed credit', async () => {
    input.debits.set('d2', debitOp('d2', 700, ['00', '51']));
    input.credits.set('c1', { id: 'c1', account: 'acc', category: 'FOOD', amount: 100, acknowledged: true, startedAt: 0, endedAt: 1 });
    const text = (await checkInvariants(input)).violations.join('\n');
    expect(text).toContain('one answer per id: d2');
    expect(text).toContain('every 00 a client saw is stored: d2 (acc): stored with 51');
    expect(text).toContain('every acknowledged credit is stored: c1');
  });

  it('reports a different opening balance and an answer outside 00/51/07', async () => {
    input.openings.set('acc', { FOOD: 0, MEAL: 0, CASH: 900 });
    input.attempts.push({ opId: 'd3', kind: 'debit', sentAt: 0, latencyMs: 1, outcome: 'invalid', detail: 'http 500 oops' });
    const text = (await checkInvariants(input)).violations.join('\n');
    expect(text).toContain('opening balance as created: acc CASH');
    expect(text).toContain('start + credits − approved debits = balance: acc CASH: start 900');
    expect(text).toContain('every response is 00, 51 or 07: d3: http 500 oops');
  });
});
