import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKafka, type KafkaBroker } from '../../../../test-support/kafka.js';
import { signatureHeaders } from '../../src/async/webhook-signature.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { assertLedgerMatches, authorize, call, createAccount, embeddedRuntime } from '../helpers.js';
import { SECRET, startReceiver, type Receiver } from './async-helpers.js';

describe('async mode on a real Kafka broker (KRaft)', () => {
  let kafka: KafkaBroker;
  let receiver: Receiver;
  let runtime: Awaited<ReturnType<typeof embeddedRuntime>>;

  beforeAll(async () => {
    kafka = await startKafka();
    receiver = await startReceiver();
    runtime = await embeddedRuntime({
      ASYNC: 'on',
      KAFKA_BROKERS: kafka.bootstrap,
      KAFKA_TOPIC: `t-${randomUUID().slice(0, 8)}`,
      KAFKA_PARTITIONS: '4',
      WEBHOOK_BACKOFF_BASE_MS: '50',
      WEBHOOK_BACKOFF_MAX_MS: '500',
    });
    const put = await call(runtime, 'PUT', '/async/webhooks/default', { url: receiver.url, secret: SECRET });
    expect(put.status).toBe(200);
    expect(put.json()).not.toHaveProperty('secret');
  });

  afterAll(async () => {
    await runtime?.dispose();
    await receiver?.close();
    await kafka?.stop();
  });

  it('keeps webhook registrations in the audit trail, without the secret', async () => {
    const trail = await call(runtime, 'GET', '/audit?limit=50');
    expect(trail.status).toBe(200);
    const items = (trail.json() as { items: Array<{ action: string; target: string; before: unknown; after: unknown }> }).items;
    const put = items.find((item) => item.action === 'webhook.put' && item.target === 'default');
    expect(put).toBeDefined();
    expect(put!.after).toMatchObject({ url: receiver.url });
    expect(JSON.stringify(put)).not.toContain(SECRET);
  });

  it('answers an invalid request 200 07 at once and a valid one 202 with its id after Kafka acknowledged it', async () => {
    const invalid = await call(runtime, 'POST', '/async/transactions', { account: 'a', totalAmount: -1, mcc: '5811', merchant: 'X' });
    expect(invalid.status).toBe(200);
    expect(invalid.json()).toEqual({ code: '07' });
    expect(invalid.headers['catraca-reason']).toBe('invalid_request');

    await createAccount(runtime, 'acc-basic', { FOOD: 100, MEAL: 0, CASH: 0 });
    const accepted = await call(runtime, 'POST', '/async/transactions', {
      id: 'basic-1', account: 'acc-basic', totalAmount: '60.00', mcc: '5411', merchant: 'PADARIA',
    });
    expect(accepted.status).toBe(202);
    expect(accepted.json()).toEqual({ id: 'basic-1' });
    const noId = await call(runtime, 'POST', '/async/transactions', {
      account: 'acc-basic', totalAmount: '60.00', mcc: '5411', merchant: 'PADARIA',
    });
    expect(noId.status).toBe(202);
    const madeId = noId.json().id as string;
    const hooks = await receiver.waitFor(['basic-1', madeId]);
    expect(hooks.get('basic-1')).toEqual({ id: 'basic-1', account: 'acc-basic', code: '00' });
    expect(hooks.get(madeId)).toEqual({ id: madeId, account: 'acc-basic', code: '51' });
    const state = await call(runtime, 'GET', '/async/transactions/basic-1');
    expect(state.json().decision.code).toBe('00');
    expect(state.json().delivery.state).toBe('delivered');
  });

  it('decides an id once across both modes: a sync replay and an async resend get the first answer', async () => {
    await createAccount(runtime, 'acc-both', { FOOD: 0, MEAL: 50, CASH: 0 });
    const body = { id: 'both-1', account: 'acc-both', totalAmount: '50.00', mcc: '5811', merchant: 'RESTAURANTE' };
    const sync = await authorize(runtime, body);
    expect(sync.json()).toEqual({ code: '00' });
    expect((await call(runtime, 'POST', '/async/transactions', body)).status).toBe(202);
    expect((await call(runtime, 'POST', '/async/transactions', body)).status).toBe(202);
    const hooks = await receiver.waitFor(['both-1']);
    expect(hooks.get('both-1')!.code).toBe('00');
    const account = await runtime.store.getAccount('acc-both');
    expect(account!.balances.MEAL).toBe(0);
    expect(account!.version).toBe(1);
  });

  it('the example receiver rejects a forged signature and a stale timestamp', async () => {
    const body = JSON.stringify({ id: 'forged', account: 'acc-basic', code: '00' });
    const forged = await fetch(receiver.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...signatureHeaders('not-the-secret-at-all', body) },
      body,
    });
    expect(forged.status).toBe(401);
    const stale = await fetch(receiver.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...signatureHeaders(SECRET, body, Date.now() - 3_600_000) },
      body,
    });
    expect(stale.status).toBe(401);
    expect(receiver.rejected).toEqual(expect.arrayContaining(['mismatch', 'stale']));
    expect(receiver.byId().has('forged')).toBe(false);
  });

  it('decides each account\'s transactions in the order they were accepted, under load across accounts', async () => {
    const accounts = Array.from({ length: 16 }, (_, i) => `acc-order-${i}`);
    const perAccount = 30;
    for (const a of accounts) await createAccount(runtime, a, { FOOD: '20.00', MEAL: 0, CASH: 0 });
    const sent = new Map<string, Array<{ id: string; amount: number }>>();
    const started = Date.now();
    let seed = 7;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    await Promise.all(
      accounts.map(async (account) => {
        const list: Array<{ id: string; amount: number }> = [];
        sent.set(account, list);
        for (let i = 0; i < perAccount; i++) {
          const amount = 1 + Math.floor(rand() * 200);
          const id = `${account}-${i}`;
          const reply = await call(runtime, 'POST', '/async/transactions', {
            id, account, totalAmount: (amount / 100).toFixed(2), mcc: '5411', merchant: 'MERCADO',
          });
          expect(reply.status, String(reply.headers['catraca-reason'])).toBe(202);
          list.push({ id, amount });
        }
      }),
    );
    const ids = [...sent.values()].flat().map((t) => t.id);
    const acceptedAt = Date.now();
    const hooks = await receiver.waitFor(ids, 120_000);
    console.log(`ordering: ${ids.length} accepted in ${acceptedAt - started} ms, all webhooks ${Date.now() - acceptedAt} ms later`);
    for (const account of accounts) {
      // The answers a single teller would give, one transaction after the other in the order accepted.
      let food = 2000;
      const expected = sent.get(account)!.map(({ id, amount }) => {
        if (amount <= food) {
          food -= amount;
          return { id, code: '00' };
        }
        return { id, code: '51' };
      });
      expect(sent.get(account)!.map(({ id }) => ({ id, code: hooks.get(id)!.code }))).toEqual(expected);
      const page = await runtime.store.listTransactions(account, { limit: 100 });
      expect(page.items.map((r) => r.id).reverse()).toEqual(sent.get(account)!.map((t) => t.id));
      expect((await runtime.store.getAccount(account))!.balances.FOOD).toBe(food);
      await assertLedgerMatches(runtime, account);
    }
  }, 180_000);

  it('keeps retrying a webhook while its receiver is down and delivers it once it is back', async () => {
    await createAccount(runtime, 'acc-down', { FOOD: 0, MEAL: 0, CASH: '10.00' });
    await receiver.down();
    try {
      const reply = await call(runtime, 'POST', '/async/transactions', {
        id: 'down-1', account: 'acc-down', totalAmount: '1.00', mcc: '1234', merchant: 'LOJA',
      });
      expect(reply.status, String(reply.headers['catraca-reason'])).toBe(202);
      for (let i = 0; ; i++) {
        const state = await call(runtime, 'GET', '/async/transactions/down-1');
        if (state.status === 200 && state.json().delivery?.state === 'retrying' && state.json().delivery.attempts >= 2) break;
        if (i > 600) throw new Error(`never retried: ${state.body}`);
        await sleep(50);
      }
    } finally {
      await receiver.up();
    }
    const hooks = await receiver.waitFor(['down-1']);
    expect(hooks.get('down-1')).toEqual({ id: 'down-1', account: 'acc-down', code: '00' });
    expect(receiver.received.filter((d) => d.id === 'down-1')).toHaveLength(1);
    const state = await call(runtime, 'GET', '/async/transactions/down-1');
    expect(state.json().delivery).toMatchObject({ state: 'delivered' });
    expect(state.json().delivery.attempts).toBeGreaterThanOrEqual(3);
  }, 120_000);

  it('parks a delivery in the dead-letter topic after its retry window; an admin lists and replays it', async () => {
    const parked = await embeddedRuntime({
      ASYNC: 'on',
      KAFKA_BROKERS: kafka.bootstrap,
      KAFKA_TOPIC: `dlq-${randomUUID().slice(0, 8)}`,
      KAFKA_GROUP: 'dlq-test',
      KAFKA_PARTITIONS: '2',
      WEBHOOK_RETRY_FOR_MS: '800',
      WEBHOOK_BACKOFF_BASE_MS: '50',
      WEBHOOK_BACKOFF_MAX_MS: '200',
    });
    const late = await startReceiver();
    try {
      await late.down();
      expect((await call(parked, 'PUT', '/async/webhooks/default', { url: late.url, secret: SECRET })).status).toBe(200);
      await createAccount(parked, 'acc-dlq', { FOOD: 0, MEAL: 0, CASH: '10.00' });
      expect((await call(parked, 'POST', '/async/transactions', {
        id: 'dlq-1', account: 'acc-dlq', totalAmount: '1.00', mcc: '1234', merchant: 'LOJA',
      })).status).toBe(202);
      let letters: Array<{ id: string; reason: string }> = [];
      for (let i = 0; letters.length === 0; i++) {
        if (i > 600) throw new Error('never dead-lettered');
        await sleep(50);
        letters = (await call(parked, 'GET', '/async/dead-letters')).json();
      }
      expect(letters).toEqual([expect.objectContaining({ id: 'dlq-1', reason: 'retries_exhausted', code: '00' })]);
      expect((await call(parked, 'GET', '/async/transactions/dlq-1')).json().delivery.state).toBe('dead_lettered');
      await late.up();
      expect((await call(parked, 'POST', '/async/dead-letters/dlq-1/replay')).status).toBe(202);
      expect((await late.waitFor(['dlq-1'])).get('dlq-1')!.code).toBe('00');
      for (let i = 0; (await call(parked, 'GET', '/async/dead-letters')).json().length > 0; i++) {
        if (i > 200) throw new Error('still listed after a delivered replay');
        await sleep(50);
      }
      expect((await call(parked, 'POST', '/async/dead-letters/dlq-1/replay')).status).toBe(404);
      // The purchase itself was applied once, whatever the deliveries did.
      expect((await parked.store.getAccount('acc-dlq'))!.balances.CASH).toBe(900);
    } finally {
      await parked.dispose();
      await late.close();
    }
  }, 120_000);
});
