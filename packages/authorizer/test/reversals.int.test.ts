import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { assertLedgerMatches, authorize, call, createAccount, embeddedRuntime, type Reply } from './helpers.js';

/*
 * SPEC §2.7 through HTTP, row by row, on the embedded runtime (SQLite, in-process lock). Every test ends with the
 * ledger check: starting balance + credits − approved debits + reversals = balance, per category.
 */

type R = Awaited<ReturnType<typeof embeddedRuntime>>;
let rt: R;

beforeEach(async () => {
  rt = await embeddedRuntime();
  await createAccount(rt, 'acc-1', { FOOD: '100.00', MEAL: '50.00', CASH: '30.00' });
  await createAccount(rt, 'acc-2', { FOOD: '100.00', MEAL: '0', CASH: '0' });
});
afterEach(async () => {
  await assertLedgerMatches(rt, 'acc-1');
  await assertLedgerMatches(rt, 'acc-2');
  await rt.dispose();
});

const purchase = (id: string, totalAmount: string, mcc = '5411', account = 'acc-1', merchant = 'PADARIA DO ZE') =>
  authorize(rt, { id, account, totalAmount, mcc, merchant });
const reverse = (body: Record<string, unknown>) => call(rt, 'POST', '/reversals', body);
const balances = async (account = 'acc-1') => (await call(rt, 'GET', `/accounts/${account}`)).json().balances;

function expectAnswer(reply: Reply, code: '00' | '51' | '07', reason: string): void {
  expect(reply.status).toBe(200);
  expect(reply.body).toBe(`{"code":"${code}"}`);
  expect(reply.headers['catraca-reason']).toBe(reason);
}

describe('POST /reversals: full and partial', () => {
  it('without an amount gives the whole purchase back to the category it debited', async () => {
    expectAnswer(await purchase('tx-1', '10.00'), '00', 'approved');
    const reply = await reverse({ id: 'rev-1', original: 'tx-1', account: 'acc-1' });
    expectAnswer(reply, '00', 'reversed');
    expect(reply.headers['catraca-transaction-id']).toBe('rev-1');
    expect(reply.headers['catraca-replayed']).toBeUndefined();
    expect(await balances()).toEqual({ FOOD: '100.00', MEAL: '50.00', CASH: '30.00' });
  });

  it('partial reversals add up to at most the purchase; over the remaining amount is 07 and changes nothing', async () => {
    expectAnswer(await purchase('tx-1', '10.00'), '00', 'approved');
    expectAnswer(await reverse({ id: 'rev-1', original: 'tx-1', account: 'acc-1', amount: '4.00' }), '00', 'reversed');
    expectAnswer(await reverse({ id: 'rev-2', original: 'tx-1', accountId: 'acc-1', amount: 3.5 }), '00', 'reversed');
    expect((await balances()).FOOD).toBe('97.50');
    expectAnswer(await reverse({ id: 'rev-3', original: 'tx-1', account: 'acc-1', amount: '2.51' }), '07', 'exceeds_remaining');
    expect((await balances()).FOOD).toBe('97.50');
    expectAnswer(await reverse({ id: 'rev-4', original: 'tx-1', account: 'acc-1' }), '00', 'reversed');
    expect((await balances()).FOOD).toBe('100.00');
    // Nothing left: without an amount that is 00, with one it is over the remaining amount.
    expectAnswer(await reverse({ id: 'rev-5', original: 'tx-1', account: 'acc-1' }), '00', 'nothing_to_reverse');
    expectAnswer(await reverse({ id: 'rev-6', original: 'tx-1', account: 'acc-1', amount: '0.01' }), '07', 'exceeds_remaining');
    expect((await balances()).FOOD).toBe('100.00');
  });

  it('goes back to the applied category: the CASH fallback, and a merchant rule over the MCC', async () => {
    // MEAL has 50.00: a 60.00 MEAL purchase cannot come from it; CASH (30.00) cannot cover it either → 51.
    expectAnswer(await purchase('tx-big', '60.00', '5811'), '51', 'insufficient_funds');
    // 20.00 MEAL after MEAL was drained goes to CASH.
    expectAnswer(await purchase('tx-meal', '50.00', '5811'), '00', 'approved');
    expectAnswer(await purchase('tx-cash', '20.00', '5811'), '00', 'approved');
    expect(await balances()).toEqual({ FOOD: '100.00', MEAL: '0.00', CASH: '10.00' });
    expectAnswer(await reverse({ id: 'rev-1', original: 'tx-cash', account: 'acc-1', amount: '5.00' }), '00', 'reversed');
    expect(await balances()).toEqual({ FOOD: '100.00', MEAL: '0.00', CASH: '15.00' });
    // UBER EATS is MEAL by rule whatever the MCC says.
    expectAnswer(await purchase('tx-uber', '1.00', '5411', 'acc-1', 'UBER EATS SAO PAULO BR'), '00', 'approved');
    expect((await balances()).CASH).toBe('14.00');
    expectAnswer(await reverse({ id: 'rev-2', original: 'tx-uber', account: 'acc-1' }), '00', 'reversed');
    expect((await balances()).CASH).toBe('15.00');
  });
});

