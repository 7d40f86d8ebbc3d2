import { describe, expect, it } from 'vitest';
import { parseTransactionRequest } from './transaction-request.js';

const valid = { id: 't1', account: 'acc-1', totalAmount: '100.10', mcc: '5811', merchant: 'PADARIA DO ZE' };

function reason(body: unknown): string {
  const parsed = parseTransactionRequest(body);
  if (parsed.ok) throw new Error(`expected a refusal, got ${JSON.stringify(parsed.value)}`);
  return parsed.error;
}

describe('parseTransactionRequest', () => {
  it('turns a valid body into a debit request in centavos', () => {
    expect(parseTransactionRequest(valid)).toEqual({
      ok: true,
      value: { id: 't1', accountId: 'acc-1', amount: 10010, mcc: '5811', merchant: 'PADARIA DO ZE' },
    });
  });

  it('accepts either spelling of account and amount, and both when they agree', () => {
    const { account: _a, totalAmount: _t, ...rest } = valid;
    const alias = parseTransactionRequest({ ...rest, accountId: 'acc-2', amount: 5 });
    expect(alias).toEqual({ ok: true, value: { id: 't1', accountId: 'acc-2', amount: 500, mcc: '5811', merchant: 'PADARIA DO ZE' } });
    const both = parseTransactionRequest({ ...valid, accountId: 'acc-1', amount: '100.10' });
    expect(both.ok && both.value.accountId).toBe('acc-1');
    expect(both.ok && both.value.amount).toBe(10010);
  });

  it('leaves a missing id undefined (the server makes one)', () => {
    const { id: _id, ...rest } = valid;
    const parsed = parseTransactionRequest(rest);
    expect(parsed.ok && parsed.value.id).toBeUndefined();
  });

  it('refuses what is not a JSON object', () => {
    for (const body of [null, undefined, 'x', 42, true, [valid]]) expect(reason(body)).toBe('body must be a JSON object');
  });

  it('names the field whose shape is wrong', () => {
    expect(reason({ ...valid, account: 'a/b' })).toMatch(/^account: must be 1-64 characters/);
    expect(reason({ ...valid, mcc: 58.11 })).toMatch(/^mcc: /);
    expect(reason({ ...valid, merchant: 7 })).toMatch(/^merchant: /);
    expect(reason({ ...valid, totalAmount: true })).toMatch(/^totalAmount: /);
  });

  it('refuses two different values for one field', () => {
    expect(reason({ ...valid, accountId: 'acc-2' })).toBe('account and accountId differ; send one of them');
    expect(reason({ ...valid, amount: '100.11' })).toBe('totalAmount and amount differ; send one of them');
  });

  it('requires an account and an amount', () => {
    const { account: _a, ...noAccount } = valid;
    expect(reason(noAccount)).toBe('account is required');
    const { totalAmount: _t, ...noAmount } = valid;
    expect(reason(noAmount)).toBe('totalAmount is required');
  });

  it('prefixes the domain parsers\' reasons with the field', () => {
    expect(reason({ ...valid, totalAmount: '1.001' })).toMatch(/^totalAmount: amount /);
    expect(reason({ ...valid, totalAmount: '0' })).toMatch(/^totalAmount: /);
    expect(reason({ ...valid, mcc: '58a1' })).toBe('mcc: mcc must be exactly 4 digits');
    expect(reason({ ...valid, merchant: '   ' })).toBe('merchant: merchant must not be blank');
  });
});
