import { CoordinationUnavailableError, LocalLockManager, type LockManager } from '@catraca/coordination';
import { MemoryCache } from '@catraca/cache';
import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createThrowawayDatabase } from '../../../test-support/postgres.js';
import type { Balances, Category, TransactionRecord } from '../src/domain/types.js';
import { StoreUnavailableError } from '../src/errors.js';
import { Metrics } from '../src/metrics.js';
import { Authorizer, type DebitRequest, type ReversalRequest } from '../src/service/authorizer.js';
import type { Outcome } from '../src/service/outcome.js';
import { RuleBook } from '../src/service/rule-book.js';
import { openPostgresStore, openSqliteStore } from '../src/store/index.js';
import type { Store } from '../src/store/port.js';
import { silent } from './helpers.js';

/*
 * Reversals as first-class jobs of the account gate (SPEC §2.7, §3): decided in the batch on the running state, with
 * the same lock, fence and deadline as purchases, in every lock mode; and a property test that interleaves purchases,
 * retries, partial and full reversals against a model.
 */

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

type StoreKind = 'sqlite' | 'postgres';
type LockMode = 'local' | 'none' | 'down-fence-only' | 'down-fail-closed';

/** A lock service that is down: every acquire fails as an outage. */
const downLocks = (): LockManager => ({
  state: 'suspended',
  acquire: async () => {
    throw new CoordinationUnavailableError('no quorum');
  },
  withLock: async () => {
    throw new CoordinationUnavailableError('no quorum');
  },
  onStateChange: () => () => {},
  close: async () => {},
});

