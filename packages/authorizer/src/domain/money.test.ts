import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_AMOUNT_CENTAVOS, formatCentavos, parseAmount } from './money.js';

const centavos = fc.integer({ min: 1, max: MAX_AMOUNT_CENTAVOS });

describe('parseAmount', () => {
  it.each<[unknown, number]>([
    [0.01, 1],
    ['0.01', 1],
    [100, 10_000],
    ['100', 10_000],
    [100.1, 10_010],
    ['100.1', 10_010],
    ['100.10', 10_010],
    [0.29, 29],
    ['0.5', 50],
    [0.5, 50],
    [1_000_000, MAX_AMOUNT_CENTAVOS],
    [1_000_000.0, MAX_AMOUNT_CENTAVOS],
    ['1000000.00', MAX_AMOUNT_CENTAVOS],
    [1.1, 110],
    [4.35, 435],
    [999_999.99, 99_999_999],
  ])('accepts %j as %i centavos', (input, expected) => {
    expect(parseAmount(input)).toEqual({ ok: true, value: expected });
  });

  it.each<[unknown, string]>([
    [0, 'greater than zero'],
    ['0', 'greater than zero'],
    ['0.00', 'greater than zero'],
    [-0, 'greater than zero'],
    [-1, 'greater than zero'],
    ['-1', 'greater than zero'],
    ['+1', 'greater than zero'],
    [-0.01, 'greater than zero'],
    [0.001, '2 decimal places'],
    ['0.001', '2 decimal places'],
    [1.005, '2 decimal places'],
    ['1.000', '2 decimal places'],
    ['100.100', '2 decimal places'],
    [1e-7, '2 decimal places'],
    [5e-324, '2 decimal places'],
    [1_000_000.01, 'at most 1000000.00'],
    ['1000000.01', 'at most 1000000.00'],
    [1e21, 'at most 1000000.00'],
    [Number.MAX_SAFE_INTEGER, 'at most 1000000.00'],
    ['99999999999999999999999999', 'at most 1000000.00'],
    [JSON.parse('1e309') as unknown, 'finite'],
    [Number.NaN, 'finite'],
    [Number.NEGATIVE_INFINITY, 'finite'],
    ['1e309', 'plain decimal'],
    ['1e3', 'plain decimal'],
    ['1E3', 'plain decimal'],
    ['', 'plain decimal'],
    [' ', 'plain decimal'],
    [' 1', 'plain decimal'],
    ['1 ', 'plain decimal'],
    ['.5', 'plain decimal'],
    ['5.', 'plain decimal'],
    ['05', 'plain decimal'],
    ['0x10', 'plain decimal'],
    ['mil', 'plain decimal'],
    ['1,50', 'plain decimal'],
    ['NaN', 'plain decimal'],
    ['Infinity', 'plain decimal'],
    ['１００', 'plain decimal'],
    [true, 'number or a decimal string'],
    [null, 'number or a decimal string'],
    [undefined, 'number or a decimal string'],
    [{ value: 1 }, 'number or a decimal string'],
    [[1], 'number or a decimal string'],
    [10n, 'number or a decimal string'],
  ])('rejects %o (%s)', (input, reason) => {
    const result = parseAmount(input);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toContain(reason);
  });

  it('accepts zero only with allowZero, and still refuses negatives', () => {
    expect(parseAmount(0, { allowZero: true })).toEqual({ ok: true, value: 0 });
    expect(parseAmount('0.00', { allowZero: true })).toEqual({ ok: true, value: 0 });
    expect(parseAmount(-0, { allowZero: true })).toEqual({ ok: true, value: 0 });
    const negative = parseAmount(-1, { allowZero: true });
    expect(negative.ok).toBe(false);
    if (!negative.ok) expect(negative.error).toContain('negative');
  });

  it('reads back every formatted amount', () => {
    fc.assert(
      fc.property(centavos, (c) => {
        expect(parseAmount(formatCentavos(c))).toEqual({ ok: true, value: c });
      }),
    );
  });

  it('reads every JSON number with at most 2 decimals to the exact centavos', () => {
    fc.assert(
      fc.property(centavos, (c) => {
        const sent = JSON.parse(JSON.stringify(c / 100)) as number;
        expect(parseAmount(sent)).toEqual({ ok: true, value: c });
      }),
    );
  });

  it('refuses every decimal with 3 or more places, as a string or a number', () => {
    const threePlaces = fc
      .tuple(
        fc.integer({ min: 0, max: 999_999 }),
        fc.stringMatching(/^[0-9]{2}[1-9]$/),
      )
      .map(([units, fraction]) => `${String(units)}.${fraction}`);
    fc.assert(
      fc.property(threePlaces, (text) => {
        expect(parseAmount(text).ok).toBe(false);
        expect(parseAmount(Number(text)).ok).toBe(false);
      }),
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 999_999 }),
        fc.stringMatching(/^[0-9]{3,8}$/),
        (units, fraction) => {
          expect(parseAmount(`${String(units)}.${fraction}`).ok).toBe(false);
        },
      ),
    );
  });

  it('never accepts anything over the maximum', () => {
    fc.assert(
      fc.property(fc.integer({ min: MAX_AMOUNT_CENTAVOS + 1, max: Number.MAX_SAFE_INTEGER }), (c) => {
        expect(parseAmount(formatCentavos(c)).ok).toBe(false);
        expect(parseAmount(c / 100).ok).toBe(false);
      }),
    );
  });

  it('only ever returns integer centavos within bounds', () => {
    fc.assert(
      fc.property(fc.oneof(fc.double(), fc.string(), fc.stringMatching(/^[0-9.]{1,12}$/)), (input) => {
        const result = parseAmount(input);
        if (result.ok) {
          expect(Number.isSafeInteger(result.value)).toBe(true);
          expect(result.value).toBeGreaterThan(0);
          expect(result.value).toBeLessThanOrEqual(MAX_AMOUNT_CENTAVOS);
        }
      }),
    );
  });
});

describe('formatCentavos', () => {
  it.each<[number, string]>([
    [100_000, '1000.00'],
    [5, '0.05'],
    [50_050, '500.50'],
    [0, '0.00'],
    [1, '0.01'],
    [MAX_AMOUNT_CENTAVOS, '1000000.00'],
  ])('formats %i as %s', (c, text) => {
    expect(formatCentavos(c)).toBe(text);
  });

  it.each([-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])('refuses %d', (c) => {
    expect(() => formatCentavos(c)).toThrow(RangeError);
  });
});