describe('POST /reversals: idempotent by its own id', () => {
  it('the same id and payload get the first answer, applied once; another payload is 07 id_conflict', async () => {
    expectAnswer(await purchase('tx-1', '10.00'), '00', 'approved');
    const body = { id: 'rev-1', original: 'tx-1', account: 'acc-1', amount: '4.00' };
    expectAnswer(await reverse(body), '00', 'reversed');
    const again = await reverse({ ...body, amount: 4 });
    expectAnswer(again, '00', 'reversed');
    expect(again.headers['catraca-replayed']).toBe('true');
    expectAnswer(await reverse({ ...body, amount: '5.00' }), '07', 'id_conflict');
    expectAnswer(await reverse({ id: 'rev-1', original: 'tx-1', account: 'acc-1' }), '07', 'id_conflict');
    expect((await balances()).FOOD).toBe('94.00');
    // The first answer is remembered even when the cache forgot it.
    await rt.cache.delete('tx:rev-1');
    expectAnswer(await reverse(body), '00', 'reversed');
    expect((await balances()).FOOD).toBe('94.00');
  });

  it('a reversal id that is a purchase id is 07 id_conflict, and so is a purchase id that is a reversal id', async () => {
    expectAnswer(await purchase('tx-1', '10.00'), '00', 'approved');
    expectAnswer(await reverse({ id: 'tx-1', original: 'tx-0', account: 'acc-1' }), '07', 'id_conflict');
    expectAnswer(await reverse({ id: 'rev-1', original: 'tx-1', account: 'acc-1', amount: '1.00' }), '00', 'reversed');
    expectAnswer(await purchase('rev-1', '1.00'), '07', 'id_conflict');
    expect((await balances()).FOOD).toBe('91.00');
  });
});

