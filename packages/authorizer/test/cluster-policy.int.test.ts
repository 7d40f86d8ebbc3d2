/**
 * Losing a dependency on the local cluster (SPEC §3, issue 4): Redis killed → answers stay correct and replays return
 * the first answer from the store; ZooKeeper stopped → `fence-only` replicas keep exact balances on the store's version
 * check alone and count degraded decisions, a `fail-closed` replica answers `07 unavailable` and changes nothing.
 *
 * Three replicas, no nginx (the test picks the replica): 0 and 1 run `fence-only`, 2 runs `fail-closed`.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  authorize,
  centavos,
  createAccount,
  getAccount,
  listTransactions,
  scrapeMetric,
  send,
  type Answer,
  type Purchase,
} from '../../../test-support/cluster-client.js';
import { startLocalCluster, type LocalCluster } from '../../../test-support/cluster.js';

const purchase = (account: string, id: string): Purchase => ({
  id,
  account,
  totalAmount: '1.00',
  mcc: '5999',
  merchant: 'LOJA',
});

/** Checks the store against what the clients saw; returns the number of approvals in the store. */
async function assertExact(base: string, account: string, openingCentavos: number, answers: Answer[]): Promise<number> {
  const view = await getAccount(base, account);
  const stored = await listTransactions(base, account);
  const approved = stored.filter((t) => t.code === '00').length;
  expect(new Set(stored.map((t) => t.id)).size).toBe(stored.length);
  expect(centavos(view.balances.CASH)).toBe(openingCentavos - approved * 100);
  expect(view.version).toBe(stored.length);
  const storedCode = new Map(stored.map((t) => [t.id, t.code]));
  for (const answer of answers) {
    if (answer.code === '00' || answer.code === '51') expect(storedCode.get(answer.id)).toBe(answer.code);
    else expect(storedCode.get(answer.id)).toBeUndefined();
  }
  // Approvals = floor(balance / amount) once anything was declined for funds; never more.
  expect(approved).toBeLessThanOrEqual(Math.floor(openingCentavos / 100));
  if (stored.some((t) => t.code === '51')) expect(approved).toBe(Math.floor(openingCentavos / 100));
  return approved;
}

async function lockState(url: string): Promise<string> {
  const reply = await send(url, 'GET', '/readyz', undefined, 5_000);
  return (JSON.parse(reply.text) as { checks: { lock: string } }).checks.lock;
}

describe('local cluster: losing a dependency', () => {
  let cluster: LocalCluster;

  beforeAll(async () => {
    cluster = await startLocalCluster({
      replicas: 3,
      zookeeper: 'standalone',
      zookeeperSessionTimeoutMs: 3_000,
      withNginx: false,
      env: { DEADLINE_MS: '500' },
      replicaEnv: (i) => ({ LOCK_UNAVAILABLE: i === 2 ? 'fail-closed' : 'fence-only' }),
    });
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('Redis killed: answers stay correct and replays return the first answer (idempotency falls back to the store)', async () => {
    const [r0, r1] = [cluster.replicas[0]!.url, cluster.replicas[1]!.url];
    await createAccount(r0, 'redis-acc', { CASH: '30.00' });
    const ids = Array.from({ length: 50 }, (_, i) => `r-${i}`);
    const first = await Promise.all(ids.map((id, i) => authorize(i % 2 ? r1 : r0, purchase('redis-acc', id))));
    expect(first.filter((a) => a.code === '00')).toHaveLength(30);
    expect(first.filter((a) => a.code === '51')).toHaveLength(20);

    await cluster.redis.kill();
    // Replays on the other replica (neither its in-flight map nor Redis can answer): the store's record does.
    const replays = await Promise.all(ids.map((id, i) => authorize(i % 2 ? r0 : r1, purchase('redis-acc', id))));
    expect(replays.map((a) => a.code)).toEqual(first.map((a) => a.code));
    expect(replays.every((a) => a.replayed)).toBe(true);
    // New ids while Redis is down: decided correctly (the account is empty now).
    const more = await Promise.all(
      Array.from({ length: 10 }, (_, i) => authorize(i % 2 ? r1 : r0, purchase('redis-acc', `r-new-${i}`))),
    );
    expect(more.map((a) => a.code)).toEqual(Array(10).fill('51'));
    await assertExact(r0, 'redis-acc', 3_000, [...first, ...more]);
    const bypassed =
      (await scrapeMetric(r0, 'catraca_cache_lookups_total', { outcome: 'bypass' })) +
      (await scrapeMetric(r1, 'catraca_cache_lookups_total', { outcome: 'bypass' }));
    expect(bypassed).toBeGreaterThan(0);

    await cluster.redis.restart();
  }, 30_000);

  describe('ZooKeeper stopped', () => {
    beforeAll(async () => {
      await createAccount(cluster.replicas[0]!.url, 'zk-fence', { CASH: '25.00' });
      await createAccount(cluster.replicas[0]!.url, 'zk-closed', { CASH: '10.00' });
      await cluster.zookeeper!.servers[0]!.kill();
      // Every replica notices (its session is suspended after a third of the session timeout).
      const until = Date.now() + 15_000;
      for (const replica of cluster.replicas) {
        while ((await lockState(replica.url)) === 'connected' || (await lockState(replica.url)) === 'reconnected') {
          if (Date.now() > until) throw new Error(`replica ${replica.index} still reports ZooKeeper connected`);
          await sleep(100);
        }
      }
    }, 30_000);

    it('fence-only: concurrent authorizations on two replicas keep exact balances; degraded decisions are counted', async () => {
      const [r0, r1] = [cluster.replicas[0]!.url, cluster.replicas[1]!.url];
      const ids = Array.from({ length: 40 }, (_, i) => `f-${i}`);
      const until = performance.now() + 10_000;
      const answers = await Promise.all(
        ids.map((id, i) => authorize(i % 2 ? r1 : r0, purchase('zk-fence', id), { attempts: 10, until })),
      );
      const decided = answers.filter((a) => a.code === '00' || a.code === '51');
      const attempts = answers.reduce((sum, a) => sum + a.attempts, 0);
      process.stdout.write(
        `cluster policy, fence-only: ${decided.length}/${answers.length} decided in ${attempts} attempts\n`,
      );
      expect(decided.length).toBeGreaterThan(0);
      const approved = await assertExact(r0, 'zk-fence', 2_500, answers);
      expect(approved).toBe(answers.filter((a) => a.code === '00').length);

      const degraded =
        (await scrapeMetric(r0, 'catraca_degraded_decisions_total', { dependency: 'lock', policy: 'fence-only' })) +
        (await scrapeMetric(r1, 'catraca_degraded_decisions_total', { dependency: 'lock', policy: 'fence-only' }));
      expect(degraded).toBeGreaterThan(0);
    }, 20_000);

    it('fail-closed: answers 07 unavailable and changes nothing', async () => {
      const r2 = cluster.replicas[2]!.url;
      const answers = await Promise.all(
        Array.from({ length: 10 }, (_, i) => authorize(r2, purchase('zk-closed', `c-${i}`), { attempts: 1 })),
      );
      for (const answer of answers) {
        expect(answer.code).toBe('07');
        expect(answer.reason).toBe('unavailable');
      }
      const view = await getAccount(r2, 'zk-closed');
      expect(view.balances.CASH).toBe('10.00');
      expect(view.version).toBe(0);
      expect(await listTransactions(r2, 'zk-closed')).toEqual([]);
      const ready = await send(r2, 'GET', '/readyz', undefined, 5_000);
      expect(ready.status).not.toBe(200);
    }, 20_000);
  });
});
