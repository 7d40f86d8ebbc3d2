import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CATEGORIES } from '../src/domain/types.js';
import type { Account, Balances, Category, LedgerEntry, TransactionRecord } from '../src/domain/types.js';
import { AccountExistsError, StoreUnavailableError } from '../src/errors.js';
import type { CommitRequest, Store } from '../src/store/index.js';

/** What a contract run needs from an adapter's test file. */
export interface StoreFixture {
  /** A fresh store on an empty database, not yet initialised. */
  store: Store;
  /** Another store instance on the same database (another connection, another replica), when the adapter has one. */
  peer?: () => Promise<Store>;
  cleanup(): Promise<void>;
}

/*
 * The behaviour every store adapter owes the authorizer (src/store/port.ts). Each adapter's integration test calls
 * this with a factory that opens the adapter on a throwaway database.
 */
export function describeStoreContract(name: string, factory: () => Promise<StoreFixture>): void {
  describe(`store contract: ${name}`, () => {
    let fixture: StoreFixture;
    let store: Store;
    const peers: Store[] = [];

    beforeEach(async () => {
      fixture = await factory();
      store = fixture.store;
      await store.init();
    });

    afterEach(async () => {
      for (const peer of peers.splice(0)) await peer.close();
      await store.close();
      await fixture.cleanup();
    });

    async function openPeer(): Promise<Store> {
      if (fixture.peer === undefined) return store;
      const peer = await fixture.peer();
      peers.push(peer);
      await peer.init();
      return peer;
    }

    /** Everything observable about one account, to compare before and after a refused write. */
    async function snapshot(accountId: string, ids: string[] = []) {
      return {
        account: await store.getAccount(accountId),
        ledger: await store.listLedger(accountId),
        page: await store.listTransactions(accountId, { limit: 100 }),
        records: await Promise.all(ids.map((id) => store.getTransaction(id))),
      };
    }

    describe('init and ping', () => {
      it('init is idempotent, sequentially and concurrently', async () => {
        await store.init();
        await store.init();
        await Promise.all([store.init(), store.init(), store.init()]);
        const peer = await openPeer();
        await Promise.all([store.init(), peer.init()]);
        await store.createAccount('acc-init', balances(1, 2, 3));
        await store.init();
        expect((await store.getAccount('acc-init'))?.balances).toEqual(balances(1, 2, 3));
      });

      it('ping resolves', async () => {
        await expect(store.ping()).resolves.toBeUndefined();
      });
    });

    describe('accounts', () => {
      it('creates an account at version 0 and reads it back', async () => {
        const created = await store.createAccount('acc-1', balances(100_000, 50_050, 0));
        expect(created).toMatchObject({ id: 'acc-1', balances: balances(100_000, 50_050, 0), version: 0 });
        expect(Number.isNaN(Date.parse(created.createdAt))).toBe(false);
        expect(await store.getAccount('acc-1')).toEqual(created);
      });

      it('answers undefined for an unknown account', async () => {
        expect(await store.getAccount('nobody')).toBeUndefined();
      });

      it('refuses an existing id with AccountExistsError and keeps the first account', async () => {
        await store.createAccount('acc-1', balances(10, 0, 0));
        const error = await store.createAccount('acc-1', balances(99, 99, 99)).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(AccountExistsError);
        expect((await store.getAccount('acc-1'))?.balances).toEqual(balances(10, 0, 0));
        expect(await store.listLedger('acc-1')).toHaveLength(1);
      });

      it('writes one opening ledger entry per non-zero category', async () => {
        const created = await store.createAccount('acc-1', balances(1_000, 0, 250));
        const ledger = await store.listLedger('acc-1');
        expect(ledger).toEqual([
          opening('acc-1', 'FOOD', 1_000, created.createdAt),
          opening('acc-1', 'CASH', 250, created.createdAt),
        ]);
        await store.createAccount('acc-empty', balances(0, 0, 0));
        expect(await store.listLedger('acc-empty')).toEqual([]);
      });
    });

    describe('commit', () => {
      it('commits an approved debit: balances, version, record and ledger together', async () => {
        const account = await store.createAccount('acc-1', balances(1_000, 500, 0));
        const request = debit(account, 'tx-1', 300, 'FOOD');
        expect(await store.commit(request)).toEqual({ status: 'committed' });
        expect(await store.getAccount('acc-1')).toEqual({ ...account, balances: balances(700, 500, 0), version: 1 });
        expect(await store.getTransaction('tx-1')).toEqual(request.record);
        const ledger = await store.listLedger('acc-1');
        expect(ledger.slice(2)).toEqual(request.ledger);
        expect(ledger.map((e) => e.version)).toEqual([0, 0, 1]);
      });

      it('commits a decline: a record and a new version, no ledger entry', async () => {
        const account = await store.createAccount('acc-1', balances(100, 0, 0));
        const request = debit(account, 'tx-1', 300, 'FOOD');
        expect(request.record.code).toBe('51');
        expect(await store.commit(request)).toEqual({ status: 'committed' });
        expect(await store.getAccount('acc-1')).toMatchObject({ balances: account.balances, version: 1 });
        expect(await store.listLedger('acc-1')).toHaveLength(1);
        expect(await store.getTransaction('tx-1')).toEqual(request.record);
      });

      it('commits a credit', async () => {
        const account = await store.createAccount('acc-1', balances(0, 0, 0));
        const request = credit(account, 'top-up-1', 5_000, 'MEAL');
        expect(await store.commit(request)).toEqual({ status: 'committed' });
        expect((await store.getAccount('acc-1'))?.balances).toEqual(balances(0, 5_000, 0));
        expect(await store.listLedger('acc-1')).toEqual(request.ledger);
      });

      it('answers version_conflict on a stale version and changes nothing', async () => {
        const account = await store.createAccount('acc-1', balances(1_000, 0, 0));
        expect(await store.commit(debit(account, 'tx-1', 100, 'FOOD'))).toEqual({ status: 'committed' });
        const before = await snapshot('acc-1', ['tx-2', 'tx-3']);
        expect(await store.commit(debit(account, 'tx-2', 100, 'FOOD'))).toEqual({ status: 'version_conflict' });
        const ahead = { ...account, version: 5 };
        expect(await store.commit(debit(ahead, 'tx-3', 100, 'FOOD'))).toEqual({ status: 'version_conflict' });
        expect(await snapshot('acc-1', ['tx-2', 'tx-3'])).toEqual(before);
      });

      it('checks the id before the version: a replay answers duplicate_id with the stored record', async () => {
        const account = await store.createAccount('acc-1', balances(1_000, 0, 0));
        const first = debit(account, 'tx-1', 100, 'FOOD');
        await store.commit(first);
        const before = await snapshot('acc-1');
        // Stale version and a different payload: the id still wins, and the first record comes back.
        const replay = debit(account, 'tx-1', 999, 'FOOD');
        expect(await store.commit(replay)).toEqual({ status: 'duplicate_id', existing: first.record });
        // Current version: still a duplicate.
        const current = (await store.getAccount('acc-1'))!;
        expect(await store.commit(debit(current, 'tx-1', 100, 'FOOD'))).toEqual({
          status: 'duplicate_id',
          existing: first.record,
        });
        expect(await snapshot('acc-1')).toEqual(before);
      });

      it('answers unknown_account and writes nothing', async () => {
        const ghost: Account = { id: 'ghost', balances: balances(1_000, 0, 0), version: 0, createdAt: now() };
        expect(await store.commit(debit(ghost, 'tx-1', 100, 'FOOD'))).toEqual({ status: 'unknown_account' });
        expect(await store.getTransaction('tx-1')).toBeUndefined();
        expect(await store.listLedger('ghost')).toEqual([]);
      });

      it('a commit the database refuses writes nothing (negative balance, bad record, unexplained balances)', async () => {
        const account = await store.createAccount('acc-1', balances(100, 0, 0));
        const before = await snapshot('acc-1', ['tx-neg', 'tx-zero', 'tx-odd']);

        // Forced past the decision rules: would leave FOOD at -200.
        const negative = forcedDebit(account, 'tx-neg', 300, 'FOOD');
        await expect(store.commit(negative)).rejects.toBeInstanceOf(Error);

        // The account update succeeds, then the record insert fails (amount must be > 0): all rolled back.
        const zero = credit(account, 'tx-zero', 0, 'FOOD');
        await expect(store.commit(zero)).rejects.toBeInstanceOf(Error);

        // New balances that the ledger does not explain.
        const odd = debit(account, 'tx-odd', 10, 'FOOD');
        await expect(store.commit({ ...odd, balances: balances(0, 0, 0) })).rejects.toBeInstanceOf(Error);

        expect(await snapshot('acc-1', ['tx-neg', 'tx-zero', 'tx-odd'])).toEqual(before);
        // And the store still works.
        expect(await store.commit(debit(account, 'tx-ok', 10, 'FOOD'))).toEqual({ status: 'committed' });
      });
    });

    describe('listTransactions', () => {
      it('pages newest first with a before cursor', async () => {
        let account = await store.createAccount('acc-1', balances(10_000, 0, 0));
        await store.createAccount('acc-2', balances(10_000, 0, 0)).then((other) =>
          store.commit(debit(other, 'other-1', 1, 'FOOD')),
        );
        for (let i = 1; i <= 7; i += 1) {
          expect(await store.commit(debit(account, `tx-${i}`, 10, 'FOOD'))).toEqual({ status: 'committed' });
          account = (await store.getAccount('acc-1'))!;
        }
        const versions = (items: TransactionRecord[]) => items.map((r) => r.version);
        const p1 = await store.listTransactions('acc-1', { limit: 3 });
        expect(versions(p1.items)).toEqual([7, 6, 5]);
        expect(p1.nextBefore).toBe(5);
        const p2 = await store.listTransactions('acc-1', { limit: 3, before: p1.nextBefore! });
        expect(versions(p2.items)).toEqual([4, 3, 2]);
        const p3 = await store.listTransactions('acc-1', { limit: 3, before: p2.nextBefore! });
        expect(versions(p3.items)).toEqual([1]);
        expect(p3.nextBefore).toBeUndefined();
        const all = await store.listTransactions('acc-1', { limit: 7 });
        expect(all.items.map((r) => r.id)).toEqual(['tx-7', 'tx-6', 'tx-5', 'tx-4', 'tx-3', 'tx-2', 'tx-1']);
        expect(all.nextBefore).toBeUndefined();
        expect(await store.listTransactions('nobody', { limit: 3 })).toEqual({ items: [] });
      });
    });

    describe('ledger conservation', () => {
      const operation = fc.record({
        kind: fc.constantFrom('debit' as const, 'credit' as const),
        category: fc.constantFrom(...CATEGORIES),
        amount: fc.integer({ min: 1, max: 5_000 }),
      });

      it('per category, the sum of ledger deltas equals the balance after any commits', async () => {
        let run = 0;
        await fc.assert(
          fc.asyncProperty(
            fc.tuple(fc.nat(5_000), fc.nat(5_000), fc.nat(5_000)),
            fc.array(operation, { maxLength: 15 }),
            async ([food, meal, cash], operations) => {
              run += 1;
              const id = `prop-${run}-${randomUUID()}`;
              let account = await store.createAccount(id, balances(food, meal, cash));
              for (const [i, op] of operations.entries()) {
                const txId = `${id}-tx-${i}`;
                const request =
                  op.kind === 'debit'
                    ? debit(account, txId, op.amount, op.category)
                    : credit(account, txId, op.amount, op.category);
                expect(await store.commit(request)).toEqual({ status: 'committed' });
                account = (await store.getAccount(id))!;
                expect(account.version).toBe(i + 1);
              }
              const ledger = await store.listLedger(id);
              const sums: Balances = balances(0, 0, 0);
              for (const entry of ledger) {
                sums[entry.category] += entry.delta;
                expect(entry.balanceAfter).toBe(sums[entry.category]);
              }
              expect(sums).toEqual(account.balances);
              expect(ledger.map((e) => e.version)).toEqual([...ledger.map((e) => e.version)].sort((a, b) => a - b));
            },
          ),
          { numRuns: 12 },
        );
      }, 120_000);
    });

    describe('merchant rules', () => {
      it('puts, replaces, lists and deletes', async () => {
        expect(await store.listMerchantRules()).toEqual([]);
        await store.putMerchantRule({ match: 'UBER EATS', category: 'MEAL' });
        await store.putMerchantRule({ match: 'PAG*', category: 'CASH' });
        await store.putMerchantRule({ match: 'UBER EATS', category: 'FOOD' });
        const byMatch = (rules: { match: string }[]) => [...rules].sort((a, b) => a.match.localeCompare(b.match));
        expect(byMatch(await store.listMerchantRules())).toEqual([
          { match: 'PAG*', category: 'CASH' },
          { match: 'UBER EATS', category: 'FOOD' },
        ]);
        expect(await store.deleteMerchantRule('UBER EATS')).toBe(true);
        expect(await store.deleteMerchantRule('UBER EATS')).toBe(false);
        expect(await store.listMerchantRules()).toEqual([{ match: 'PAG*', category: 'CASH' }]);
      });
    });

    describe('abandoned calls', () => {
      it('an aborted signal rejects every call with StoreUnavailableError and writes nothing', async () => {
        const account = await store.createAccount('acc-1', balances(1_000, 0, 0));
        const controller = new AbortController();
        controller.abort(new Error('deadline'));
        const options = { signal: controller.signal };
        const calls: Array<() => Promise<unknown>> = [
          () => store.init(options),
          () => store.ping(options),
          () => store.createAccount('acc-2', balances(1, 1, 1), options),
          () => store.getAccount('acc-1', options),
          () => store.getTransaction('tx-1', options),
          () => store.commit(debit(account, 'tx-1', 100, 'FOOD'), options),
          () => store.listTransactions('acc-1', { limit: 10 }, options),
          () => store.listLedger('acc-1', options),
          () => store.listMerchantRules(options),
          () => store.putMerchantRule({ match: 'X', category: 'CASH' }, options),
          () => store.deleteMerchantRule('X', options),
        ];
        for (const call of calls) await expect(call()).rejects.toBeInstanceOf(StoreUnavailableError);
        expect(await store.getAccount('acc-1')).toEqual(account);
        expect(await store.getAccount('acc-2')).toBeUndefined();
        expect(await store.getTransaction('tx-1')).toBeUndefined();
        expect(await store.listMerchantRules()).toEqual([]);
      });
    });

    describe('concurrency', () => {
      it('of concurrent commits on the same version exactly one commits', async () => {
        const peer = await openPeer();
        let account = await store.createAccount('acc-1', balances(100_000, 0, 0));
        for (let round = 0; round < 5; round += 1) {
          const outcomes = await Promise.all([
            store.commit(debit(account, `a-${round}`, 100, 'FOOD')),
            peer.commit(debit(account, `b-${round}`, 100, 'FOOD')),
            store.commit(debit(account, `c-${round}`, 100, 'FOOD')),
          ]);
          const statuses = outcomes.map((o) => o.status).sort();
          expect(statuses).toEqual(['committed', 'version_conflict', 'version_conflict']);
          account = (await store.getAccount('acc-1'))!;
          expect(account.version).toBe(round + 1);
          expect(account.balances.FOOD).toBe(100_000 - 100 * (round + 1));
        }
        expect((await store.listTransactions('acc-1', { limit: 100 })).items).toHaveLength(5);
        expect(await store.listLedger('acc-1')).toHaveLength(6);
      });

      it('concurrent commits of one id on the same version apply it once', async () => {
        const peer = await openPeer();
        const account = await store.createAccount('acc-1', balances(1_000, 0, 0));
        const request = debit(account, 'tx-1', 100, 'FOOD');
        const outcomes = await Promise.all([store.commit(request), peer.commit(request)]);
        expect(outcomes.filter((o) => o.status === 'committed')).toHaveLength(1);
        for (const o of outcomes) expect(['committed', 'duplicate_id', 'version_conflict']).toContain(o.status);
        expect(await store.getAccount('acc-1')).toMatchObject({ version: 1, balances: balances(900, 0, 0) });
      });
    });
  });
}

