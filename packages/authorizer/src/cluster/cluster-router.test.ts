import { LocalLockManager } from '@catraca/coordination';
import { pino } from 'pino';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { Metrics } from '../metrics.js';
import type { Authorizer, DebitRequest, Job } from '../service/authorizer.js';
import type { Outcome } from '../service/outcome.js';
import { ClusterRouter } from './cluster-router.js';
import { ForwardClient } from './forward-client.js';
import { InternalServer } from './internal-server.js';
import { KeptLocks } from './kept-locks.js';
import { StaticMembership } from './membership.js';
import { homeOf } from './rendezvous.js';

const logger = pino({ level: 'silent' });
const SECRET = 'a-cluster-secret-of-some-length';

interface Replica {
  id: string;
  router: ClusterRouter;
  membership: StaticMembership;
  served: DebitRequest[];
  /** What the stub authorizer answers (after `delayMs`). */
  answer: { delayMs: number; outcome: (request: DebitRequest) => Outcome };
  locks: KeptLocks;
  server: InternalServer;
  client: ForwardClient;
}

const debit = (accountId: string, id: string): Job => ({
  kind: 'debit',
  id,
  hash: 'h',
  request: { id, accountId, amount: 100, mcc: '5999', merchant: 'LOJA' },
});

describe('ClusterRouter (two in-process replicas, real internal channel)', () => {
  const replicas: Replica[] = [];
  afterEach(async () => {
    for (const r of replicas.splice(0)) {
      r.router.close();
      await r.server.close();
      await r.client.close();
      await r.locks.close();
    }
  });

  async function start(ids: string[], options: { secretOf?: (id: string) => string; deadlineMs?: number } = {}) {
    const urls = new Map<string, string>();
    for (const id of ids) {
      const replica = {} as Replica;
      replica.id = id;
      replica.served = [];
      replica.answer = { delayMs: 0, outcome: (r) => ({ code: '00', reason: 'approved', transactionId: r.id!, replayed: false }) };
      replica.locks = new KeptLocks(new LocalLockManager(), { logger });
      replica.client = new ForwardClient(options.secretOf?.(id) ?? SECRET, 4);
      const authorizer = {
        authorize: async (request: DebitRequest, signal: AbortSignal) => {
          replica.served.push(request);
          // The owner takes the account's lock, as the real gate does, so that it has an epoch to report.
          const lock = await replica.locks.acquire(`account-${request.accountId}`);
          await lock.release();
          // A commit in progress: not abandoned when the budget runs out.
          if (replica.answer.delayMs > 0) await sleep(replica.answer.delayMs);
          void signal;
          return replica.answer.outcome(request);
        },
      } as unknown as Authorizer;
      replica.server = new InternalServer({
        host: '127.0.0.1',
        port: 0,
        secret: SECRET,
        maxBudgetMs: 10_000,
        handler: { serveForwarded: (body, epoch, signal) => replica.router.serveForwarded(body, epoch, signal) },
        logger,
      });
      urls.set(id, `http://127.0.0.1:${await replica.server.listen()}`);
      replica.membership = new StaticMembership(id, urls);
      replica.router = new ClusterRouter({
        membership: replica.membership,
        locks: replica.locks,
        lockKey: (a) => `account-${a}`,
        accountOf: (k) => k.slice('account-'.length),
        client: replica.client,
        deadlineMs: options.deadlineMs ?? 1_000,
        replyMarginMs: 10,
        commitGraceMs: 20,
        handoverPerTick: 100,
        handoverTickMs: 10,
        coordinationUsable: () => true,
        metrics: new Metrics({ defaultMetrics: false }),
        logger,
      });
      replica.router.attach(authorizer);
      replicas.push(replica);
    }
    return replicas;
  }

  /** An account homed on `member` among `members`. */
  const accountHomedOn = (member: string, members: string[]): string => {
    for (let i = 0; ; i++) if (homeOf(`acc-${i}`, members) === member) return `acc-${i}`;
  };

  it('serves an account homed here locally and forwards one homed elsewhere, relaying the answer', async () => {
    const [a, b] = await start(['a', 'b']);
    const mine = accountHomedOn('a', ['a', 'b']);
    const theirs = accountHomedOn('b', ['a', 'b']);
    expect(await a!.router.route(debit(mine, 't1'), AbortSignal.timeout(1_000))).toBeUndefined();
    b!.answer.outcome = (r) => ({ code: '51', reason: 'insufficient_funds', transactionId: r.id!, replayed: true });
    const outcome = await a!.router.route(debit(theirs, 't2'), AbortSignal.timeout(1_000));
    expect(outcome).toEqual({ code: '51', reason: 'insufficient_funds', transactionId: 't2', replayed: true });
    expect(b!.served.map((r) => r.id)).toEqual(['t2']);
    expect(a!.served).toEqual([]);
  });

  it('a home that does not answer in time: 07 in_progress (it may still commit), never deadline_exceeded', async () => {
    const [a, b] = await start(['a', 'b'], { deadlineMs: 100 });
    b!.answer.delayMs = 600;
    const theirs = accountHomedOn('b', ['a', 'b']);
    const outcome = await a!.router.route(debit(theirs, 't3'), AbortSignal.timeout(100));
    expect(outcome).toMatchObject({ code: '07', reason: 'in_progress', transactionId: 't3' });
  });

  it('a receiver that is not the home runs nothing; the sender refreshes once and serves it where the views agree', async () => {
    const [a, b] = await start(['a', 'b']);
    const account = accountHomedOn('b', ['a', 'b']);
    // b has seen a membership change that a has not: b alone (of the two) thinks only a is live.
    b!.membership.set(new Map([['a', a!.membership.members().get('a')!]]));
    const outcome = await a!.router.route(debit(account, 't4'), AbortSignal.timeout(1_000));
    // b answered not_owner naming a as home: a serves it itself (route → undefined).
    expect(outcome).toBeUndefined();
    expect(b!.served).toEqual([]);
  });

  it('refuses callers without the secret: nothing runs, the sender answers 07 unavailable', async () => {
    const [a, b] = await start(['a', 'b'], { secretOf: (id) => (id === 'a' ? 'the-wrong-secret-for-this' : SECRET) });
    const theirs = accountHomedOn('b', ['a', 'b']);
    const outcome = await a!.router.route(debit(theirs, 't5'), AbortSignal.timeout(1_000));
    expect(outcome).toMatchObject({ code: '07', reason: 'unavailable' });
    expect(b!.served).toEqual([]);
  });

  it('an unreachable home: 07 unavailable (the connection was refused: nothing ran)', async () => {
    const [a, b] = await start(['a', 'b']);
    const theirs = accountHomedOn('b', ['a', 'b']);
    await b!.server.close();
    const outcome = await a!.router.route(debit(theirs, 't6'), AbortSignal.timeout(1_000));
    expect(outcome).toMatchObject({ code: '07', reason: 'unavailable' });
  });

  it('sends the epoch it last saw; a receiver holding an older one answers not_owner without running anything', async () => {
    const [a, b] = await start(['a', 'b']);
    const theirs = accountHomedOn('b', ['a', 'b']);
    await a!.router.route(debit(theirs, 't7'), AbortSignal.timeout(1_000));
    const token = b!.locks.tokenOf(`account-${theirs}`)!;
    expect(token).toBeDefined();
    const reply = await b!.router.serveForwarded(
      { kind: 'debit', id: 't8', request: { id: 't8', accountId: theirs, amount: 100, mcc: '5999', merchant: 'LOJA' } },
      token + 1n,
      AbortSignal.timeout(1_000),
    );
    expect(reply.status).toBe('not_owner');
    expect(b!.served.map((r) => r.id)).toEqual(['t7']);
  });

  it('on a membership change, lets go of the kept locks of accounts now homed elsewhere', async () => {
    const [a, b] = await start(['a', 'b']);
    const theirs = accountHomedOn('b', ['a', 'b']);
    await a!.router.route(debit(theirs, 't9'), AbortSignal.timeout(1_000));
    expect(b!.locks.keys()).toEqual([`account-${theirs}`]);
    b!.membership.set(new Map([['a', a!.membership.members().get('a')!]]));
    for (let i = 0; i < 50 && b!.locks.size > 0; i++) await sleep(10);
    expect(b!.locks.size).toBe(0);
  });
});
