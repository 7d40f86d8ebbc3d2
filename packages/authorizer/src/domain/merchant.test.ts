import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_MERCHANT_RULES,
  matchMerchantRule,
  normalizeMerchantName,
  normalizeRuleMatch,
  parseMerchant,
  parseRuleMatch,
} from './merchant.js';
import type { Category, MerchantRule } from './types.js';

/** A 40-character DE 43 field: name padded to 25, city padded to 13, country (2). */
function de43(name: string, city: string, country: string): string {
  return name.padEnd(25) + city.padEnd(13) + country;
}

describe('parseMerchant', () => {
  it.each(['A', 'UBER EATS', ' padded ', de43('PADARIA DO ZE', 'SAO PAULO', 'BR'), 'x'.repeat(255), 'É'.repeat(255)])(
    'accepts %o unchanged',
    (input) => {
      expect(parseMerchant(input)).toEqual({ ok: true, value: input });
    },
  );

  it.each<unknown>(['', ' ', '   ', '\t\n', 'x'.repeat(256), null, undefined, 42, true, ['UBER'], {}])(
    'rejects %o',
    (input) => {
      const result = parseMerchant(input);
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.error).toMatch(/^merchant /);
    },
  );
});

describe('normalizeMerchantName', () => {
  it.each([
    ['uber eats', 'UBER EATS'],
    ['  Uber   Eats\tSao  Paulo ', 'UBER EATS SAO PAULO'],
    [de43('UBER EATS', 'SAO PAULO', 'BR'), 'UBER EATS'],
    [de43('PAG*JoaoDaSilva', 'RIO DE JANEI', 'BR'), 'PAG*JOAODASILVA'],
    // 39 and 41 characters are not DE 43 fields: the whole text is the name.
    [de43('UBER EATS', 'SAO PAULO', 'B'.repeat(2)).slice(0, 39), 'UBER EATS SAO PAULO B'],
    [`${de43('UBER EATS', 'SAO PAULO', 'BR')}X`, 'UBER EATS SAO PAULO BRX'],
  ])('normalizes %o to %o', (raw, name) => {
    expect(normalizeMerchantName(raw)).toBe(name);
  });

  it('applies the 40-character rule to the raw field, before collapsing spaces', () => {
    const field = de43('  uber    eats', 'curitiba', 'br');
    expect(field).toHaveLength(40);
    expect(normalizeMerchantName(field)).toBe('UBER EATS');
    // The same text with one space fewer is not a DE 43 field: the city stays in the name.
    expect(normalizeMerchantName(field.slice(1))).toBe('UBER EATS CURITIBA BR');
  });

  it('is idempotent on anything but a 40-character field', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (raw) => {
        const once = normalizeMerchantName(raw);
        fc.pre(Array.from(once).length !== 40);
        expect(normalizeMerchantName(once)).toBe(once);
        expect(once).toBe(once.trim());
        expect(once).not.toMatch(/\s{2}/);
      }),
    );
  });
});

describe('normalizeRuleMatch and parseRuleMatch', () => {
  it('normalizes without the 40-character rule', () => {
    const forty = de43('UBER EATS', 'SAO PAULO', 'BR');
    expect(normalizeRuleMatch(forty)).toBe('UBER EATS SAO PAULO BR');
    expect(normalizeRuleMatch(' ifd* ')).toBe('IFD*');
  });

  it.each([
    ['UBER EATS', 'UBER EATS'],
    ['  uber   eats ', 'UBER EATS'],
    ['ifd*', 'IFD*'],
    ['PICPAY*BILHETEUNICO', 'PICPAY*BILHETEUNICO'],
  ])('accepts %o as %o', (input, match) => {
    expect(parseRuleMatch(input)).toEqual({ ok: true, value: match });
  });

  it.each<unknown>(['', '   ', '*', ' * ', 'x'.repeat(256), null, 7, { match: 'UBER' }])('rejects %o', (input) => {
    expect(parseRuleMatch(input).ok).toBe(false);
  });
});