/** `inner` with `commit` replaced by `commit(inner, …args)` (methods bound to `inner`: it has private fields). */
function withCommit(inner: Store, commit: (target: Store, ...args: Parameters<Store['commit']>) => ReturnType<Store['commit']>): Store {
  return new Proxy(inner, {
    get: (target, prop) => {
      if (prop === 'commit') return (...args: Parameters<Store['commit']>) => commit(target, ...args);
      const value = Reflect.get(target, prop, target) as unknown;
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

async function openStore(kind: StoreKind): Promise<Store> {
  if (kind === 'postgres') {
    const db = await createThrowawayDatabase();
    const store = await openPostgresStore({ connectionString: db.connectionString, maxConnections: 3 });
    cleanups.push(async () => {
      await store.close();
      await db.drop();
    });
    return store;
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'catraca-rev-'));
  const store = await openSqliteStore({ path: path.join(dir, 'db.sqlite'), durability: 'normal' });
  cleanups.push(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return store;
}

async function setup(options: { store?: StoreKind; locks?: LockMode; wrap?: (store: Store) => Store } = {}) {
  const raw = await openStore(options.store ?? 'sqlite');
  const store = options.wrap ? options.wrap(raw) : raw;
  const mode = options.locks ?? 'local';
  const locks = mode === 'local' ? new LocalLockManager() : mode === 'none' ? undefined : downLocks();
  // No merchant rules: the category is the MCC's, which the model below knows.
  const rules = new RuleBook(store, silent, 60_000);
  await rules.start(undefined);
  const metrics = new Metrics({ defaultMetrics: false });
  const authorizer = new Authorizer({
    store,
    cache: new MemoryCache(),
    locks,
    lockKey: (id) => `account-${id}`,
    lockUnavailable: mode === 'down-fail-closed' ? 'fail-closed' : 'fence-only',
    maxBatch: 16,
    maxHoldMs: 20,
    rules,
    metrics,
    logger: silent,
    commitTimeoutMs: 2_000,
  });
  cleanups.push(async () => {
    await authorizer.idle();
    await rules.stop();
    await locks?.close();
  });
  return { store, authorizer, metrics, locks };
}

const MCC: Record<Category, string> = { FOOD: '5411', MEAL: '5811', CASH: '5999' };
const buy = (id: string, amount: number, category: Category = 'FOOD', accountId = 'acc'): DebitRequest => ({
  id,
  accountId,
  amount,
  mcc: MCC[category],
  merchant: 'LOJA',
});
const rev = (id: string, originalId: string, amount?: number, accountId = 'acc'): ReversalRequest => ({
  id,
  accountId,
  originalId,
  amount,
});
const budget = (ms = 5_000) => AbortSignal.timeout(ms);
const answer = (o: Outcome) => [o.code, o.reason];

/** A promise you settle by hand. */
function manual() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

/** Holds the first commit until `hold.open()`; later commits pass. */
function holdFirstCommit(hold: { opened: Promise<void> }) {
  let first = true;
  return (inner: Store) =>
    withCommit(inner, async (target, request, options) => {
      if (first) {
        first = false;
        await hold.opened;
      }
      return target.commit(request, options);
    });
}

/** Lets the event loop run until the gate has queued what was sent. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 30));

describe('reversals in the account gate', () => {
  it('a purchase queued behind a reversal of it in the same batch is refused 07 reversed and changes nothing', async () => {
    const hold = manual();
    const { store, authorizer, metrics } = await setup({ wrap: holdFirstCommit(hold) });
    await store.createAccount('acc', { FOOD: 1_000, MEAL: 0, CASH: 0 });
    const blocker = authorizer.authorize(buy('tx-0', 100), budget());
    await settle();
    const reversal = authorizer.reverse(rev('rev-1', 'tx-1'), budget());
    const late = authorizer.authorize(buy('tx-1', 300), budget());
    await settle();
    hold.open();
    expect(answer(await blocker)).toEqual(['00', 'approved']);
    expect(answer(await reversal)).toEqual(['00', 'original_unknown']);
    expect(answer(await late)).toEqual(['07', 'reversed']);
    expect((await store.getAccount('acc'))!.balances.FOOD).toBe(900);
    expect(await store.getTransaction('tx-1')).toBeUndefined();
    // The two were one batch: one batch for the blocker, one for both.
    const batches = (await metrics.batchSize.get()).values.find((v) => v.metricName === 'catraca_lock_batch_size_count');
    expect(batches!.value).toBe(2);
    expect(answer(await authorizer.authorize(buy('tx-1', 300), budget()))).toEqual(['07', 'reversed']);
  });

  it('a reversal queued behind its purchase in the same batch sees it approved and gives it back', async () => {
    const hold = manual();
    const { store, authorizer } = await setup({ wrap: holdFirstCommit(hold) });
    await store.createAccount('acc', { FOOD: 1_000, MEAL: 0, CASH: 0 });
    const blocker = authorizer.authorize(buy('tx-0', 100), budget());
    await settle();
    const purchase = authorizer.authorize(buy('tx-1', 300), budget());
    const partial = authorizer.reverse(rev('rev-1', 'tx-1', 200), budget());
    const rest = authorizer.reverse(rev('rev-2', 'tx-1'), budget());
    const over = authorizer.reverse(rev('rev-3', 'tx-1', 1), budget());
    await settle();
    hold.open();
    await blocker;
    expect(answer(await purchase)).toEqual(['00', 'approved']);
    expect(answer(await partial)).toEqual(['00', 'reversed']);
    expect(answer(await rest)).toEqual(['00', 'reversed']);
    expect(answer(await over)).toEqual(['07', 'exceeds_remaining']);
    expect((await store.getAccount('acc'))!.balances.FOOD).toBe(900);
    expect((await store.getTransaction('rev-2'))!.amount).toBe(100);
  });

  it('a reversal sent while its purchase is committing waits its turn, then gives it back', async () => {
    const hold = manual();
    const { store, authorizer } = await setup({ wrap: holdFirstCommit(hold) });
    await store.createAccount('acc', { FOOD: 0, MEAL: 0, CASH: 1_000 });
    const purchase = authorizer.authorize(buy('tx-1', 300, 'MEAL'), budget());
    await settle();
    const reversal = authorizer.reverse(rev('rev-1', 'tx-1'), budget());
    await settle();
    hold.open();
    expect(answer(await purchase)).toEqual(['00', 'approved']);
    expect(answer(await reversal)).toEqual(['00', 'reversed']);
    expect((await store.getAccount('acc'))!.balances).toEqual({ FOOD: 0, MEAL: 0, CASH: 1_000 });
  });

  it('a reversal whose deadline passes while it waits is 07 deadline_exceeded, not remembered', async () => {
    const { store, authorizer, locks } = await setup();
    await store.createAccount('acc', { FOOD: 1_000, MEAL: 0, CASH: 0 });
    expect(answer(await authorizer.authorize(buy('tx-1', 300), budget()))).toEqual(['00', 'approved']);
    const held = await locks!.acquire('account-acc');
    expect(answer(await authorizer.reverse(rev('rev-1', 'tx-1'), AbortSignal.timeout(40)))).toEqual(['07', 'deadline_exceeded']);
    await held.release();
    expect(await store.getTransaction('rev-1')).toBeUndefined();
    expect(answer(await authorizer.reverse(rev('rev-1', 'tx-1'), budget()))).toEqual(['00', 'reversed']);
    expect((await store.getAccount('acc'))!.balances.FOOD).toBe(1_000);
  });

  it('a store that fails the commit: 07 unavailable, nothing applied; the retry applies it once', async () => {
    let failing = true;
    const { store, authorizer } = await setup({
      wrap: (inner) =>
        withCommit(inner, async (target, request, options) => {
          if (failing) throw new StoreUnavailableError('down');
          return target.commit(request, options);
        }),
    });
    await store.createAccount('acc', { FOOD: 1_000, MEAL: 0, CASH: 0 });
    failing = false;
    expect(answer(await authorizer.authorize(buy('tx-1', 300), budget()))).toEqual(['00', 'approved']);
    failing = true;
    expect(answer(await authorizer.reverse(rev('rev-1', 'tx-1'), budget()))).toEqual(['07', 'unavailable']);
    expect((await store.getAccount('acc'))!.balances.FOOD).toBe(700);
    failing = false;
    expect(answer(await authorizer.reverse(rev('rev-1', 'tx-1'), budget()))).toEqual(['00', 'reversed']);
    expect(answer(await authorizer.reverse(rev('rev-1', 'tx-1'), budget()))).toEqual(['00', 'reversed']);
    expect((await store.getAccount('acc'))!.balances.FOOD).toBe(1_000);
  });

  it('lock service down: fence-only decides reversals on the fence; fail-closed answers 07 unavailable', async () => {
    const open = await setup({ locks: 'down-fence-only' });
    await open.store.createAccount('acc', { FOOD: 1_000, MEAL: 0, CASH: 0 });
    expect(answer(await open.authorizer.authorize(buy('tx-1', 300), budget()))).toEqual(['00', 'approved']);
    const outcomes = await Promise.all(
      Array.from({ length: 10 }, (_, i) => open.authorizer.reverse(rev(`rev-${i}`, 'tx-1', 50), budget())),
    );
    expect(outcomes.filter((o) => o.code === '00')).toHaveLength(6);
    expect(outcomes.filter((o) => o.reason === 'exceeds_remaining')).toHaveLength(4);
    expect((await open.store.getAccount('acc'))!.balances.FOOD).toBe(1_000);

    const closed = await setup({ locks: 'down-fail-closed' });
    await closed.store.createAccount('acc', { FOOD: 1_000, MEAL: 0, CASH: 0 });
    expect(answer(await closed.authorizer.reverse(rev('rev-1', 'tx-1'), budget()))).toEqual(['07', 'unavailable']);
    expect((await closed.store.getAccount('acc'))!.version).toBe(0);
  });
});

/*
 * The property: random groups of operations on two accounts — purchases (ids from a small pool, so that the same id
 * comes back as a retry with the same payload), partial and full reversals (of pool ids: approved, declined, not yet
 * sent or never sent), credits — each group sent concurrently (so the gate batches them in arrival order), the groups
 * one after another. Then the stored history, replayed in version order through an independent model, must give the
 * same records and balances, and every answer must agree with it.
 */

const ACCOUNTS = ['acc-a', 'acc-b'] as const;
const POOL = 6;

type Op =
  | { kind: 'buy'; n: number }
  | { kind: 'reverse'; n: number; of: number; account: number }
  | { kind: 'credit'; n: number; category: Category; amount: number };

interface Payloads {
  buys: Array<{ account: number; amount: number; category: Category }>;
  reversals: Array<number | undefined>;
}

const categoryArb = fc.constantFrom<Category>('FOOD', 'MEAL', 'CASH');
const payloadsArb: fc.Arbitrary<Payloads> = fc.record({
  buys: fc.array(fc.record({ account: fc.integer({ min: 0, max: 1 }), amount: fc.integer({ min: 1, max: 900 }), category: categoryArb }), {
    minLength: POOL,
    maxLength: POOL,
  }),
  reversals: fc.array(fc.option(fc.integer({ min: 1, max: 600 }), { nil: undefined }), { minLength: POOL, maxLength: POOL }),
});
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('buy' as const), n: fc.nat(POOL - 1) }) },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('reverse' as const),
      n: fc.nat(POOL - 1),
      of: fc.nat(POOL), // POOL: a purchase never sent
      account: fc.integer({ min: 0, max: 1 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('credit' as const), n: fc.nat(1_000), category: categoryArb, amount: fc.integer({ min: 1, max: 500 }) }) },
);

