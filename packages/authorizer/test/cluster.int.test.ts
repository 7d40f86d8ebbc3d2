/**
 * End to end on the local cluster (test-support/cluster.ts): a 3-node ZooKeeper ensemble, Redis, PostgreSQL, two
 * authorizer processes (the built CLI) behind nginx. A hot account hammered through the load balancer keeps exact
 * balances; a replica SIGKILLed mid-run leaves the survivor answering, and its locks go with its ZooKeeper session.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  authorize,
  centavos,
  createAccount,
  getAccount,
  listTransactions,
  pool,
  reverse,
  scrapeMetric,
  send,
  type Answer,
  type Purchase,
  type Reply,
} from '../../../test-support/cluster-client.js';
import { startLocalCluster, type LocalCluster } from '../../../test-support/cluster.js';
import { ephemeralNodes, zookeeperSessionOf } from '../../../test-support/zookeeper-inspect.js';
import { homeOf } from '../src/cluster/rendezvous.js';

const SESSION_TIMEOUT_MS = 4_000;

const purchase = (account: string, id: string): Purchase => ({
  id,
  account,
  totalAmount: '1.00',
  mcc: '5999',
  merchant: 'LOJA',
});

describe('local cluster: two replicas behind nginx', () => {
  let cluster: LocalCluster;

  beforeAll(async () => {
    cluster = await startLocalCluster({
      replicas: 2,
      zookeeper: 'ensemble',
      zookeeperSessionTimeoutMs: SESSION_TIMEOUT_MS,
      // A loaded 2-core machine: a generous server budget, so most requests decide on their first attempt.
      env: { DEADLINE_MS: '2000' },
    });
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('purchases and their reversals racing through both replicas: reversed, or refused as reversed, never both', async () => {
    await createAccount(cluster.url, 'rev-a', { FOOD: '50.00', CASH: '50.00' });
    const [first, second] = cluster.replicas;
    const ids = Array.from({ length: 60 }, (_, i) => `rv-${i}`);
    const outcomes = await pool(ids, 8, (id, i) =>
      Promise.all([
        authorize(first!.url, { ...purchase('rev-a', id), mcc: i % 2 === 0 ? '5411' : '5999' }, { attempts: 30 }),
        reverse(second!.url, { id: `${id}-rev`, original: id, account: 'rev-a' }, { attempts: 30 }),
      ]),
    );
    for (const [bought, reversed] of outcomes) {
      const pair = `${bought.code} ${bought.reason} / ${reversed.code} ${reversed.reason}`;
      // The purchase first: approved, then given back. The reversal first: recorded, and the purchase refused.
      expect(['00 approved / 00 reversed', '07 reversed / 00 original_unknown']).toContain(pair);
    }
    const account = await getAccount(cluster.url, 'rev-a');
    expect(account.balances).toMatchObject({ FOOD: '50.00', CASH: '50.00' });
    const history = await listTransactions(cluster.url, 'rev-a');
    expect(history).toHaveLength(outcomes.filter(([b]) => b.code === '00').length + ids.length);
  });

  it('400 concurrent authorizations on one account through both replicas: exact approvals, each id applied once', async () => {
    await createAccount(cluster.url, 'hot-a', { CASH: '100.00' });
    const ids = Array.from({ length: 400 }, (_, i) => `a-${i}`);

    const answers = await Promise.all(ids.map((id) => authorize(cluster.url, purchase('hot-a', id), { attempts: 30 })));

    const codes = answers.map((a) => a.code);
    expect(codes.filter((c) => c === '00')).toHaveLength(100);
    expect(codes.filter((c) => c === '51')).toHaveLength(300);
    const account = await getAccount(cluster.url, 'hot-a');
    expect(account.balances.CASH).toBe('0.00');
    expect(account.version).toBe(400);

    const stored = await listTransactions(cluster.url, 'hot-a');
    expect(stored).toHaveLength(400);
    expect(new Set(stored.map((t) => t.id))).toEqual(new Set(ids));
    const storedCode = new Map(stored.map((t) => [t.id, t.code]));
    for (const answer of answers) expect(storedCode.get(answer.id)).toBe(answer.code);

    // nginx spread the load: both replicas decided authorizations.
    for (const replica of cluster.replicas) {
      expect(await scrapeMetric(replica.url, 'catraca_decisions_total', { kind: 'debit' })).toBeGreaterThan(0);
    }
  }, 90_000);

  it('a replica SIGKILLed mid-run: the survivor keeps answering, balances stay exact, the dead locks expire with the session', async () => {
    const opening = 1_000; // never exhausted: an approval after the kill must stay possible
    // With cluster ownership the account's home replica holds its lock: 'hot-x' is homed on replica 0 (rendezvous
    // hashing over replica-0 and replica-1), the replica this test kills.
    expect(homeOf('hot-x', ['replica-0', 'replica-1'])).toBe('replica-0');
    await createAccount(cluster.url, 'hot-x', { CASH: `${opening}.00` });
    const ids = Array.from({ length: 330 }, (_, i) => `b-${i}`);
    const bound = performance.now() + 60_000;
    let decided = 0;
    const load = pool(ids, 40, async (id) => {
      const answer = await authorize(cluster.url, purchase('hot-x', id), { attempts: 200, until: bound });
      if (answer.code === '00' || answer.code === '51') decided++;
      return answer;
    });
    while (decided < 100 && performance.now() < bound) await sleep(20);

    // Kill replica 0 while its ZooKeeper session owns a lock node of the account (held or queued): direct traffic keeps
    // it contending; freeze it (SIGSTOP), look in ZooKeeper, and SIGKILL it frozen, or let it run a moment and look again.
    const replica0 = cluster.replicas[0]!;
    const session = await zookeeperSessionOf(cluster.zookeeper!, replica0.pid!);
    expect(session).toBeDefined();
    const lockPath = '/catraca/locks/account-hot-x/';
    const direct: Array<{ id: string; reply: Promise<Reply | undefined> }> = [];
    let killedAt: number | undefined;
    let deadNodes: string[] = [];
    for (let look = 0; look < 300 && killedAt === undefined; look++) {
      for (let i = 0; i < 4 && look < 25; i++) {
        const id = `b-direct-${direct.length}`;
        direct.push({ id, reply: send(replica0.url, 'POST', '/transactions', purchase('hot-x', id)).catch(() => undefined) });
      }
      await sleep(15);
      await cluster.killReplica(0, 'SIGSTOP');
      deadNodes = await ephemeralNodes(cluster.zookeeper!, session!, lockPath);
      if (deadNodes.length > 0) {
        killedAt = performance.now();
        await cluster.killReplica(0, 'SIGKILL');
      } else {
        await cluster.killReplica(0, 'SIGCONT');
      }
    }
    expect(killedAt).toBeDefined();
    // A fresh purchase right after the kill, retried (same id) while it answers 07: when is it approved?
    const probe = authorize(cluster.url, purchase('hot-x', 'b-probe'), { attempts: 1_000, retryDelayMs: 50, until: bound });
    // A direct request whose outcome the client did not learn is retried with the same id through nginx.
    const directAnswers = await Promise.all(
      direct.map(async ({ id, reply }): Promise<Answer> => {
        const r = await reply;
        const code = r?.status === 200 ? (JSON.parse(r.text) as { code: Answer['code'] }).code : undefined;
        if (code === '00' || code === '51') {
          return { id, code, reason: '', replayed: false, attempts: 1, sentAt: 0, answeredAt: killedAt! };
        }
        return authorize(cluster.url, purchase('hot-x', id), { attempts: 200, until: bound });
      }),
    );
    // The dead session's lock nodes go when ZooKeeper expires the session (bounded; not a timing assertion).
    let expiredMs: number | undefined;
    while (expiredMs === undefined && performance.now() - killedAt! < 6 * SESSION_TIMEOUT_MS) {
      if ((await ephemeralNodes(cluster.zookeeper!, session!, lockPath)).length === 0) expiredMs = performance.now() - killedAt!;
      else await sleep(100);
    }
    expect(expiredMs).toBeDefined();
    const probed = await probe;
    const answers = [...(await load), ...directAnswers, probed];
    expect(cluster.replicas[0]!.running).toBe(false);

    // Every request was answered (a 07 is allowed during the fault; the client retried it with the same id).
    const byCode = (code: string) => answers.filter((a) => a.code === code);
    expect(byCode('none')).toEqual([]);

    // The store: exact balance, every approval the client saw is there, nothing the client saw contradicts it.
    const account = await getAccount(cluster.replicas[1]!.url, 'hot-x');
    const stored = await listTransactions(cluster.replicas[1]!.url, 'hot-x');
    const approvedInStore = stored.filter((t) => t.code === '00');
    expect(new Set(stored.map((t) => t.id)).size).toBe(stored.length);
    expect(centavos(account.balances.CASH)).toBe(opening * 100 - approvedInStore.length * 100);
    expect(account.version).toBe(stored.length);
    const storedCode = new Map(stored.map((t) => [t.id, t.code]));
    for (const answer of answers) {
      if (answer.code === '00' || answer.code === '51') expect(storedCode.get(answer.id)).toBe(answer.code);
      else expect(storedCode.get(answer.id)).toBeUndefined();
    }
    expect(approvedInStore.length).toBeLessThanOrEqual(opening);
    if (byCode('51').length > 0) expect(approvedInStore.length).toBe(opening);

    // The dead replica's lock node blocked the account at most until ZooKeeper expired its session: the survivor
    // approves the probe within a bound derived from the session timeout (generous: expiry is detected on the
    // server's tick, and the machine is loaded).
    expect(probed.code).toBe('00');
    const recoveredMs = probed.answeredAt - killedAt!;
    expect(recoveredMs).toBeLessThan(3 * SESSION_TIMEOUT_MS + 10_000);

    // The killed replica comes back on its port and answers a replay with the first answer.
    await cluster.restartReplica(0);
    const first = answers.find((a) => a.code === '00')!;
    const replay = await send(cluster.replicas[0]!.url, 'POST', '/transactions', purchase('hot-x', first.id));
    expect(replay.text).toBe('{"code":"00"}');
    expect(replay.headers.get('catraca-replayed')).toBe('true');
    expect((await getAccount(cluster.url, 'hot-x')).version).toBe(stored.length);
    process.stdout.write(
      `cluster e2e: killed holding ${deadNodes.length} lock node(s); they expired after ${Math.round(expiredMs!)} ms, ` +
        `first approval ${Math.round(recoveredMs)} ms after SIGKILL (session ${SESSION_TIMEOUT_MS} ms)\n`,
    );
  }, 100_000);
});
