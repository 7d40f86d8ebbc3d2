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
    expect(text).toContain('start + credits − approved debits + reversals = balance: acc CASH: start 900');
    expect(text).toContain('every response is 00, 51 or 07: d3: http 500 oops');
  });

  describe('reversals', () => {
    function reversalRecord(id: string, original: string, amount: number, version: number, reason: 'reversed' | 'original_unknown'): TransactionRecord {
      return {
        id, accountId: 'acc', kind: 'reversal', amount, mcc: null, merchant: null, category: reason === 'reversed' ? 'CASH' : null,
        appliedCategory: reason === 'reversed' ? 'CASH' : null, code: '00', reason, payloadHash: `h-${id}`, version,
        createdAt: now(), originalId: original,
      };
    }
    const sent = (id: string, original: string, seen: string[]) => ({
      id, original, account: 'acc', amount: undefined, early: false, seen: new Set(seen), final: seen[0] ?? 'unknown', startedAt: 0, endedAt: 1,
    });
    /** Commits `records` (reversals giving back to CASH) after d1 and d2. */
    async function commitReversals(records: TransactionRecord[]): Promise<void> {
      let cash = 400;
      const ledger = records.flatMap((r) => {
        if (r.amount === 0) return [];
        cash += r.amount;
        return [{ accountId: 'acc', transactionId: r.id, kind: 'reversal' as const, category: 'CASH' as const, delta: r.amount, balanceAfter: cash, version: r.version, createdAt: now() }];
      });
      const outcome = await store.commit({ accountId: 'acc', expectedVersion: 2, balances: { FOOD: 0, MEAL: 0, CASH: cash }, ledger, records });
      expect(outcome.status).toBe('committed');
    }

    it('passes a consistent history: partial reversals up to the purchase, an id spent ahead of its purchase', async () => {
      await commitReversals([reversalRecord('r1', 'd1', 200, 3, 'reversed'), reversalRecord('r2', 'd1', 400, 4, 'reversed'), reversalRecord('r3', 'd9', 0, 5, 'original_unknown')]);
      input.reversals = new Map([['r1', sent('r1', 'd1', ['reversed'])], ['r2', sent('r2', 'd1', [])], ['r3', sent('r3', 'd9', ['original_unknown'])]]);
      input.debits.set('d9', { ...debitOp('d9', 50, []), refusedAsReversed: true, final: '07' });
      const verdict = await checkInvariants(input);
      expect(verdict.violations).toEqual([]);
      expect(verdict.checked.reversals).toBe(3);
    });

    it('reports a reversal over its purchase, a purchase beside the reversal that spent its id, approved-and-reversed', async () => {
      await commitReversals([reversalRecord('r1', 'd1', 700, 3, 'reversed'), reversalRecord('r2', 'd2', 0, 4, 'original_unknown')]);
      input.reversals = new Map([['r1', sent('r1', 'd1', ['reversed'])], ['r2', sent('r2', 'd2', ['original_unknown'])], ['r9', sent('r9', 'd1', ['reversed'])]]);
      input.debits.set('d1', { ...debitOp('d1', 600, ['00']), refusedAsReversed: true });
      const text = (await checkInvariants(input)).violations.join('\n');
      expect(text).toContain('a reversal never restores more than its purchase took: acc r1 of d1: 700 given back, purchase took 600');
      expect(text).toContain('a purchase and a reversal that spent its id never both stand: acc r2 of d2');
      expect(text).toContain('no purchase both approved and refused as reversed: d1');
      expect(text).toContain('every acknowledged reversal is stored: r9');
    });
  });
});
