/**
 * Cluster routing end to end: three replicas (the built CLI) with ZooKeeper ownership on, behind nginx. Every account is
 * served by its home replica (rendezvous hashing over the live members): the others forward to it over the internal
 * channel and relay its answer unchanged; only the home holds the account's lock, and keeps it between batches.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  authorize,
  createAccount,
  getAccount,
  listTransactions,
  reverse,
  scrapeMetric,
  send,
  type Purchase,
} from '../../../test-support/cluster-client.js';
import { startLocalCluster, type LocalCluster } from '../../../test-support/cluster.js';
import { freePorts } from '../../../test-support/ports.js';
import { homeOf } from '../src/cluster/rendezvous.js';

const purchase = (account: string, id: string, amount = '1.00'): Purchase => ({
  id,
  account,
  totalAmount: amount,
  mcc: '5999',
  merchant: 'LOJA',
});

const MEMBERS = ['replica-0', 'replica-1', 'replica-2'];

/** ZooKeeper's write transactions so far (the zxid's counter part; a new epoch restarts it, none here). */
async function zxid(cluster: LocalCluster): Promise<bigint> {
  const servers = cluster.zookeeper!.servers;
  let best = 0n;
  for (const server of servers) {
    const stat = (await server.srvr(5_000)) ?? '';
    const match = /Zxid: (0x[0-9a-f]+)/i.exec(stat);
    if (match) best = BigInt(match[1]!) > best ? BigInt(match[1]!) : best;
  }
  return best & 0xffffffffn;
}