/** The model's category for an MCC (no merchant rules), and its debit rule with the CASH fallback. */
const MODEL_CATEGORY: Record<string, Category> = { '5411': 'FOOD', '5811': 'MEAL' };

async function runProperty(kind: StoreKind, lockMode: LockMode, numRuns: number): Promise<void> {
  let run = 0;
  await fc.assert(
    fc.asyncProperty(
      payloadsArb,
      fc.array(fc.array(opArb, { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 6 }),
      async (payloads, groups) => {
        run += 1;
        // Each run's store and database go when the run ends (the shared PostgreSQL has few connections to spare).
        const mark = cleanups.length;
        try {
          await checkOneRun(payloads, groups);
        } finally {
          while (cleanups.length > mark) await cleanups.pop()!();
        }
      },
    ),
    { numRuns },
  );

  async function checkOneRun(payloads: Payloads, groups: Op[][]): Promise<void> {
    const { store, authorizer } = await setup({ store: kind, locks: lockMode });
    const prefix = `r${run}`;
    const opening: Balances = { FOOD: 1_000, MEAL: 500, CASH: 300 };
    for (const account of ACCOUNTS) await store.createAccount(`${prefix}-${account}`, opening);
    const buyId = (n: number) => `${prefix}-tx-${n}`;
    const answers: Array<{ op: Op; id: string; outcome: Outcome }> = [];
    for (const group of groups) {
      const sent = group.map(async (op) => {
        if (op.kind === 'buy') {
          const p = payloads.buys[op.n]!;
          const request = buy(buyId(op.n), p.amount, p.category, `${prefix}-${ACCOUNTS[p.account]}`);
          return { op, id: request.id!, outcome: await authorizer.authorize(request, budget()) };
        }
        if (op.kind === 'reverse') {
          // One reversal id per (pool slot, target, account): a repeat is a retry with the same payload.
          const id = `${prefix}-rev-${op.n}-${op.of}-${op.account}`;
          const request = rev(id, buyId(op.of), payloads.reversals[op.n], `${prefix}-${ACCOUNTS[op.account]}`);
          return { op, id, outcome: await authorizer.reverse(request, budget()) };
        }
        const id = `${prefix}-cr-${op.n}-${op.category}-${op.amount}`;
        const request = { id, accountId: `${prefix}-${ACCOUNTS[op.n % 2]}`, category: op.category, amount: op.amount };
        return { op, id, outcome: await authorizer.credit(request, budget()) };
      });
      answers.push(...(await Promise.all(sent)));
    }
    await authorizer.idle();

    // Replay the stored history of each account, in version order, through the model.
    const stored = new Map<string, TransactionRecord>();
    for (const account of ACCOUNTS) {
      const accountId = `${prefix}-${account}`;
      const history = (await store.listTransactions(accountId, { limit: 1_000 })).items.reverse();
      const model: Balances = { ...opening };
      const spent = new Set<string>();
      const given = new Map<string, number>();
      for (const record of history) {
        stored.set(record.id, record);
        if (record.kind === 'credit') {
          model[record.category!] += record.amount;
        } else if (record.kind === 'debit') {
          expect(spent.has(record.id), `${record.id} decided after a reversal spent its id`).toBe(false);
          const chosen = MODEL_CATEGORY[record.mcc!] ?? 'CASH';
          const applied = model[chosen] >= record.amount ? chosen : model.CASH >= record.amount ? 'CASH' : null;
          expect([record.category, record.appliedCategory, record.code]).toEqual([chosen, applied, applied === null ? '51' : '00']);
          if (applied !== null) model[applied] -= record.amount;
        } else {
          const original = stored.get(record.originalId!);
          const request = answers.find((a) => a.id === record.id)!;
          const asked = request.op.kind === 'reverse' ? payloads.reversals[request.op.n] : undefined;
          if (original === undefined || original.accountId !== accountId) {
            // Not (yet) on this account. Another account's purchase stored before it would have made it a 07 (not
            // recorded); one stored after it is another account's business.
            expect([record.reason, record.amount]).toEqual(['original_unknown', 0]);
            spent.add(record.originalId!);
            continue;
          }
          const remaining = original.code === '00' ? original.amount - (given.get(original.id) ?? 0) : 0;
          const restored = asked ?? remaining;
          expect(restored).toBeLessThanOrEqual(remaining === 0 && original.code !== '00' ? Infinity : remaining);
          const expected = original.code !== '00' || restored === 0 ? ['nothing_to_reverse', 0, null] : ['reversed', restored, original.appliedCategory];
          expect([record.reason, record.amount, record.appliedCategory]).toEqual(expected);
          if (record.appliedCategory !== null) model[record.appliedCategory] += record.amount;
          given.set(original.id, (given.get(original.id) ?? 0) + record.amount);
          expect(given.get(original.id)!).toBeLessThanOrEqual(original.amount);
        }
      }
      const account_ = (await store.getAccount(accountId))!;
      expect(account_.balances).toEqual(model);
      expect(account_.version).toBe(history.length);
      // Ledger: starting + credits − approved debits + reversals = balance, entry by entry.
      const ledger = await store.listLedger(accountId);
      const sums: Balances = { FOOD: 0, MEAL: 0, CASH: 0 };
      for (const entry of ledger) {
        sums[entry.category] += entry.delta;
        expect(entry.balanceAfter).toBe(sums[entry.category]);
      }
      expect(sums).toEqual(model);
    }

    // Every answer agrees with the store.
    const refusedAsReversed = new Set<string>();
    const approved = new Set<string>();
    for (const { op, id, outcome } of answers) {
      const record = stored.get(id);
      if (outcome.code === '00' || outcome.code === '51') {
        expect(record, `${id} answered ${outcome.code} but not stored`).toBeDefined();
        expect([record!.code, record!.reason]).toEqual([outcome.code, outcome.reason]);
        if (op.kind === 'buy' && outcome.code === '00') approved.add(id);
        continue;
      }
      expect(record, `${id} answered 07 ${outcome.reason} but stored`).toBeUndefined();
      if (op.kind === 'buy') {
        expect(outcome.reason).toBe('reversed');
        refusedAsReversed.add(id);
      } else if (op.kind === 'reverse') {
        expect(['exceeds_remaining', 'account_mismatch']).toContain(outcome.reason);
      } else {
        expect.unreachable(`credit ${id} answered 07 ${outcome.reason}`);
      }
    }
    for (const id of refusedAsReversed) expect(approved.has(id), `${id} approved and refused as reversed`).toBe(false);
  }
}

describe('property: purchases, retries, partial and full reversals in random order, against a model', () => {
  it('sqlite, local lock', () => runProperty('sqlite', 'local', 40), 120_000);
  it('sqlite, no lock (LOCK=none: the in-process queue and the fence)', () => runProperty('sqlite', 'none', 15), 120_000);
  it('sqlite, lock service down (fence-only)', () => runProperty('sqlite', 'down-fence-only', 15), 120_000);
  it('postgres, local lock', () => runProperty('postgres', 'local', 8), 180_000);
});