describe('POST /reversals: refused with 07, nothing changes', () => {
  it('a purchase of another account', async () => {
    expectAnswer(await purchase('tx-2', '10.00', '5411', 'acc-2'), '00', 'approved');
    expectAnswer(await reverse({ id: 'rev-1', original: 'tx-2', account: 'acc-1' }), '07', 'account_mismatch');
    expect((await balances('acc-2')).FOOD).toBe('90.00');
    expect((await balances()).FOOD).toBe('100.00');
  });

  it('an unknown account, and an original that is not a purchase', async () => {
    expectAnswer(await reverse({ id: 'rev-1', original: 'tx-1', account: 'nobody' }), '07', 'unknown_account');
    expect((await call(rt, 'POST', '/accounts/acc-1/credits', { id: 'cr-1', category: 'MEAL', amount: '5.00' })).status).toBe(201);
    expectAnswer(await reverse({ id: 'rev-2', original: 'cr-1', account: 'acc-1' }), '07', 'not_reversible');
    expect((await balances()).MEAL).toBe('55.00');
  });

  const invalid: Array<[string, unknown]> = [
    ['malformed JSON', '{"id": "rev-1",'],
    ['not an object', '[1]'],
    ['no id', { original: 'tx-1', account: 'acc-1' }],
    ['no original', { id: 'rev-1', account: 'acc-1' }],
    ['no account', { id: 'rev-1', original: 'tx-1' }],
    ['account and accountId differ', { id: 'rev-1', original: 'tx-1', account: 'acc-1', accountId: 'acc-2' }],
    ['its own original', { id: 'rev-1', original: 'rev-1', account: 'acc-1' }],
    ['amount 0', { id: 'rev-1', original: 'tx-1', account: 'acc-1', amount: '0.00' }],
    ['negative amount', { id: 'rev-1', original: 'tx-1', account: 'acc-1', amount: -1 }],
    ['3 decimals', { id: 'rev-1', original: 'tx-1', account: 'acc-1', amount: '1.001' }],
    ['bad original id', { id: 'rev-1', original: 'a b', account: 'acc-1' }],
  ];
  it('says what is wrong in Catraca-Error', async () => {
    const reply = await reverse({ id: 'rev-1', original: 'rev-1', account: 'acc-1' });
    expect(reply.headers['catraca-error']).toBe('a reversal cannot be its own original');
  });

  it.each(invalid)('invalid: %s', async (_name, body) => {
    expectAnswer(await purchase('tx-1', '10.00'), '00', 'approved');
    const reply = await call(rt, 'POST', '/reversals', body);
    expectAnswer(reply, '07', 'invalid_request');
    expect(reply.headers['catraca-error']).toBeDefined();
    expect(reply.headers['catraca-transaction-id']).toBeUndefined();
    expect(reply.headers['catraca-replayed']).toBeUndefined();
    expect((await balances()).FOOD).toBe('90.00');
  });
});

describe('reversal before purchase: acknowledged, recorded, and the purchase refused with 07 reversed', () => {
  it('an unknown original: 00 original_unknown; the purchase arriving later (and its retries) is 07 reversed', async () => {
    expectAnswer(await reverse({ id: 'rev-1', original: 'tx-late', account: 'acc-1', amount: '10.00' }), '00', 'original_unknown');
    expect(await balances()).toEqual({ FOOD: '100.00', MEAL: '50.00', CASH: '30.00' });
    for (let i = 0; i < 2; i += 1) expectAnswer(await purchase('tx-late', '10.00'), '07', 'reversed');
    expect(await balances()).toEqual({ FOOD: '100.00', MEAL: '50.00', CASH: '30.00' });
    // Another reversal of it is acknowledged too, and the reversal's own replay keeps its first answer.
    expectAnswer(await reverse({ id: 'rev-2', original: 'tx-late', account: 'acc-1' }), '00', 'original_unknown');
    expectAnswer(await reverse({ id: 'rev-1', original: 'tx-late', account: 'acc-1', amount: '10.00' }), '00', 'original_unknown');
    // The id is spent on this account only: another account's purchase with it is its own.
    expectAnswer(await purchase('tx-late', '10.00', '5411', 'acc-2'), '00', 'approved');
  });

  it('a declined original: 00 nothing_to_reverse; a retry of the purchase keeps its first answer', async () => {
    expectAnswer(await purchase('tx-1', '500.00'), '51', 'insufficient_funds');
    expectAnswer(await reverse({ id: 'rev-1', original: 'tx-1', account: 'acc-1' }), '00', 'nothing_to_reverse');
    expectAnswer(await reverse({ id: 'rev-2', original: 'tx-1', account: 'acc-1', amount: '500.00' }), '00', 'nothing_to_reverse');
    expectAnswer(await purchase('tx-1', '500.00'), '51', 'insufficient_funds');
    expect(await balances()).toEqual({ FOOD: '100.00', MEAL: '50.00', CASH: '30.00' });
  });

  it('an original answered 07 (unknown account, invalid): acknowledged; the purchase is refused later', async () => {
    expectAnswer(await purchase('tx-1', '10.00', '5411', 'acc-9'), '07', 'unknown_account');
    expectAnswer(await reverse({ id: 'rev-1', original: 'tx-1', account: 'acc-1' }), '00', 'original_unknown');
    expectAnswer(await purchase('tx-1', '10.00'), '07', 'reversed');
    expect((await balances()).FOOD).toBe('100.00');
  });
});

