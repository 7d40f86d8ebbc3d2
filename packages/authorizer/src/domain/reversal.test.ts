import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decideReversal, remainingReversible } from './reversal.js';
import type { Balances, Category, TransactionRecord } from './types.js';

const balances = (FOOD: number, MEAL: number, CASH: number): Balances => ({ FOOD, MEAL, CASH });

function purchase(overrides: Partial<TransactionRecord> = {}): TransactionRecord {
  return {
    id: 'tx-1',
    accountId: 'acc-1',
    kind: 'debit',
    amount: 1_000,
    mcc: '5811',
    merchant: 'RESTAURANTE',
    category: 'MEAL',
    appliedCategory: 'CASH',
    code: '00',
    reason: 'approved',
    payloadHash: 'h',
    version: 1,
    createdAt: '2026-11-30T00:00:00.000Z',
    ...overrides,
  };
}

const input = (overrides: Partial<Parameters<typeof decideReversal>[0]> = {}) => ({
  accountId: 'acc-1',
  amount: undefined,
  original: purchase(),
  reversedSoFar: 0,
  balances: balances(0, 0, 500),
  ...overrides,
});

describe('decideReversal (SPEC §2.7)', () => {
  it('gives the whole remaining amount back to the category the purchase debited (CASH fallback)', () => {
    expect(decideReversal(input())).toEqual({
      code: '00',
      reason: 'reversed',
      restored: 1_000,
      category: 'MEAL',
      appliedCategory: 'CASH',
      balances: balances(0, 0, 1_500),
    });
  });

  it('gives back a part, and never more than remains', () => {
    expect(decideReversal(input({ amount: 300, reversedSoFar: 600 }))).toMatchObject({ code: '00', restored: 300 });
    expect(decideReversal(input({ amount: 401, reversedSoFar: 600 }))).toEqual({ code: '07', reason: 'exceeds_remaining' });
    expect(decideReversal(input({ reversedSoFar: 600 }))).toMatchObject({ code: '00', restored: 400 });
  });

  it('nothing left, or a declined purchase: 00 nothing_to_reverse, balances unchanged', () => {
    for (const i of [input({ reversedSoFar: 1_000 }), input({ original: purchase({ code: '51', reason: 'insufficient_funds', appliedCategory: null }) }), input({ amount: 5, original: purchase({ code: '51', reason: 'insufficient_funds', appliedCategory: null }) })]) {
      expect(decideReversal(i)).toMatchObject({ code: '00', reason: 'nothing_to_reverse', restored: 0, balances: i.balances });
    }
    expect(decideReversal(input({ amount: 1, reversedSoFar: 1_000 }))).toEqual({ code: '07', reason: 'exceeds_remaining' });
  });

  it('an unknown purchase: 00 original_unknown, balances unchanged', () => {
    expect(decideReversal(input({ original: undefined, amount: 50 }))).toMatchObject({
      code: '00',
      reason: 'original_unknown',
      restored: 0,
      category: null,
      appliedCategory: null,
    });
  });

  it('a purchase of another account, or a record that is not a purchase: 07', () => {
    expect(decideReversal(input({ original: purchase({ accountId: 'acc-2' }) }))).toEqual({ code: '07', reason: 'account_mismatch' });
    expect(decideReversal(input({ original: purchase({ kind: 'credit', reason: 'credited' }) }))).toEqual({ code: '07', reason: 'not_reversible' });
  });

  it('refuses a non-positive or fractional amount as a caller bug', () => {
    for (const amount of [0, -1, 1.5]) {
      expect(() => decideReversal(input({ amount }))).toThrow(new RangeError(`amount must be a positive integer of centavos, got ${amount}`));
    }
  });

  it('remainingReversible: what an approved purchase debited minus what was given back; nothing for anything else', () => {
    expect(remainingReversible(purchase(), 250)).toBe(750);
    expect(remainingReversible(purchase(), 1_200)).toBe(0);
    expect(remainingReversible(purchase({ code: '51', reason: 'insufficient_funds', appliedCategory: null }), 0)).toBe(0);
    expect(remainingReversible(purchase({ kind: 'credit', reason: 'credited' }), 0)).toBe(0);
  });

  it('property: a run of reversals never restores more than the purchase took, and only to its category', () => {
    const category = fc.constantFrom<Category>('FOOD', 'MEAL', 'CASH');
    fc.assert(
      fc.property(category, fc.integer({ min: 1, max: 100_000 }), fc.array(fc.option(fc.integer({ min: 1, max: 50_000 })), { maxLength: 12 }), (applied, amount, requests) => {
        const original = purchase({ amount, appliedCategory: applied });
        let reversedSoFar = 0;
        let current = balances(7, 7, 7);
        for (const request of requests) {
          const decision = decideReversal({ accountId: 'acc-1', amount: request ?? undefined, original, reversedSoFar, balances: current });
          if (decision.code === '07') {
            expect(request).not.toBeNull();
            expect(request!).toBeGreaterThan(amount - reversedSoFar);
            continue;
          }
          for (const c of ['FOOD', 'MEAL', 'CASH'] as const) {
            expect(decision.balances[c] - current[c]).toBe(c === applied ? decision.restored : 0);
          }
          reversedSoFar += decision.restored;
          current = decision.balances;
          expect(remainingReversible(original, reversedSoFar)).toBe(amount - reversedSoFar);
        }
        expect(reversedSoFar).toBeLessThanOrEqual(amount);
      }),
    );
  });
});
