import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/config.js';
import { createRuntime } from '../src/runtime.js';
import { assertLedgerMatches, authorize, call, createAccount, embeddedRuntime, silent } from './helpers.js';

type R = Awaited<ReturnType<typeof embeddedRuntime>>;
let rt: R;

beforeEach(async () => {
  rt = await embeddedRuntime();
  await createAccount(rt, 'acc-1', { FOOD: '100.00', MEAL: '50.00', CASH: '30.00' });
});
afterEach(async () => {
  await rt.dispose();
});

const valid = { id: 'tx-1', account: 'acc-1', totalAmount: '10.00', mcc: '5411', merchant: 'PADARIA DO ZE SAO PAULO BR' };

async function balances() {
  return (await call(rt, 'GET', '/accounts/acc-1')).json();
}

describe('POST /transactions: bad input is 07 invalid_request and changes nothing', () => {
  const { id: _id, ...noId } = valid;
  const cases: Array<[string, unknown]> = [
    ['malformed JSON', '{"account": "acc-1",'],
    ['empty body', ''],
    ['{}', {}],
    ['an array', [valid]],
    ['null', 'null'],
    ['a string', '"hello"'],
    ['missing account', { ...noId, account: undefined }],
    ['missing amount', { ...noId, totalAmount: undefined }],
    ['missing mcc', { ...noId, mcc: undefined }],
    ['missing merchant', { ...noId, merchant: undefined }],
    ['amount 0', { ...noId, totalAmount: 0 }],
    ['negative amount', { ...noId, totalAmount: -1 }],
    ['3 decimals', { ...noId, totalAmount: '1.001' }],
    ['3 decimals as a number', { ...noId, totalAmount: 1.001 }],
    ['1e309', '{"account":"acc-1","totalAmount":1e309,"mcc":"5411","merchant":"X"}'],
    ['"mil"', { ...noId, totalAmount: 'mil' }],
    ['over the maximum', { ...noId, totalAmount: '1000000.01' }],
    ['amount as a boolean', { ...noId, totalAmount: true }],
    // JSON numbers are judged on their source text, never through a double: these round to 2 places as doubles.
    ['1.999999999999999999 as a number', '{"account":"acc-1","totalAmount":1.999999999999999999,"mcc":"5411","merchant":"X"}'],
    ['100.100000000000001 as a number', '{"account":"acc-1","totalAmount":100.100000000000001,"mcc":"5411","merchant":"X"}'],
    ['an exponent as a number', '{"account":"acc-1","totalAmount":1e2,"mcc":"5411","merchant":"X"}'],
    ['duplicate amount keys', '{"account":"acc-1","totalAmount":1,"totalAmount":2,"mcc":"5411","merchant":"X"}'],
    ['mcc "541a"', { ...noId, mcc: '541a' }],
    ['mcc "  "', { ...noId, mcc: '  ' }],
    ['mcc "54111"', { ...noId, mcc: '54111' }],
    ['mcc 10000', { ...noId, mcc: 10000 }],
    ['blank merchant', { ...noId, merchant: '   ' }],
    ['empty merchant', { ...noId, merchant: '' }],
    ['merchant over 255 chars', { ...noId, merchant: 'A'.repeat(256) }],
    ['bad id characters', { ...valid, id: 'a b' }],
    ['id too long', { ...valid, id: 'x'.repeat(65) }],
    ['account and accountId differ', { ...noId, accountId: 'acc-2' }],
  ];
  it.each(cases)('%s', async (_name, body) => {
    const before = await balances();
    const reply = await authorize(rt, body);
    expect(reply.status).toBe(200);
    expect(reply.body).toBe('{"code":"07"}');
    expect(reply.headers['catraca-reason']).toBe('invalid_request');
    expect(await balances()).toEqual(before);
    const history = await call(rt, 'GET', '/accounts/acc-1/transactions');
    expect(history.json().items).toEqual([]);
  });

  it('answers 413 to a 10 MB body and changes nothing', async () => {
    const before = await balances();
    const reply = await authorize(rt, JSON.stringify({ ...valid, merchant: 'A'.repeat(10 * 1024 * 1024) }));
    expect(reply.status).toBe(413);
    expect(await balances()).toEqual(before);
  });

  it('answers 07 unknown_account for an account that does not exist', async () => {
    const reply = await authorize(rt, { ...valid, account: 'nobody' });
    expect(reply.body).toBe('{"code":"07"}');
    expect(reply.headers['catraca-reason']).toBe('unknown_account');
  });
});

