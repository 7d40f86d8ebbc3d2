import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKafka, type KafkaBroker } from '../../../../test-support/kafka.js';
import { signatureHeaders } from '../../src/async/webhook-signature.js';
import { authorize, call, createAccount, embeddedRuntime } from '../helpers.js';
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
});
