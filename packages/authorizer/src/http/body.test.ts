import { describe, expect, it } from 'vitest';
import { parseJson } from './body.js';

describe('parseJson', () => {
  it('keeps the exact source text of money numbers and parses other numbers normally', () => {
    expect(parseJson('{"totalAmount": 100.10, "mcc": 742, "n": [1.5]}')).toEqual({ totalAmount: '100.10', mcc: 742, n: [1.5] });
    expect(parseJson('{"amount": 1.999999999999999999}')).toEqual({ amount: '1.999999999999999999' });
    expect(parseJson('{"balances": {"FOOD": 1000, "MEAL": 0.1}}')).toEqual({ balances: { FOOD: '1000', MEAL: '0.1' } });
    // Every category is a money key: an amount under CASH must not pass through a double either.
    expect(parseJson('{"balances": {"CASH": 0.30000000000000004}}')).toEqual({ balances: { CASH: '0.30000000000000004' } });
    // A number in an array is never money, whatever key holds the array.
    expect(parseJson('{"amount": [1.10]}')).toEqual({ amount: [1.1] });
    expect(parseJson('null')).toBeNull();
    expect(parseJson('"x"')).toBe('x');
  });

  it('refuses what is not JSON, and duplicate keys with different values', () => {
    expect(() => parseJson('{"a":')).toThrow();
    expect(() => parseJson("{'a': 1}")).toThrow();
    expect(() => parseJson('{"amount": 1, "amount": 2}')).toThrow();
  });
});