describe('POST /transactions: decisions', () => {
  it('accepts both spellings and exact decimals', async () => {
    const a = await authorize(rt, { id: 'a', accountId: 'acc-1', amount: 100.1 - 90, mcc: 5411, merchant: 'X' });
    // 100.1 - 90 is 10.099999999999994 in binary floating point: more than 2 decimals, refused.
    expect(a.headers['catraca-reason']).toBe('invalid_request');
    const b = await authorize(rt, '{"id":"b","accountId":"acc-1","amount":0.10,"mcc":742,"merchant":"X"}');
    expect(b.body).toBe('{"code":"00"}');
    expect((await balances()).balances.CASH).toBe('29.90');
  });

  it('L3: a merchant rule beats a valid MCC; L2: whole-amount CASH fallback; 51 when nothing covers it', async () => {
    expect((await authorize(rt, { ...valid, id: 'u', merchant: 'UBER EATS SAO PAULO BR', totalAmount: '45' })).body).toBe(
      '{"code":"00"}',
    );
    expect((await balances()).balances).toEqual({ FOOD: '100.00', MEAL: '5.00', CASH: '30.00' });
    // MEAL has 5.00: 20.00 falls back to CASH as a whole.
    const fallback = await authorize(rt, { ...valid, id: 'f', mcc: '5811', totalAmount: '20' });
    expect(fallback.body).toBe('{"code":"00"}');
    expect((await balances()).balances).toEqual({ FOOD: '100.00', MEAL: '5.00', CASH: '10.00' });
    // Neither MEAL (5.00) nor CASH (10.00) covers 11.00 whole: never split.
    const declined = await authorize(rt, { ...valid, id: 'd', mcc: '5812', totalAmount: '11' });
    expect(declined.body).toBe('{"code":"51"}');
    expect(declined.headers['catraca-reason']).toBe('insufficient_funds');
    expect((await balances()).balances).toEqual({ FOOD: '100.00', MEAL: '5.00', CASH: '10.00' });
    await assertLedgerMatches(rt, 'acc-1');
  });

  it('replays the first answer for the same id and payload, and refuses a different payload', async () => {
    const first = await authorize(rt, valid);
    expect(first.body).toBe('{"code":"00"}');
    const again = await authorize(rt, { ...valid, totalAmount: 10 });
    expect(again.body).toBe('{"code":"00"}');
    expect(again.headers['catraca-replayed']).toBe('true');
    const conflict = await authorize(rt, { ...valid, totalAmount: '10.01' });
    expect(conflict.body).toBe('{"code":"07"}');
    expect(conflict.headers['catraca-reason']).toBe('id_conflict');
    expect((await balances()).balances.FOOD).toBe('90.00');
  });

  it('makes an id when none is given, and says which', async () => {
    const { id: _id, ...noId } = valid;
    const reply = await authorize(rt, noId);
    expect(reply.body).toBe('{"code":"00"}');
    expect(reply.headers['catraca-transaction-id']).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('accounts, credits and history', () => {
  it('creates, reads, refuses duplicates and unknown ids', async () => {
    expect((await call(rt, 'POST', '/accounts', { id: 'acc-1', balances: {} })).status).toBe(409);
    expect((await call(rt, 'GET', '/accounts/nope')).status).toBe(404);
    const created = await call(rt, 'POST', '/accounts', { id: 'acc-2', balances: { MEAL: '500.50' } });
    expect(created.status).toBe(201);
    expect(created.json()).toEqual({ id: 'acc-2', balances: { FOOD: '0.00', MEAL: '500.50', CASH: '0.00' }, version: 0 });
    for (const bad of [{ id: 'x y' }, { id: 'a', balances: { FOOD: -1 } }, { id: 'a', balances: { GOLD: 1 } }, []]) {
      expect((await call(rt, 'POST', '/accounts', bad)).status).toBe(400);
    }
  });

  it('credits idempotently and lists history newest first with a cursor', async () => {
    const credit = { id: 'c-1', category: 'CASH', amount: '5.25' };
    expect((await call(rt, 'POST', '/accounts/acc-1/credits', credit)).status).toBe(201);
    expect((await call(rt, 'POST', '/accounts/acc-1/credits', credit)).status).toBe(200);
    expect((await call(rt, 'POST', '/accounts/acc-1/credits', { ...credit, amount: '6' })).status).toBe(409);
    expect((await call(rt, 'POST', '/accounts/nope/credits', { ...credit, id: 'c-2' })).status).toBe(404);
    expect((await balances()).balances.CASH).toBe('35.25');
    for (let i = 0; i < 5; i++) await authorize(rt, { ...valid, id: `h-${i}`, totalAmount: '1' });
    const page1 = (await call(rt, 'GET', '/accounts/acc-1/transactions?limit=4')).json();
    expect(page1.items.map((t: { id: string }) => t.id)).toEqual(['h-4', 'h-3', 'h-2', 'h-1']);
    const page2 = (await call(rt, 'GET', `/accounts/acc-1/transactions?limit=4&cursor=${page1.nextCursor}`)).json();
    expect(page2.items.map((t: { id: string }) => t.id)).toEqual(['h-0', 'c-1']);
    expect(page2.nextCursor).toBeUndefined();
    expect((await call(rt, 'GET', '/accounts/acc-1/transactions?cursor=abc')).status).toBe(400);
    await assertLedgerMatches(rt, 'acc-1');
  });
});

describe('merchant rules API', () => {
  it('lists the seeded defaults, puts, replaces and deletes rules', async () => {
    const list = (await call(rt, 'GET', '/merchant-rules')).json();
    expect(list).toEqual([
      { match: 'PICPAY*BILHETEUNICO', category: 'CASH' },
      { match: 'UBER EATS', category: 'MEAL' },
      { match: 'UBER TRIP', category: 'CASH' },
    ]);
    expect((await call(rt, 'PUT', '/merchant-rules', { match: ' ifd*  ', category: 'MEAL' })).json()).toEqual({
      match: 'IFD*',
      category: 'MEAL',
    });
    const ifood = await authorize(rt, { ...valid, id: 'i', mcc: '5999', merchant: 'IFD*PIZZARIA BELLA', totalAmount: '1' });
    expect(ifood.body).toBe('{"code":"00"}');
    expect((await balances()).balances.MEAL).toBe('49.00');
    expect((await call(rt, 'PUT', '/merchant-rules', { match: 'IFD*', category: 'FOOD' })).status).toBe(200);
    expect((await call(rt, 'DELETE', `/merchant-rules/${encodeURIComponent('IFD*')}`)).status).toBe(204);
    expect((await call(rt, 'DELETE', `/merchant-rules/${encodeURIComponent('IFD*')}`)).status).toBe(404);
    expect((await call(rt, 'PUT', '/merchant-rules', { match: '  ', category: 'MEAL' })).status).toBe(400);
    expect((await call(rt, 'PUT', '/merchant-rules', { match: 'X', category: 'GOLD' })).status).toBe(400);
  });
});

describe('merchant rules seeding', () => {
  it('seeds the defaults once per store: rules deleted by an operator stay deleted after a restart', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'catraca-seed-'));
    try {
      const first = await createRuntime(loadConfig({ DATA_DIR: dir }), silent);
      for (const rule of (await call(first, 'GET', '/merchant-rules')).json() as Array<{ match: string }>) {
        expect((await call(first, 'DELETE', `/merchant-rules/${encodeURIComponent(rule.match)}`)).status).toBe(204);
      }
      await first.close();
      const second = await createRuntime(loadConfig({ DATA_DIR: dir }), silent);
      expect((await call(second, 'GET', '/merchant-rules')).json()).toEqual([]);
      await second.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('operations', () => {
  it('serves healthz, readyz, metrics and an OpenAPI document built from the schemas', async () => {
    expect((await call(rt, 'GET', '/healthz')).status).toBe(200);
    const ready = await call(rt, 'GET', '/readyz');
    expect(ready.status).toBe(200);
    expect(ready.json().checks).toMatchObject({ store: 'up', lock: 'connected', cache: 'up' });
    await authorize(rt, valid);
    const metrics = (await call(rt, 'GET', '/metrics')).body;
    expect(metrics).toContain('catraca_http_request_duration_seconds_bucket');
    expect(metrics).toMatch(/catraca_decisions_total\{kind="debit",code="00",reason="approved"\} 1/);
    const doc = (await call(rt, 'GET', '/openapi.json')).json();
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toContain('/transactions');
    expect(doc.components.schemas.TransactionRequest.properties).toHaveProperty('totalAmount');
    expect(doc.components.schemas.TransactionRequest.properties).toHaveProperty('accountId');
    rt.drain();
    expect((await call(rt, 'GET', '/readyz')).status).toBe(503);
  });
});

describe('admin routes with the store down', () => {
  it('answer 503 store unavailable (retry with the same id), never a 500', async () => {
    await createAccount(rt, 'down-1', { CASH: '5.00' });
    await rt.store.close();
    const credit = await call(rt, 'POST', '/accounts/down-1/credits', { id: 'c-down', category: 'CASH', amount: '1.00' });
    expect(credit.status).toBe(503);
    expect(credit.json()).toEqual({ error: 'internal_error', message: 'store unavailable' });
    expect((await call(rt, 'GET', '/accounts/down-1')).status).toBe(503);
  });
});

describe('client credentials', () => {
  it('separates the authorize and admin scopes', async () => {
    const authz = 'a'.repeat(32);
    const admin = 'b'.repeat(32);
    const secured = await embeddedRuntime({ AUTHORIZE_TOKENS: authz, ADMIN_TOKENS: admin });
    try {
      const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
      expect((await call(secured, 'POST', '/accounts', { id: 'z', balances: { CASH: 5 } })).status).toBe(401);
      expect((await call(secured, 'POST', '/accounts', { id: 'z', balances: { CASH: 5 } }, bearer(authz))).status).toBe(401);
      expect((await call(secured, 'POST', '/accounts', { id: 'z', balances: { CASH: 5 } }, bearer(admin))).status).toBe(201);
      const tx = { id: 't', account: 'z', totalAmount: 1, mcc: '1234', merchant: 'X' };
      expect((await authorize(secured, tx)).status).toBe(401);
      expect((await authorize(secured, tx, bearer(admin))).status).toBe(401);
      expect((await authorize(secured, tx, bearer(authz))).body).toBe('{"code":"00"}');
      expect((await call(secured, 'GET', '/healthz')).status).toBe(200);
    } finally {
      await secured.dispose();
    }
  });
});