function balances(FOOD: number, MEAL: number, CASH: number): Balances {
  return { FOOD, MEAL, CASH };
}

function now(): string {
  return new Date().toISOString();
}

function opening(accountId: string, category: Category, amount: number, createdAt: string): LedgerEntry {
  return {
    accountId,
    transactionId: null,
    kind: 'opening',
    category,
    delta: amount,
    balanceAfter: amount,
    version: 0,
    createdAt,
  };
}

/** A debit decided by SPEC §2.2 (whole amount from the category, else from CASH, else declined). */
export function debit(account: Account, id: string, amount: number, category: Category): CommitRequest {
  const covers = (c: Category) => account.balances[c] >= amount;
  const applied: Category | null = covers(category) ? category : category !== 'CASH' && covers('CASH') ? 'CASH' : null;
  return applied === null
    ? buildDebit(account, id, amount, category, null)
    : buildDebit(account, id, amount, category, applied);
}

/** A debit applied to `category` whether or not it covers the amount (to provoke the store's own checks). */
function forcedDebit(account: Account, id: string, amount: number, category: Category): CommitRequest {
  return buildDebit(account, id, amount, category, category);
}

function buildDebit(
  account: Account,
  id: string,
  amount: number,
  category: Category,
  applied: Category | null,
): CommitRequest {
  const version = account.version + 1;
  const createdAt = now();
  const next = { ...account.balances };
  const ledger: LedgerEntry[] = [];
  if (applied !== null) {
    next[applied] -= amount;
    ledger.push({
      accountId: account.id,
      transactionId: id,
      kind: 'debit',
      category: applied,
      delta: -amount,
      balanceAfter: next[applied],
      version,
      createdAt,
    });
  }
  return {
    accountId: account.id,
    expectedVersion: account.version,
    balances: next,
    ledger,
    record: {
      id,
      accountId: account.id,
      kind: 'debit',
      amount,
      mcc: '5411',
      merchant: 'PADARIA DO ZE            SAO PAULO    BR',
      category,
      appliedCategory: applied,
      code: applied === null ? '51' : '00',
      reason: applied === null ? 'insufficient_funds' : 'approved',
      payloadHash: `hash-${id}-${amount}`,
      version,
      createdAt,
    },
  };
}

/** A credit (top up) of one category. */
export function credit(account: Account, id: string, amount: number, category: Category): CommitRequest {
  const version = account.version + 1;
  const createdAt = now();
  const next = { ...account.balances, [category]: account.balances[category] + amount };
  return {
    accountId: account.id,
    expectedVersion: account.version,
    balances: next,
    ledger: [
      {
        accountId: account.id,
        transactionId: id,
        kind: 'credit',
        category,
        delta: amount,
        balanceAfter: next[category],
        version,
        createdAt,
      },
    ],
    record: {
      id,
      accountId: account.id,
      kind: 'credit',
      amount,
      mcc: null,
      merchant: null,
      category,
      appliedCategory: category,
      code: '00',
      reason: 'credited',
      payloadHash: `hash-${id}-${amount}`,
      version,
      createdAt,
    },
  };
}
