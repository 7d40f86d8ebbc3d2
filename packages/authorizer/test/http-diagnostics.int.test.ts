/**
 * `POST /transactions` says why a request is invalid in the `Catraca-Error` header, while the body stays exactly
 * `{"code":"07"}` (SPEC §1). Each reason is asserted word for word: a client's logs are only as good as this text.
 * In-process (app.callback() on a temporary SQLite file), so the mutation run executes it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authorize, createAccount, embeddedRuntime } from './helpers.js';

let rt: Awaited<ReturnType<typeof embeddedRuntime>>;

beforeAll(async () => {
  rt = await embeddedRuntime();
  await createAccount(rt, 'acc-1', { FOOD: '100.00', MEAL: '50.00', CASH: '30.00' });
});
afterAll(async () => {
  await rt.dispose();
});

const body = { account: 'acc-1', totalAmount: '1.00', mcc: '5411', merchant: 'PADARIA' };

describe('Catraca-Error names what is wrong', () => {
  it.each<[string, unknown, string]>([
    ['not JSON', '{"account":', 'body is not valid JSON'],
    ['an empty body', '', 'body is empty'],
    ['an array', '[1]', 'body must be a JSON object'],
    ['no account', { ...body, account: undefined }, 'account is required'],
    ['no amount', { ...body, totalAmount: undefined }, 'totalAmount is required'],
    ['two accounts', { ...body, accountId: 'acc-2' }, 'account and accountId differ; send one of them'],
    ['a bad mcc', { ...body, mcc: '54x1' }, 'mcc: mcc must be exactly 4 digits'],
    ['a blank merchant', { ...body, merchant: ' ' }, 'merchant: merchant must not be blank'],
  ])('%s', async (_name, payload, reason) => {
    const reply = await authorize(rt, payload);
    expect(reply.status).toBe(200);
    expect(reply.body).toBe('{"code":"07"}');
    expect(reply.headers['catraca-error']).toBe(reason);
    expect(reply.headers['catraca-reason']).toBe('invalid_request');
    expect(reply.headers['catraca-transaction-id']).toBeUndefined();
    expect(reply.headers['catraca-replayed']).toBeUndefined();
  });

  it('a valid request carries no Catraca-Error, and a first answer is not marked replayed', async () => {
    const reply = await authorize(rt, { ...body, id: 'diag-1' });
    expect(reply.body).toBe('{"code":"00"}');
    expect(reply.headers['catraca-error']).toBeUndefined();
    expect(reply.headers['catraca-reason']).toBe('approved');
    expect(reply.headers['catraca-transaction-id']).toBe('diag-1');
    expect(reply.headers['catraca-replayed']).toBeUndefined();
  });
});