describe('matchMerchantRule', () => {
  const rules: MerchantRule[] = [
    ...DEFAULT_MERCHANT_RULES,
    { match: 'UBER', category: 'FOOD' },
    { match: 'IFD*', category: 'MEAL' },
    { match: 'PAG*', category: 'FOOD' },
  ];
  const find = (raw: string) => matchMerchantRule(normalizeMerchantName(raw), rules)?.match;

  it.each([
    ['UBER EATS', 'UBER EATS'],
    ['UBER EATS SAO PAULO BR', 'UBER EATS'],
    [de43('UBER EATS', 'SAO PAULO', 'BR'), 'UBER EATS'],
    ['uber  eats  curitiba', 'UBER EATS'],
    ['UBER TRIP', 'UBER TRIP'],
    ['UBER', 'UBER'],
    ['UBER *TRIP', 'UBER'],
    ['UBER EATSY', 'UBER'],
    ['IFD*RESTAURANTE X', 'IFD*'],
    ['IFD*', 'IFD*'],
    ['PAG*JOAODASILVA', 'PAG*'],
    ['PICPAY*BILHETEUNICO', 'PICPAY*BILHETEUNICO'],
    ['PICPAY*BILHETEUNICO SAO PAULO', 'PICPAY*BILHETEUNICO'],
  ])('%o matches %o', (raw, match) => {
    expect(find(raw)).toBe(match);
  });

  it.each(['UBERLANDIA', 'UBEREATS', 'IFDXYZ', 'IFD', 'XIFD*A', 'PICPAY*BILHETEUNICOX', 'PICPAY*OUTRO', 'PADARIA'])(
    '%o matches nothing',
    (raw) => {
      expect(find(raw)).toBeUndefined();
    },
  );

  it('lets the longest match win whatever the order of the rules', () => {
    const short: MerchantRule = { match: 'UBER', category: 'FOOD' };
    const long: MerchantRule = { match: 'UBER EATS', category: 'MEAL' };
    expect(matchMerchantRule('UBER EATS SP', [short, long])).toBe(long);
    expect(matchMerchantRule('UBER EATS SP', [long, short])).toBe(long);
  });

  it('breaks a tie between rules with the same match by taking the first', () => {
    const first: MerchantRule = { match: 'UBER EATS', category: 'MEAL' };
    const second: MerchantRule = { match: 'uber  eats', category: 'FOOD' };
    expect(matchMerchantRule('UBER EATS', [first, second])).toBe(first);
    expect(matchMerchantRule('UBER EATS', [second, first])).toBe(second);
  });

  it('matches nothing with no rules', () => {
    expect(matchMerchantRule('UBER EATS', [])).toBeUndefined();
  });

  it('only ever returns a rule whose match is a prefix of the name at a word boundary or star', () => {
    const word = fc.stringMatching(/^[A-C*]{1,3}$/);
    const text = fc.array(word, { minLength: 1, maxLength: 4 }).map((words) => words.join(' '));
    const category = fc.constantFrom<Category>('FOOD', 'MEAL', 'CASH');
    const ruleArb = fc.record({ match: text, category });
    fc.assert(
      fc.property(text, fc.array(ruleArb, { maxLength: 6 }), (name, someRules) => {
        const found = matchMerchantRule(name, someRules);
        const matching = someRules.filter(
          (r) =>
            name === r.match ||
            name.startsWith(`${r.match} `) ||
            (r.match.endsWith('*') && name.startsWith(r.match)),
        );
        if (matching.length === 0) {
          expect(found).toBeUndefined();
        } else {
          const longest = Math.max(...matching.map((r) => r.match.length));
          expect(found).toBe(matching.find((r) => r.match.length === longest));
        }
      }),
    );
  });
});

describe('DEFAULT_MERCHANT_RULES', () => {
  it('holds the seeded defaults, normalized and frozen', () => {
    expect(DEFAULT_MERCHANT_RULES).toEqual([
      { match: 'UBER EATS', category: 'MEAL' },
      { match: 'UBER TRIP', category: 'CASH' },
      { match: 'PICPAY*BILHETEUNICO', category: 'CASH' },
    ]);
    for (const rule of DEFAULT_MERCHANT_RULES) {
      expect(parseRuleMatch(rule.match)).toEqual({ ok: true, value: rule.match });
    }
    expect(Object.isFrozen(DEFAULT_MERCHANT_RULES)).toBe(true);
  });
});

describe('merchant and match refusals, word for word', () => {
  it('parseMerchant names each problem', () => {
    expect(parseMerchant('A\ud800B')).toEqual({ ok: false, error: 'merchant must not contain unpaired surrogates' });
    expect(parseMerchant('  \t ')).toEqual({ ok: false, error: 'merchant must not be blank' });
    expect(parseMerchant('A\u0001B')).toEqual({ ok: false, error: 'merchant must not contain control characters' });
    expect(parseMerchant('A'.repeat(256))).toEqual({ ok: false, error: 'merchant must be at most 255 characters' });
  });

  it('parseRuleMatch names each problem, including a DE 43 field whose name part is blank', () => {
    expect(parseRuleMatch(7)).toEqual({ ok: false, error: 'match must be a string' });
    expect(parseRuleMatch('')).toEqual({ ok: false, error: 'match must not be blank' });
    const city = 'SAO PAULO BR'.padEnd(15);
    expect(parseRuleMatch(' '.repeat(25) + city)).toEqual({ ok: false, error: 'match must not be blank' });
    expect(parseRuleMatch('\u200b'.repeat(25) + city)).toEqual({ ok: false, error: 'match must not be blank' });
    expect(parseRuleMatch('*')).toEqual({ ok: false, error: 'match must not be only "*"' });
  });

  it('a rule whose match normalizes to nothing matches no name, not even an empty one', () => {
    expect(matchMerchantRule('', [{ match: '   ', category: 'MEAL' }])).toBeUndefined();
  });
});
