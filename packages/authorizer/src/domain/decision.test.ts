import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { chooseCategory, decide, type Decision, type DecisionInput } from './decision.js';
import { MAX_AMOUNT_CENTAVOS } from './money.js';
import { DEFAULT_MERCHANT_RULES, normalizeMerchantName } from './merchant.js';
import { CATEGORIES, type Balances, type Category, type MerchantRule } from './types.js';

const rules: readonly MerchantRule[] = [...DEFAULT_MERCHANT_RULES, { match: 'IFD*', category: 'MEAL' }];

function balances(FOOD: number, MEAL: number, CASH: number): Balances {
  return { FOOD, MEAL, CASH };
}

function debit(b: Balances, amount: number, mcc: string, merchant = 'PADARIA DO ZE'): Decision {
  return decide({ balances: b, amount, mcc, merchantName: normalizeMerchantName(merchant), rules });
}

describe('chooseCategory', () => {
  it.each<[string, string, Category, 'merchant' | 'mcc']>([
    ['5411', 'PADARIA', 'FOOD', 'mcc'],
    ['5412', 'PADARIA', 'FOOD', 'mcc'],
    ['5811', 'PADARIA', 'MEAL', 'mcc'],
    ['5812', 'PADARIA', 'MEAL', 'mcc'],
    ['0742', 'PADARIA', 'CASH', 'mcc'],
    ['5999', 'PADARIA', 'CASH', 'mcc'],
    // L3 over L1: the merchant name wins even over a valid benefit MCC.
    ['5411', 'UBER EATS SAO PAULO BR', 'MEAL', 'merchant'],
    ['5811', 'UBER TRIP', 'CASH', 'merchant'],
    ['5411', 'PICPAY*BILHETEUNICO', 'CASH', 'merchant'],
    ['5411', 'IFD*RESTAURANTE X', 'MEAL', 'merchant'],
    // Not a word-boundary match: the MCC decides.
    ['5411', 'UBERLANDIA', 'FOOD', 'mcc'],
    ['5411', 'IFDXYZ', 'FOOD', 'mcc'],
  ])('mcc %s, merchant %o → %s by %s', (mcc, name, category, source) => {
    expect(chooseCategory(mcc, name, rules)).toEqual({ category, source });
  });
});

describe('decide', () => {
  it('debits the chosen category when it covers the amount', () => {
    expect(debit(balances(1000, 500, 300), 400, '5411')).toEqual({
      code: '00',
      category: 'FOOD',
      appliedCategory: 'FOOD',
      balances: balances(600, 500, 300),
    });
  });

  it('approves an amount exactly equal to the balance, leaving zero', () => {
    expect(debit(balances(0, 500, 0), 500, '5811')).toEqual({
      code: '00',
      category: 'MEAL',
      appliedCategory: 'MEAL',
      balances: balances(0, 0, 0),
    });
  });

  it('falls back to CASH only when CASH covers the whole amount', () => {
    expect(debit(balances(100, 0, 1000), 400, '5411')).toEqual({
      code: '00',
      category: 'FOOD',
      appliedCategory: 'CASH',
      balances: balances(100, 0, 600),
    });
    expect(debit(balances(300, 0, 300), 400, '5411')).toEqual({
      code: '51',
      category: 'FOOD',
      appliedCategory: null,
      balances: balances(300, 0, 300),
    });
  });

  it('falls back to CASH with exactly the amount', () => {
    expect(debit(balances(0, 399, 400), 400, '5812')).toMatchObject({
      code: '00',
      appliedCategory: 'CASH',
      balances: balances(0, 399, 0),
    });
  });

  it('never falls back from CASH to anything, even when FOOD or MEAL could pay', () => {
    expect(debit(balances(10_000, 10_000, 100), 400, '5999')).toEqual({
      code: '51',
      category: 'CASH',
      appliedCategory: null,
      balances: balances(10_000, 10_000, 100),
    });
  });

  it('uses the merchant rule over a valid MCC (L3 over L1)', () => {
    expect(debit(balances(1000, 1000, 0), 500, '5411', 'UBER EATS SAO PAULO BR')).toMatchObject({
      code: '00',
      category: 'MEAL',
      appliedCategory: 'MEAL',
      balances: balances(1000, 500, 0),
    });
    // A rule's CASH is CASH: no fallback, even though FOOD could pay.
    expect(debit(balances(1000, 1000, 0), 500, '5411', 'UBER TRIP')).toMatchObject({ code: '51', category: 'CASH' });
  });

  it('reads the name out of a 40-character DE 43 field', () => {
    const field = `${'UBER EATS'.padEnd(25)}${'SAO PAULO'.padEnd(13)}BR`;
    expect(field).toHaveLength(40);
    expect(debit(balances(1000, 1000, 0), 500, '5411', field)).toMatchObject({ code: '00', category: 'MEAL' });
  });

  it('declines with 51 when nothing covers the amount, changing nothing', () => {
    const before = balances(0, 0, 0);
    const decision = debit(before, 1, '5411');
    expect(decision).toEqual({ code: '51', category: 'FOOD', appliedCategory: null, balances: before });
    expect(decision.balances).not.toBe(before);
  });

  it.each([0, -1, 1.5, Number.NaN])('refuses the non-amount %d', (amount) => {
    expect(() => debit(balances(1, 1, 1), amount, '5411')).toThrow(RangeError);
  });
});

