import { describe, expect, it } from 'vitest';
import { bodyShape, either } from './body-fields.js';
import { parseReversalRequest } from './reversal-request.js';
import { reversalBodySchema } from './schemas.js';

const valid = { id: 'rev-1', original: 'tx-1', account: 'acc-1' };

describe('parseReversalRequest', () => {
  it('parses a full and a partial reversal, either spelling of the account', () => {
    expect(parseReversalRequest(valid)).toEqual({
      ok: true,
      value: { id: 'rev-1', accountId: 'acc-1', originalId: 'tx-1', amount: undefined },
    });
    const { account: _a, ...noAccount } = valid;
    expect(parseReversalRequest({ ...noAccount, accountId: 'acc-2', amount: '10.05' })).toEqual({
      ok: true,
      value: { id: 'rev-1', accountId: 'acc-2', originalId: 'tx-1', amount: 1_005 },
    });
    expect(parseReversalRequest({ ...valid, accountId: 'acc-1', amount: 3 })).toMatchObject({ ok: true, value: { amount: 300 } });
  });

  it('says exactly what is wrong (the Catraca-Error header)', () => {
    const { account: _a, ...noAccount } = valid;
    const cases: Array<[unknown, string]> = [
      [null, 'body must be a JSON object'],
      [[valid], 'body must be a JSON object'],
      ['rev-1', 'body must be a JSON object'],
      [{ ...valid, id: undefined }, 'id: Invalid input: expected string, received undefined'],
      [{ ...valid, original: 'a b' }, 'original: must be 1-64 characters of A-Z a-z 0-9 . _ : -'],
      [noAccount, 'account is required'],
      [{ ...valid, accountId: 'acc-2' }, 'account and accountId differ; send one of them'],
      [{ ...valid, original: 'rev-1' }, 'a reversal cannot be its own original'],
      [{ ...valid, amount: '0.00' }, 'amount: amount must be greater than zero'],
    ];
    for (const [body, error] of cases) expect(parseReversalRequest(body)).toEqual({ ok: false, error });
  });
});

describe('bodyShape and either', () => {
  it('names the field of the first issue, or the body itself', () => {
    expect(bodyShape(reversalBodySchema, { ...valid, amount: true })).toEqual({
      ok: false,
      error: 'amount: Invalid input',
    });
    expect(bodyShape(reversalBodySchema.refine(() => false, 'never'), valid)).toEqual({ ok: false, error: 'body: never' });
  });

  it('accepts one spelling or two that agree', () => {
    expect(either('a', 1, 'b', undefined)).toEqual({ ok: true, value: 1 });
    expect(either('a', undefined, 'b', 2)).toEqual({ ok: true, value: 2 });
    expect(either('a', 3, 'b', 3)).toEqual({ ok: true, value: 3 });
    expect(either('a', undefined, 'b', undefined)).toEqual({ ok: true, value: undefined });
    expect(either('a', 1, 'b', 2)).toEqual({ ok: false, error: 'a and b differ; send one of them' });
  });
});
