import {
  CoordinationUnavailableError,
  LocalLockManager,
  type AcquireOptions,
  type ConnectionState,
  type Lock,
  type LockManager,
} from '@catraca/coordination';
import { MemoryCache } from '@catraca/cache';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_MERCHANT_RULES } from '../src/domain/index.js';
import { StoreUnavailableError } from '../src/errors.js';
import { Metrics } from '../src/metrics.js';
import type { LockUnavailablePolicy } from '../src/service/account-gate.js';
import { Authorizer, type DebitRequest } from '../src/service/authorizer.js';
import { RuleBook } from '../src/service/rule-book.js';
import { openSqliteStore } from '../src/store/index.js';
import type { Store } from '../src/store/port.js';
import { silent } from './helpers.js';

/** A lock service that is down: every acquire fails as an outage (not as a busy lock). */
class DownLockManager implements LockManager {
  readonly state: ConnectionState = 'suspended';
  async acquire(_key: string, _options?: AcquireOptions): Promise<Lock> {
    throw new CoordinationUnavailableError('no quorum');
  }
  withLock<T>(): Promise<T> {
    throw new CoordinationUnavailableError('no quorum');
  }
  onStateChange(): () => void {
    return () => {};
  }
  async close(): Promise<void> {}
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** A promise you settle by hand: lets a test hold a commit or a release open without any clock. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

/** `inner` with every commit held until `until()` resolves (methods bound to `inner`: it has private fields). */
function holdingCommits(inner: Store, until: () => Promise<void>): Store {
  return new Proxy(inner, {
    get: (target, prop) => {
      if (prop === 'commit') {
        return async (...args: Parameters<Store['commit']>) => {
          await until();
          return target.commit(...args);
        };
      }
      const value = Reflect.get(target, prop, target) as unknown;
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

async function setup(
  options: { locks?: LockManager | undefined; policy?: LockUnavailablePolicy; wrapStore?: (store: Store) => Store } = {},
) {
  const dir = mkdtempSync(path.join(tmpdir(), 'catraca-authz-'));
  const raw: Store = await openSqliteStore({ path: path.join(dir, 'db.sqlite'), durability: 'normal' });
  const store = options.wrapStore ? options.wrapStore(raw) : raw;
  await store.init();
  const metrics = new Metrics({ defaultMetrics: false });
  const rules = new RuleBook(store, silent, 60_000);
  await rules.start(DEFAULT_MERCHANT_RULES);
  const locks = 'locks' in options ? options.locks : new LocalLockManager();
  const cache = new MemoryCache();
  const authorizer = new Authorizer({
    store,
    cache,
    locks,
    lockKey: (id) => `account-${id}`,
    lockUnavailable: options.policy ?? 'fence-only',
    maxBatch: 16,
    maxHoldMs: 20,
    rules,
    metrics,
    logger: silent,
    commitTimeoutMs: 2_000,
  });
  cleanups.push(async () => {
    await rules.stop();
    await locks?.close();
    await raw.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { store, authorizer, metrics, locks, cache };
}

const debit = (id: string, amount = 100): DebitRequest => ({
  id,
  accountId: 'acc',
  amount,
  mcc: '5999',
  merchant: 'LOJA',
});
const budget = (ms = 5_000) => AbortSignal.timeout(ms);

describe('Authorizer', () => {
  it('answers 07 deadline_exceeded and changes nothing when the lock stays busy past the deadline', async () => {
    const { store, authorizer, locks } = await setup();
    await store.createAccount('acc', { FOOD: 0, MEAL: 0, CASH: 1_000 });
    const held = await locks!.acquire('account-acc');
    const outcome = await authorizer.authorize(debit('late'), AbortSignal.timeout(50));
    expect(outcome).toMatchObject({ code: '07', reason: 'deadline_exceeded' });
    await held.release();
    expect((await store.getAccount('acc'))!.balances.CASH).toBe(1_000);
    expect(await store.getTransaction('late')).toBeUndefined();
    // A 07 from a passing condition is not remembered: the retry is processed afresh.
    expect(await authorizer.authorize(debit('late'), budget())).toMatchObject({ code: '00', reason: 'approved' });
  });

  it('applies concurrent requests with the same id once, all getting the first answer', async () => {
    const { store, authorizer } = await setup();
    await store.createAccount('acc', { FOOD: 0, MEAL: 0, CASH: 1_000 });
    const outcomes = await Promise.all(Array.from({ length: 20 }, () => authorizer.authorize(debit('same'), budget())));
    expect(outcomes.every((o) => o.code === '00')).toBe(true);
    expect(outcomes.filter((o) => !o.replayed)).toHaveLength(1);
    expect((await store.getAccount('acc'))!.balances.CASH).toBe(900);
  });

  it('finds a replay in the store when the cache has forgotten it', async () => {
    const { store, authorizer, cache } = await setup();
    await store.createAccount('acc', { FOOD: 0, MEAL: 0, CASH: 1_000 });
    expect((await authorizer.authorize(debit('x'), budget())).code).toBe('00');
    await cache.delete('tx:x');
    expect(await authorizer.authorize(debit('x'), budget())).toMatchObject({ code: '00', replayed: true });
    expect(await authorizer.authorize(debit('x', 101), budget())).toMatchObject({ code: '07', reason: 'id_conflict' });
    expect((await store.getAccount('acc'))!.balances.CASH).toBe(900);
  });

  it('answers an id already stored from its record, inside a batch, and decides the rest afresh', async () => {
    const { store, authorizer, cache } = await setup();
    await store.createAccount('acc', { FOOD: 0, MEAL: 0, CASH: 1_000 });
    expect((await authorizer.authorize(debit('d-3'), budget())).code).toBe('00');
    await cache.delete('tx:d-3');
    const outcomes = await Promise.all(
      Array.from({ length: 8 }, (_, i) => authorizer.authorize(debit(`d-${i}`, i === 5 ? 999 : 100), budget())),
    );
    expect(outcomes.map((o) => o.code)).toEqual(['00', '00', '00', '00', '00', '51', '00', '00']);
    expect(outcomes[3]).toMatchObject({ replayed: true });
    expect((await store.getAccount('acc'))!.balances.CASH).toBe(1_000 - 7 * 100);
  });

  it('serves a hot account in batches: one acquisition for many transactions', async () => {
    const { store, authorizer, metrics } = await setup();
    await store.createAccount('acc', { FOOD: 0, MEAL: 0, CASH: 100_000 });
    const outcomes = await Promise.all(
      Array.from({ length: 64 }, (_, i) => authorizer.authorize(debit(`b-${i}`), budget())),
    );
    expect(outcomes.every((o) => o.code === '00')).toBe(true);
    const batches = (await metrics.batchSize.get()).values.find((v) => v.metricName === 'catraca_lock_batch_size_count');
    expect(batches!.value).toBeLessThan(64);
    expect((await store.getAccount('acc'))!.balances.CASH).toBe(100_000 - 64 * 100);
  });

  it('lock unavailable, fence-only: decides on the store fence alone and keeps balances exact', async () => {
    const { store, authorizer, metrics } = await setup({ locks: new DownLockManager(), policy: 'fence-only' });
    await store.createAccount('acc', { FOOD: 0, MEAL: 0, CASH: 1_000 });
    const outcomes = await Promise.all(Array.from({ length: 30 }, (_, i) => authorizer.authorize(debit(`f-${i}`), budget())));
    expect(outcomes.filter((o) => o.code === '00')).toHaveLength(10);
    expect(outcomes.filter((o) => o.code === '51')).toHaveLength(20);
    expect((await store.getAccount('acc'))!.balances.CASH).toBe(0);
    const degraded = await metrics.degraded.get();
    expect(degraded.values[0]!.value).toBeGreaterThan(0);
  });

  it('lock unavailable, fail-closed: answers 07 unavailable and changes nothing', async () => {
    const { store, authorizer } = await setup({ locks: new DownLockManager(), policy: 'fail-closed' });
    await store.createAccount('acc', { FOOD: 0, MEAL: 0, CASH: 1_000 });
    expect(await authorizer.authorize(debit('c'), budget())).toMatchObject({ code: '07', reason: 'unavailable' });
    expect((await store.getAccount('acc'))!.version).toBe(0);
  });

  it('with no lock at all (LOCK=none) the in-process queue and the version fence keep balances exact', async () => {
    const { store, authorizer } = await setup({ locks: undefined });
    await store.createAccount('acc', { FOOD: 0, MEAL: 0, CASH: 5_000 });
    const outcomes = await Promise.all(Array.from({ length: 80 }, (_, i) => authorizer.authorize(debit(`n-${i}`), budget())));
    expect(outcomes.filter((o) => o.code === '00')).toHaveLength(50);
    expect((await store.getAccount('acc'))!.balances.CASH).toBe(0);
  });
});

describe('Authorizer: every wait is bounded by the request\'s own deadline', () => {
  it('a request queued behind a slow commit leaves the queue at its deadline, before that commit ends', async () => {
    const hold = gate();
    const { store, authorizer } = await setup({ wrapStore: (inner) => holdingCommits(inner, () => hold.opened) });
    await store.createAccount('acc', { FOOD: 0, MEAL: 0, CASH: 1_000 });
    const order: string[] = [];
    const first = authorizer.authorize(debit('slow'), budget()).then((o) => (order.push('first'), o));
    await new Promise((resolve) => setTimeout(resolve, 20));
    const second = authorizer.authorize(debit('queued'), AbortSignal.timeout(30)).then((o) => (order.push('second'), o));
    expect(await second).toMatchObject({ code: '07', reason: 'deadline_exceeded' });
    hold.open();
    expect(await first).toMatchObject({ code: '00' });
    expect(order).toEqual(['second', 'first']);
    expect(await store.getTransaction('queued')).toBeUndefined();
  });

  it('a slow lock release does not hold the next request of the account past its deadline', async () => {
    const hold = gate();
    const inner = new LocalLockManager();
    let slowRelease = true;
    const locks: LockManager = {
      get state() {
        return inner.state;
      },
      onStateChange: (listener) => inner.onStateChange(listener),
      close: () => inner.close(),
      withLock: (key, fn, options) => inner.withLock(key, fn, options),
      acquire: async (key, options) => {
        const lock = await inner.acquire(key, options);
        const release = async () => {
          if (slowRelease) await hold.opened;
          await lock.release();
        };
        return Object.assign(Object.create(lock) as Lock, { release });
      },
    };
    const { store, authorizer } = await setup({ locks });
    await store.createAccount('acc', { FOOD: 0, MEAL: 0, CASH: 1_000 });
    expect(await authorizer.authorize(debit('a'), budget())).toMatchObject({ code: '00' });
    // a's lock is still being released: b waits for the lock only until its own deadline.
    expect(await authorizer.authorize(debit('b'), AbortSignal.timeout(30))).toMatchObject({
      code: '07',
      reason: 'deadline_exceeded',
    });
    slowRelease = false;
    hold.open();
    await authorizer.idle();
    expect(await authorizer.authorize(debit('b'), budget())).toMatchObject({ code: '00' });
  });

  it('a same-id request waiting for the first one answers at its own deadline', async () => {
    const hold = gate();
    const { store, authorizer } = await setup({ wrapStore: (inner) => holdingCommits(inner, () => hold.opened) });
    await store.createAccount('acc', { FOOD: 0, MEAL: 0, CASH: 1_000 });
    const first = authorizer.authorize(debit('same'), budget());
    const second = await authorizer.authorize(debit('same'), AbortSignal.timeout(30));
    // SPEC §2.3: the first copy may still apply the id, so the outcome is not known yet (was deadline_exceeded).
    expect(second).toMatchObject({ code: '07', reason: 'in_progress' });
    hold.open();
    expect(await first).toMatchObject({ code: '00' });
  });
});

describe('Authorizer: a 07 that may accompany a change says so (SPEC §2.3)', () => {
  it('a commit whose reply was lost answers 07 outcome_unknown; a retry with the same id gives the final answer', async () => {
    let loseReply = true;
    const { store, authorizer } = await setup({
      wrapStore: (inner) =>
        new Proxy(inner, {
          get: (target, prop) => {
            if (prop === 'commit') {
              return async (...args: Parameters<Store['commit']>) => {
                const result = await target.commit(...args);
                if (loseReply) throw new StoreUnavailableError('reply lost', { outcomeUnknown: true });
                return result;
              };
            }
            const value = Reflect.get(target, prop, target) as unknown;
            return typeof value === 'function' ? value.bind(target) : value;
          },
        }),
    });
    await store.createAccount('acc', { FOOD: 0, MEAL: 0, CASH: 1_000 });
    expect(await authorizer.authorize(debit('lost'), budget())).toMatchObject({ code: '07', reason: 'outcome_unknown' });
    loseReply = false;
    expect(await authorizer.authorize(debit('lost'), budget())).toMatchObject({ code: '00', replayed: true });
    expect((await store.getAccount('acc'))!.balances.CASH).toBe(900);
  });

  it('a plain store failure stays 07 unavailable', async () => {
    const { store, authorizer } = await setup({
      wrapStore: (inner) =>
        new Proxy(inner, {
          get: (target, prop) => {
            if (prop === 'commit') return async () => Promise.reject(new StoreUnavailableError('down'));
            const value = Reflect.get(target, prop, target) as unknown;
            return typeof value === 'function' ? value.bind(target) : value;
          },
        }),
    });
    await store.createAccount('acc', { FOOD: 0, MEAL: 0, CASH: 1_000 });
    expect(await authorizer.authorize(debit('down'), budget())).toMatchObject({ code: '07', reason: 'unavailable' });
  });
});