describe('local cluster: three replicas, forwarding to the account home', () => {
  let cluster: LocalCluster;
  let internalPorts: number[];

  beforeAll(async () => {
    internalPorts = await freePorts(3);
    cluster = await startLocalCluster({
      replicas: 3,
      replicaEnv: (i) => ({ CLUSTER_PORT: String(internalPorts[i]) }),
      zookeeper: 'ensemble',
      // A loaded 2-core machine: a generous budget, so that forwards answer before their deadline.
      env: { DEADLINE_MS: '2000' },
    });
  }, 180_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  it('a purchase sent to any replica is decided by its account home and relayed unchanged', async () => {
    const accounts = Array.from({ length: 6 }, (_, i) => `fwd-${i}`);
    for (const account of accounts) await createAccount(cluster.url, account, { CASH: '10.00' });
    const served = await Promise.all(cluster.replicas.map((r) => scrapeMetric(r.url, 'catraca_forwards_served_total', { answer: 'served' })));

    // Each account through each replica directly: two of the three sends are forwards.
    let n = 0;
    for (const account of accounts) {
      for (const replica of cluster.replicas) {
        const reply = await send(replica.url, 'POST', '/transactions', purchase(account, `fwd-tx-${n++}`, '2.00'));
        expect(reply.status).toBe(200);
        expect(reply.text).toBe('{"code":"00"}');
        expect(reply.headers.get('catraca-reason')).toBe('approved');
        expect(reply.headers.get('catraca-transaction-id')).toBe(`fwd-tx-${n - 1}`);
      }
    }
    // A replay through another replica: the same answer, marked replayed, relayed as is.
    const replay = await send(cluster.replicas[2]!.url, 'POST', '/transactions', purchase('fwd-0', 'fwd-tx-0', '2.00'));
    expect(replay.text).toBe('{"code":"00"}');
    expect(replay.headers.get('catraca-replayed')).toBe('true');
    // An id reused with another payload through yet another replica: id_conflict, as on the home.
    const conflict = await send(cluster.replicas[1]!.url, 'POST', '/transactions', purchase('fwd-0', 'fwd-tx-0', '3.00'));
    expect(conflict.text).toBe('{"code":"07"}');
    expect(conflict.headers.get('catraca-reason')).toBe('id_conflict');

    for (const account of accounts) expect((await getAccount(cluster.url, account)).balances.CASH).toBe('4.00');

    // Each replica served exactly the forwards of the accounts homed on it (2 per account: from the two others).
    const after = await Promise.all(cluster.replicas.map((r) => scrapeMetric(r.url, 'catraca_forwards_served_total', { answer: 'served' })));
    MEMBERS.forEach((member, i) => {
      const homed = accounts.filter((a) => homeOf(a, MEMBERS) === member).length;
      // 2 per account homed here, plus the replay and the conflict when they were forwarded to this replica.
      const fwd0 = homeOf('fwd-0', MEMBERS) === member ? [2, 1].filter((from) => MEMBERS[from] !== member).length : 0;
      expect(after[i]! - served[i]!).toBe(2 * homed + fwd0);
    });
  }, 120_000);

  it('60 concurrent purchases on each of 8 accounts through nginx: exactly what the balance affords, each id decided once', async () => {
    const accounts = Array.from({ length: 8 }, (_, i) => `race-${i}`);
    for (const account of accounts) await createAccount(cluster.url, account, { CASH: '40.00' });
    const before = await zxid(cluster);
    const answers = await Promise.all(
      accounts.flatMap((account) =>
        Array.from({ length: 60 }, (_, i) => authorize(cluster.url, purchase(account, `${account}-${i}`), { attempts: 30 })),
      ),
    );
    const writes = (await zxid(cluster)) - before;
    // The box is shared and loaded: a 07 that says "not decided" (deadline, in_progress) was retried with the same id
    // by the client; the decisions must be exact whatever the retries.
    const retried = answers.filter((a) => a.attempts > 1).length;
    for (const account of accounts) {
      const mine = answers.filter((a) => a.id.startsWith(`${account}-`));
      expect(mine.filter((a) => a.code === '00')).toHaveLength(40);
      expect(mine.filter((a) => a.code === '51')).toHaveLength(20);
      const stored = await listTransactions(cluster.url, account);
      expect(stored).toHaveLength(60);
      expect((await getAccount(cluster.url, account)).balances.CASH).toBe('0.00');
    }
    expect(answers.filter((a) => a.code !== '00' && a.code !== '51')).toEqual([]);
    // Ownership: a lock per account for the whole race (its node and parent), not one or more per purchase as before.
    expect(writes).toBeLessThanOrEqual(48n);
    process.stdout.write(
      `forwarding e2e: 480 purchases on 8 accounts, ${writes} ZooKeeper write transactions, ${retried} retried by the client\n`,
    );
  }, 120_000);

  it('reversals go to the account home too: sent to each replica, each gives back what its purchase took, once', async () => {
    const account = 'fwd-rev';
    await createAccount(cluster.url, account, { CASH: '10.00' });
    const home = homeOf(account, MEMBERS);
    const others = cluster.replicas.filter((_, i) => MEMBERS[i] !== home);
    const served = await Promise.all(cluster.replicas.map((r) => scrapeMetric(r.url, 'catraca_forwards_served_total', { answer: 'served' })));
    // Three purchases, each reversed through a replica that is not the home (a forward), one of them in part.
    for (let i = 0; i < 3; i++) {
      const bought = await send(others[i % 2]!.url, 'POST', '/transactions', purchase(account, `fwd-rev-tx-${i}`, '2.00'));
      expect(bought.text).toBe('{"code":"00"}');
    }
    const full = await send(others[0]!.url, 'POST', '/reversals', { id: 'fwd-rev-a', original: 'fwd-rev-tx-0', account });
    expect(full.text).toBe('{"code":"00"}');
    expect(full.headers.get('catraca-reason')).toBe('reversed');
    expect(full.headers.get('catraca-transaction-id')).toBe('fwd-rev-a');
    const part = await send(others[1]!.url, 'POST', '/reversals', { id: 'fwd-rev-b', original: 'fwd-rev-tx-1', account, amount: '0.50' });
    expect(part.headers.get('catraca-reason')).toBe('reversed');
    // Over what remains of tx-1 (1.50 left): refused through a forward, as on the home.
    const over = await send(others[0]!.url, 'POST', '/reversals', { id: 'fwd-rev-c', original: 'fwd-rev-tx-1', account, amount: '2.00' });
    expect(over.text).toBe('{"code":"07"}');
    expect(over.headers.get('catraca-reason')).toBe('exceeds_remaining');
    // A replay of a reversal through another replica: the first answer, applied once.
    const replay = await reverse(others[1]!.url, { id: 'fwd-rev-a', original: 'fwd-rev-tx-0', account });
    expect(replay).toMatchObject({ code: '00', reason: 'reversed', replayed: true });
    // A reversal ahead of its purchase, then the purchase, both through non-home replicas: the purchase is refused.
    const early = await send(others[0]!.url, 'POST', '/reversals', { id: 'fwd-rev-d', original: 'fwd-rev-tx-9', account });
    expect(early.headers.get('catraca-reason')).toBe('original_unknown');
    const late = await send(others[1]!.url, 'POST', '/transactions', purchase(account, 'fwd-rev-tx-9', '2.00'));
    expect(late.text).toBe('{"code":"07"}');
    expect(late.headers.get('catraca-reason')).toBe('reversed');

    // 10.00 − 3 × 2.00 + 2.00 + 0.50 = 6.50
    expect((await getAccount(cluster.url, account)).balances.CASH).toBe('6.50');
    const after = await Promise.all(cluster.replicas.map((r) => scrapeMetric(r.url, 'catraca_forwards_served_total', { answer: 'served' })));
    const homeIndex = MEMBERS.indexOf(home);
    // Everything above went through a non-home replica, so the home served all of it: 3 + 5 reversals + 1 purchase.
    expect(after[homeIndex]! - served[homeIndex]!).toBe(9);
  }, 120_000);

  it('the internal channel refuses callers without the cluster secret', async () => {
    const url = `http://127.0.0.1:${internalPorts[0]}`;
    const body = { kind: 'debit', id: 'x-1', request: { accountId: 'fwd-0', amount: 100, mcc: '5999', merchant: 'LOJA' } };
    const none = await send(url, 'POST', '/internal/v1/forward', body);
    expect(none.status).toBe(401);
    const wrong = await fetch(`${url}/internal/v1/forward`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'catraca-cluster-secret': 'not-the-secret-at-all', 'catraca-budget-ms': '100' },
      body: JSON.stringify(body),
    });
    expect(wrong.status).toBe(401);
    expect(await listTransactions(cluster.url, 'fwd-0').then((t) => t.some((r) => r.id === 'x-1'))).toBe(false);
  });
});
