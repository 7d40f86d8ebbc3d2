import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseAmount } from './money.js';
import { parseMcc } from './mcc.js';
import { canonicalCreditPayload, canonicalDebitPayload, canonicalReversalPayload, payloadHash } from './payload.js';

function parsed<T>(result: { ok: true; value: T } | { ok: false; error: string }): T {
  if (!result.ok) throw new Error(result.error);
  return result.value;
}

function debitHash(amount: unknown, mcc: unknown, merchant = 'UBER EATS', accountId = 'acc-1'): string {
  return payloadHash(
    canonicalDebitPayload({ accountId, amount: parsed(parseAmount(amount)), mcc: parsed(parseMcc(mcc)), merchant }),
  );
}

describe('payload hashes', () => {
  it('are lower-case hex sha256', () => {
    expect(payloadHash('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(debitHash(1, '5411')).toMatch(/^[0-9a-f]{64}$/);
  });

  it('are equal for every spelling of one debit', () => {
    const reference = debitHash('100.10', '0742');
    expect(debitHash('100.1', '0742')).toBe(reference);
    expect(debitHash(100.1, '0742')).toBe(reference);
    expect(debitHash(JSON.parse('100.10') as number, 742)).toBe(reference);
  });

  it('differ when any debit field differs', () => {
    const reference = debitHash('100.10', '5411');
    expect(debitHash('100.11', '5411')).not.toBe(reference);
    expect(debitHash('100.10', '5412')).not.toBe(reference);
    expect(debitHash('100.10', '5411', 'UBER EATS ')).not.toBe(reference);
    expect(debitHash('100.10', '5411', 'UBER EATS', 'acc-2')).not.toBe(reference);
  });

  it('keep field boundaries whatever the text holds', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.string(), fc.string(), (a1, m1, a2, m2) => {
        fc.pre(a1 !== a2 || m1 !== m2);
        const one = canonicalDebitPayload({ accountId: a1, amount: 1, mcc: '5411', merchant: m1 });
        const two = canonicalDebitPayload({ accountId: a2, amount: 1, mcc: '5411', merchant: m2 });
        expect(one).not.toBe(two);
      }),
    );
  });

  it('never give a credit and a debit the same canonical text', () => {
    const debit = canonicalDebitPayload({ accountId: 'acc-1', amount: 500, mcc: '5411', merchant: 'FOOD' });
    const credit = canonicalCreditPayload({ accountId: 'acc-1', category: 'FOOD', amount: 500 });
    expect(debit).not.toBe(credit);
    expect(payloadHash(debit)).not.toBe(payloadHash(credit));
  });

  it('distinguish credits by account, category and amount', () => {
    const reference = canonicalCreditPayload({ accountId: 'acc-1', category: 'MEAL', amount: 500 });
    expect(canonicalCreditPayload({ accountId: 'acc-1', category: 'MEAL', amount: parsed(parseAmount('5.00')) })).toBe(
      reference,
    );
    expect(canonicalCreditPayload({ accountId: 'acc-1', category: 'FOOD', amount: 500 })).not.toBe(reference);
    expect(canonicalCreditPayload({ accountId: 'acc-1', category: 'MEAL', amount: 501 })).not.toBe(reference);
    expect(canonicalCreditPayload({ accountId: 'acc-2', category: 'MEAL', amount: 500 })).not.toBe(reference);
  });

  it('refuse an amount that is not integer centavos', () => {
    const debit = { accountId: 'a', amount: 100.1, mcc: '5411', merchant: 'x' };
    expect(() => canonicalDebitPayload(debit)).toThrow(RangeError);
    expect(() => canonicalCreditPayload({ accountId: 'a', category: 'CASH', amount: -1 })).toThrow(RangeError);
  });
});

// Stored records keep the hash of this text: a change of format would silently turn every retry of an existing id
// into an id_conflict. The texts and hashes are pinned.
describe('canonical payload text (pinned)', () => {
  it('of a debit', () => {
    const text = canonicalDebitPayload({ accountId: 'acc-1', amount: 10010, mcc: '0742', merchant: 'UBER EATS' });
    expect(text).toBe('["debit","acc-1",10010,"0742","UBER EATS"]');
    expect(payloadHash(text)).toBe('769d9a1c282caaa491e51a1aec0d88c186d40f3c17642fd7512d23deac6a3d95');
  });

  it('of a credit', () => {
    expect(canonicalCreditPayload({ accountId: 'acc-1', category: 'MEAL', amount: 50050 })).toBe(
      '["credit","acc-1","MEAL",50050]',
    );
  });

  it('takes zero centavos and refuses what is not integer centavos, naming the value', () => {
    expect(canonicalCreditPayload({ accountId: 'a', category: 'CASH', amount: 0 })).toBe('["credit","a","CASH",0]');
    expect(() => canonicalDebitPayload({ accountId: 'a', amount: -1, mcc: '5411', merchant: 'm' })).toThrow(
      new RangeError('amount must be integer centavos, got -1'),
    );
    expect(() => canonicalCreditPayload({ accountId: 'a', category: 'CASH', amount: 1.5 })).toThrow(
      new RangeError('amount must be integer centavos, got 1.5'),
    );
  });
});

describe('canonicalReversalPayload', () => {
  it('is pinned: a format change would change every stored reversal hash', () => {
    expect(canonicalReversalPayload({ accountId: 'acc-1', originalId: 'tx-1', amount: 10010 })).toBe('["reversal","acc-1","tx-1",10010]');
    // "All that remains" is another request than any explicit amount.
    expect(canonicalReversalPayload({ accountId: 'acc-1', originalId: 'tx-1', amount: undefined })).toBe('["reversal","acc-1","tx-1",null]');
    expect(() => canonicalReversalPayload({ accountId: 'a', originalId: 't', amount: 1.5 })).toThrow(RangeError);
    expect(canonicalReversalPayload({ accountId: 'a', originalId: 't', amount: 0 })).toBe('["reversal","a","t",0]');
  });
});