describe('decide invariants', () => {
  const balance = fc.integer({ min: 0, max: 2 * MAX_AMOUNT_CENTAVOS });
  const inputs: fc.Arbitrary<DecisionInput> = fc.record({
    balances: fc.record({ FOOD: balance, MEAL: balance, CASH: balance }),
    amount: fc.oneof(fc.integer({ min: 1, max: 2000 }), fc.integer({ min: 1, max: MAX_AMOUNT_CENTAVOS })),
    mcc: fc.constantFrom('5411', '5412', '5811', '5812', '0742', '5999', '4121'),
    merchantName: fc.constantFrom(
      'PADARIA',
      'UBER EATS',
      'UBER EATS SP',
      'UBER TRIP',
      'UBERLANDIA',
      'PICPAY*BILHETEUNICO',
      'IFD*X',
    ),
    rules: fc.constant(rules),
  });

  it('hold for every input', () => {
    fc.assert(
      fc.property(inputs, (input) => {
        const snapshot = structuredClone(input);
        const decision = decide(input);

        // The input is not mutated, and the result does not alias it.
        expect(input).toEqual(snapshot);
        expect(decision.balances).not.toBe(input.balances);

        // No balance is ever negative.
        for (const c of CATEGORIES) expect(decision.balances[c]).toBeGreaterThanOrEqual(0);

        // At most one category changes, by exactly -amount, and only on 00.
        const changed = CATEGORIES.filter((c) => decision.balances[c] !== input.balances[c]);
        if (decision.code === '00') {
          expect(changed).toEqual([decision.appliedCategory]);
          const applied = decision.appliedCategory;
          expect(decision.balances[applied]).toBe(input.balances[applied] - input.amount);
          expect([decision.category, 'CASH']).toContain(decision.appliedCategory);
        } else {
          expect(changed).toEqual([]);
          expect(decision.appliedCategory).toBeNull();
        }

        // 00 iff the chosen category covers the amount, or (when it is not CASH) CASH does.
        const { category } = chooseCategory(input.mcc, input.merchantName, input.rules);
        expect(decision.category).toBe(category);
        const covered =
          input.balances[category] >= input.amount || (category !== 'CASH' && input.balances.CASH >= input.amount);
        expect(decision.code === '00').toBe(covered);
        // The chosen category is preferred over CASH whenever it can pay.
        if (input.balances[category] >= input.amount) expect(decision.appliedCategory).toBe(category);
      }),
    );
  });
});
