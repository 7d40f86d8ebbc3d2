import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { send } from '../../../../test-support/cluster-client.js';
import { startLocalCluster, type LocalCluster } from '../../../../test-support/cluster.js';
import { startKafka, type KafkaBroker } from '../../../../test-support/kafka.js';
import { openPostgresStore } from '../../src/store/index.js';
import type { Store } from '../../src/store/port.js';
import { silent } from '../helpers.js';
import { SECRET, startReceiver, type Receiver } from './async-helpers.js';

/**
 * Two authorizer processes in one consumer group on a real broker, PostgreSQL store: one is SIGKILLed while it is
 * deciding, the other takes its partitions over (rebalance), then the killed one comes back (another rebalance).
 */
describe('async consumer group: SIGKILL mid-batch and rebalances', () => {
  let kafka: KafkaBroker;
  let receiver: Receiver;
  let cluster: LocalCluster;
  let store: Store;

  beforeAll(async () => {
    kafka = await startKafka();
    receiver = await startReceiver();
    cluster = await startLocalCluster({
      replicas: 2,
      lock: 'none',
      withNginx: false,
      env: {
        ASYNC: 'on',
        KAFKA_BROKERS: kafka.bootstrap,
        KAFKA_PARTITIONS: '6',
        WEBHOOK_BACKOFF_BASE_MS: '50',
        WEBHOOK_BACKOFF_MAX_MS: '1000',
      },
    });
    store = await openPostgresStore({ connectionString: cluster.postgresUrl, maxConnections: 2 });
    const put = await send(cluster.replicas[0]!.url, 'PUT', '/async/webhooks/default', { url: receiver.url, secret: SECRET });
    expect(put.status).toBe(200);
  }, 300_000);

  afterAll(async () => {
    await store?.close();
    await cluster?.stop();
    await receiver?.close();
    await kafka?.stop();
  });

  it('decides every accepted transaction exactly once across a consumer SIGKILL and two rebalances', async () => {
    const accounts = Array.from({ length: 12 }, (_, i) => `acc-kill-${i}`);
    for (const id of accounts) {
      const created = await send(cluster.replicas[0]!.url, 'POST', '/accounts', { id, balances: { FOOD: 0, MEAL: 0, CASH: '100000.00' } });
      expect(created.status).toBe(201);
    }
    const ids: string[] = [];
    let next = 0;
    const total = 1_200;
    /** Sends through replica `preferred`, falling back to any live one with the same id (an acquirer's retry). */
    const submit = async (id: string, account: string, preferred: number) => {
      for (let attempt = 0; attempt < 50; attempt++) {
        const replica = cluster.replicas[(preferred + attempt) % cluster.replicas.length]!;
        if (!replica.running) continue;
        try {
          const reply = await send(replica.url, 'POST', '/async/transactions', {
            id, account, totalAmount: '1.00', mcc: '1234', merchant: 'LOJA',
          }, 10_000);
          if (reply.status === 202) return;
        } catch {
          // killed under us: try the other one
        }
        await sleep(100);
      }
      throw new Error(`could not submit ${id}`);
    };
    const worker = async (w: number) => {
      while (next < total) {
        const n = next++;
        const id = `kill-${n}`;
        ids.push(id);
        await submit(id, accounts[n % accounts.length]!, w % 2);
      }
    };
    const load = Promise.all(Array.from({ length: 12 }, (_, w) => worker(w)));
    // Kill replica 1 while it is deciding: some of its records are decided but not committed, some not decided.
    while (receiver.byId().size < 200) await sleep(20);
    await cluster.killReplica(1, 'SIGKILL');
    const killedAt = receiver.byId().size;
    await load;
    await receiver.waitFor(ids.slice(0, Math.floor(ids.length / 2)), 120_000);
    // The killed one comes back: a second rebalance while the rest drains.
    await cluster.restartReplica(1);
    const hooks = await receiver.waitFor(ids, 180_000);
    expect(killedAt).toBeLessThan(total);

    // No lost decision: every accepted id has its webhook with an approval; no duplicate: one record each, and the
    // balances say each was applied once.
    expect(hooks.size).toBe(total);
    for (const id of ids) expect(hooks.get(id)!.code).toBe('00');
    let applied = 0;
    for (const account of accounts) {
      const page = await store.listTransactions(account, { limit: 1_000 });
      const recorded = page.items.map((r) => r.id);
      expect(new Set(recorded).size).toBe(recorded.length);
      applied += recorded.length;
      const balance = (await store.getAccount(account))!.balances.CASH;
      expect(balance).toBe(10_000_000 - recorded.length * 100);
    }
    expect(applied).toBe(total);
    // Duplicated webhooks (a decision published again after the kill) carry the same answer; receivers dedupe by id.
    const codes = new Map<string, Set<string>>();
    for (const d of receiver.received) codes.set(d.id, (codes.get(d.id) ?? new Set()).add(d.code));
    for (const [, set] of codes) expect(set.size).toBe(1);
    console.log(`rebalance: ${total} decided once; ${receiver.received.length - total} duplicate webhook deliveries; killed after ${killedAt}`);
  }, 400_000);
});
