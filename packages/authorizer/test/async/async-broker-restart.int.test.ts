import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKafka, type KafkaBroker } from '../../../../test-support/kafka.js';
import { assertLedgerMatches, call, createAccount, embeddedRuntime } from '../helpers.js';
import { SECRET, startReceiver, type Receiver } from './async-helpers.js';

describe('async mode across a Kafka broker restart', () => {
  let kafka: KafkaBroker;
  let receiver: Receiver;
  let runtime: Awaited<ReturnType<typeof embeddedRuntime>>;

  beforeAll(async () => {
    kafka = await startKafka();
    receiver = await startReceiver();
    runtime = await embeddedRuntime({
      ASYNC: 'on',
      KAFKA_BROKERS: kafka.bootstrap,
      KAFKA_PARTITIONS: '4',
      ASYNC_ACCEPT_DEADLINE_MS: '2000',
      WEBHOOK_BACKOFF_BASE_MS: '50',
      WEBHOOK_BACKOFF_MAX_MS: '1000',
    });
    expect((await call(runtime, 'PUT', '/async/webhooks/default', { url: receiver.url, secret: SECRET })).status).toBe(200);
  });

  afterAll(async () => {
    await runtime?.dispose();
    await receiver?.close();
    await kafka?.stop();
  });

  it('loses no accepted transaction and applies none twice when the broker is killed and restarted', async () => {
    const accounts = Array.from({ length: 8 }, (_, i) => `acc-restart-${i}`);
    for (const a of accounts) await createAccount(runtime, a, { FOOD: 0, MEAL: 0, CASH: '1000.00' });
    const answers = new Map<string, number>();
    let n = 0;
    const send = async (id: string, account: string) => {
      const reply = await call(runtime, 'POST', '/async/transactions', {
        id, account, totalAmount: '1.00', mcc: '1234', merchant: 'LOJA',
      });
      answers.set(id, reply.status);
      if (reply.status !== 202) expect(reply.json()).toEqual({ code: '07' });
    };
    let stop = false;
    const load = Promise.all(
      accounts.map(async (account) => {
        while (!stop) {
          await send(`r-${account}-${n++}`, account);
          await sleep(5);
        }
      }),
    );
    await sleep(1_500);
    await kafka.kill();
    await sleep(1_500);
    await kafka.restart();
    await sleep(3_000);
    stop = true;
    await load;
    const accepted = [...answers].filter(([, status]) => status === 202).map(([id]) => id);
    const refused = [...answers].filter(([, status]) => status !== 202).map(([id]) => id);
    expect(accepted.length).toBeGreaterThan(0);
    expect(refused.length).toBeGreaterThan(0); // the broker was really down for a while
    // A client retries a refused request with the same id once the broker is back.
    for (const id of refused) {
      const account = id.replace(/^r-(acc-restart-\d+)-\d+$/, '$1');
      await send(id, account);
      expect(answers.get(id)).toBe(202);
    }
    const all = [...answers.keys()];
    const hooks = await receiver.waitFor(all, 120_000);
    for (const id of all) expect(hooks.get(id)!.code).toBe('00');
    let applied = 0;
    for (const account of accounts) {
      const page = await runtime.store.listTransactions(account, { limit: 1_000 });
      const ids = page.items.map((r) => r.id);
      expect(new Set(ids).size).toBe(ids.length);
      applied += ids.length;
      const balance = (await runtime.store.getAccount(account))!.balances.CASH;
      expect(balance).toBe(100_000 - ids.length * 100);
      await assertLedgerMatches(runtime, account);
    }
    expect(applied).toBe(all.length);
  }, 240_000);
});