describe('history and balance inquiry', () => {
  it('GET /accounts/:id/transactions links reversals to their purchase and shows what remains', async () => {
    expectAnswer(await purchase('tx-1', '10.00'), '00', 'approved');
    expectAnswer(await purchase('tx-2', '1.00'), '00', 'approved');
    expectAnswer(await reverse({ id: 'rev-1', original: 'tx-1', account: 'acc-1', amount: '4.00' }), '00', 'reversed');
    expectAnswer(await reverse({ id: 'rev-0', original: 'tx-0', account: 'acc-1' }), '00', 'original_unknown');
    const items = (await call(rt, 'GET', '/accounts/acc-1/transactions')).json().items as Array<Record<string, unknown>>;
    expect(items.map((i) => i['id'])).toEqual(['rev-0', 'rev-1', 'tx-2', 'tx-1']);
    expect(items[0]).toMatchObject({ kind: 'reversal', original: 'tx-0', amount: '0.00', reason: 'original_unknown', category: null });
    expect(items[1]).toMatchObject({ kind: 'reversal', original: 'tx-1', amount: '4.00', appliedCategory: 'FOOD', reason: 'reversed' });
    expect(items[2]).toMatchObject({ kind: 'debit', reversals: [], remaining: '1.00' });
    expect(items[3]).toMatchObject({ kind: 'debit', reversals: ['rev-1'], remaining: '6.00' });
    // A page that holds the purchase but not its reversal still knows.
    const older = (await call(rt, 'GET', '/accounts/acc-1/transactions?limit=1&cursor=2')).json().items;
    expect(older).toEqual([expect.objectContaining({ id: 'tx-1', reversals: ['rev-1'], remaining: '6.00' })]);
  });

  it('GET /accounts/:id/balance answers the balances; 404 for an unknown account', async () => {
    expectAnswer(await purchase('tx-1', '10.25'), '00', 'approved');
    const reply = await call(rt, 'GET', '/accounts/acc-1/balance');
    expect(reply.status).toBe(200);
    expect(reply.json()).toEqual({ id: 'acc-1', balances: { FOOD: '89.75', MEAL: '50.00', CASH: '30.00' } });
    const unknown = await call(rt, 'GET', '/accounts/nobody/balance');
    expect([unknown.status, unknown.json().message]).toEqual([404, 'no such account']);
    const bad = await call(rt, 'GET', '/accounts/a%20b/balance');
    expect([bad.status, bad.json().message]).toEqual([404, 'no such account']);
  });

  it('GET /accounts/:id/balance answers 503 when the store cannot', async () => {
    const other = await embeddedRuntime();
    try {
      await createAccount(other, 'acc-1', { FOOD: '1.00' });
      await other.store.close();
      const reply = await call(other, 'GET', '/accounts/acc-1/balance');
      expect([reply.status, reply.json().message]).toEqual([503, 'unavailable']);
    } finally {
      await other.dispose();
    }
  });

  it('counts reversals by outcome, and documents both routes in OpenAPI', async () => {
    expectAnswer(await purchase('tx-1', '10.00'), '00', 'approved');
    await reverse({ id: 'rev-1', original: 'tx-1', account: 'acc-1' });
    await reverse({ id: 'rev-2', original: 'tx-1', account: 'acc-1', amount: '1.00' });
    const metrics = (await call(rt, 'GET', '/metrics')).body;
    expect(metrics).toContain('catraca_reversals_total{code="00",reason="reversed"} 1');
    expect(metrics).toContain('catraca_reversals_total{code="07",reason="exceeds_remaining"} 1');
    expect(metrics).toMatch(/catraca_http_request_duration_seconds_count\{method="POST",route="\/reversals",status="200",code="07",reason="exceeds_remaining"\} 1/);
    const doc = (await call(rt, 'GET', '/openapi.json')).json();
    expect(doc.paths['/reversals'].post).toBeDefined();
    expect(doc.paths['/accounts/{id}/balance'].get).toBeDefined();
    expect(doc.components.schemas.ReversalRequest.properties.original).toBeDefined();
  });
});
