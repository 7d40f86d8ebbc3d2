import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { categoryForMcc, parseMcc } from './mcc.js';

describe('parseMcc', () => {
  it.each<[unknown, string]>([
    ['5811', '5811'],
    ['0742', '0742'],
    ['0000', '0000'],
    [5811, '5811'],
    [742, '0742'],
    [0, '0000'],
    [9999, '9999'],
  ])('accepts %o as %s', (input, expected) => {
    expect(parseMcc(input)).toEqual({ ok: true, value: expected });
  });

  it.each<unknown>([
    '541a', '  ', '54111', '', '581', ' 5811', '5811 ', '５８１１', '-581', '+581', '58.1', '٥٨١١',
    5811.5, -1, 10_000, Number.NaN, Number.POSITIVE_INFINITY, null, undefined, true, ['5811'], { mcc: '5811' },
  ])('rejects %o', (input) => {
    const result = parseMcc(input);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toMatch(/^mcc /);
  });

  it('pads every integer 0–9999 to the same text as its 4-digit string', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 9999 }), (n) => {
        const text = String(n).padStart(4, '0');
        expect(parseMcc(n)).toEqual({ ok: true, value: text });
        expect(parseMcc(text)).toEqual({ ok: true, value: text });
      }),
    );
  });
});

describe('categoryForMcc', () => {
  it.each([
    ['5411', 'FOOD'],
    ['5412', 'FOOD'],
    ['5811', 'MEAL'],
    ['5812', 'MEAL'],
    ['5813', 'CASH'],
    ['5410', 'CASH'],
    ['0742', 'CASH'],
    ['0000', 'CASH'],
    ['9999', 'CASH'],
  ])('maps %s to %s', (mcc, category) => {
    expect(categoryForMcc(mcc)).toBe(category);
  });
});
