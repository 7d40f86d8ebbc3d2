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
        expect(await store.getTransaction('tx-1')).toEqual(request.records[0]);
        const ledger = await store.listLedger('acc-1');
        expect(ledger.slice(2)).toEqual(request.ledger);
        expect(ledger.map((e) => e.version)).toEqual([0, 0, 1]);
      });

      it('commits a decline: a record and a new version, no ledger entry', async () => {
        const account = await store.createAccount('acc-1', balances(100, 0, 0));
        const request = debit(account, 'tx-1', 300, 'FOOD');
        expect(request.records[0]?.code).toBe('51');
        expect(await store.commit(request)).toEqual({ status: 'committed' });
        expect(await store.getAccount('acc-1')).toMatchObject({ balances: account.balances, version: 1 });
        expect(await store.listLedger('acc-1')).toHaveLength(1);
        expect(await store.getTransaction('tx-1')).toEqual(request.records[0]);
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

      it('owner epoch fencing: an older epoch than the stored one fails on top of the version check', async () => {
        const account = await store.createAccount('acc-1', balances(1_000, 0, 0));
        // A commit without an epoch neither checks nor sets one (version CAS alone).
        expect(await store.commit(debit(account, 'tx-0', 10, 'FOOD'))).toEqual({ status: 'committed' });
        // czxid-sized epochs: beyond 2^53, compared exactly.
        const old = 2n ** 60n + 5n;
        const newer = old + 1n;
        let current = (await store.getAccount('acc-1'))!;
        expect(await store.commit({ ...debit(current, 'tx-1', 10, 'FOOD'), ownerEpoch: newer })).toEqual({ status: 'committed' });
        current = (await store.getAccount('acc-1'))!;
        // The same epoch commits again (an owner serves batch after batch).
        expect(await store.commit({ ...debit(current, 'tx-2', 10, 'FOOD'), ownerEpoch: newer })).toEqual({ status: 'committed' });
        current = (await store.getAccount('acc-1'))!;
        const before = await snapshot('acc-1', ['tx-3']);
        // An older owner fails even at the current version, and writes nothing.
        expect(await store.commit({ ...debit(current, 'tx-3', 10, 'FOOD'), ownerEpoch: old })).toEqual({ status: 'fenced' });
        // Also at a stale version: the fence is reported (the owner must stop), not a version conflict to retry.
        expect(await store.commit({ ...debit(account, 'tx-3', 10, 'FOOD'), ownerEpoch: old })).toEqual({ status: 'fenced' });
        expect(await snapshot('acc-1', ['tx-3'])).toEqual(before);
        // A newer owner takes over; a commit without an epoch (degraded, version CAS alone) leaves the epoch as is.
        expect(await store.commit({ ...debit(current, 'tx-4', 10, 'FOOD'), ownerEpoch: newer + 1n })).toEqual({ status: 'committed' });
        current = (await store.getAccount('acc-1'))!;
        expect(await store.commit(debit(current, 'tx-5', 10, 'FOOD'))).toEqual({ status: 'committed' });
        current = (await store.getAccount('acc-1'))!;
        expect(await store.commit({ ...debit(current, 'tx-6', 10, 'FOOD'), ownerEpoch: newer })).toEqual({ status: 'fenced' });
        expect(current.version).toBe(5);
        expect(current.balances.FOOD).toBe(1_000 - 50);
      });

      it('owner epoch fencing: of two concurrent owners at the same version, an older epoch never wins after a newer one', async () => {
        const peer = await openPeer();
        const account = await store.createAccount('acc-1', balances(1_000, 0, 0));
        const results = await Promise.all([
          store.commit({ ...debit(account, 'tx-a', 10, 'FOOD'), ownerEpoch: 7n }),
          peer.commit({ ...debit(account, 'tx-b', 10, 'FOOD'), ownerEpoch: 8n }),
        ]);
        expect(results.filter((r) => r.status === 'committed')).toHaveLength(1);
        const after = (await store.getAccount('acc-1'))!;
        expect(after.version).toBe(1);
        // Whoever won, epoch 7 can no longer commit once 8 has.
        expect(await store.commit({ ...debit(after, 'tx-c', 10, 'FOOD'), ownerEpoch: 8n })).toEqual({ status: 'committed' });
        const later = (await store.getAccount('acc-1'))!;
        expect(await store.commit({ ...debit(later, 'tx-d', 10, 'FOOD'), ownerEpoch: 7n })).toEqual({ status: 'fenced' });
      });

      it('checks the id before the version: a replay answers duplicate_id with the stored record', async () => {
        const account = await store.createAccount('acc-1', balances(1_000, 0, 0));
        const first = debit(account, 'tx-1', 100, 'FOOD');
        await store.commit(first);
        const before = await snapshot('acc-1');
        // Stale version and a different payload: the id still wins, and the first record comes back.
        const replay = debit(account, 'tx-1', 999, 'FOOD');
        expect(await store.commit(replay)).toEqual({ status: 'duplicate_id', existing: first.records });
        // Current version: still a duplicate.
        const current = (await store.getAccount('acc-1'))!;
        expect(await store.commit(debit(current, 'tx-1', 100, 'FOOD'))).toEqual({
          status: 'duplicate_id',
          existing: first.records,
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

        // Forced past the decision rules: would leave FOOD at -200 (a caller bug).
        const negative = forcedDebit(account, 'tx-neg', 300, 'FOOD');
        await expect(store.commit(negative)).rejects.toBeInstanceOf(RangeError);

        // The account update succeeds, then the record insert fails (amount must be > 0): all rolled back.
        const zero = credit(account, 'tx-zero', 0, 'FOOD');
        await expect(store.commit(zero)).rejects.toBeInstanceOf(Error);

        // New balances that the ledger does not explain.
        const odd = debit(account, 'tx-odd', 10, 'FOOD');
        await expect(store.commit({ ...odd, balances: balances(0, 0, 0) })).rejects.toBeInstanceOf(RangeError);
        // Self-consistent, but made on balances the account does not have.
        const rich = debit({ ...account, balances: balances(1_000, 0, 0) }, 'tx-odd', 500, 'FOOD');
        await expect(store.commit(rich)).rejects.toBeInstanceOf(RangeError);

        expect(await snapshot('acc-1', ['tx-neg', 'tx-zero', 'tx-odd'])).toEqual(before);
        // And the store still works.
        expect(await store.commit(debit(account, 'tx-ok', 10, 'FOOD'))).toEqual({ status: 'committed' });
      });
    });

    describe('chains', () => {
      it('commits a chain of 5 (approvals, a decline, a credit) at once: versions +1..+5, ledger conserved', async () => {
        const account = await store.createAccount('acc-1', balances(1_000, 200, 300));
        const request = chain(account, [
          { kind: 'debit', id: 'c-1', amount: 400, category: 'FOOD' },
          { kind: 'debit', id: 'c-2', amount: 500, category: 'MEAL' }, // neither MEAL nor CASH covers it: declined
          { kind: 'credit', id: 'c-3', amount: 1_000, category: 'MEAL' },
          { kind: 'debit', id: 'c-4', amount: 500, category: 'MEAL' },
          { kind: 'debit', id: 'c-5', amount: 50, category: 'CASH' },
        ]);
        expect(request.records.map((r) => [r.version, r.code])).toEqual([
          [1, '00'],
          [2, '51'],
          [3, '00'],
          [4, '00'],
          [5, '00'],
        ]);
        expect(await store.commit(request)).toEqual({ status: 'committed' });
        expect(await store.getAccount('acc-1')).toEqual({ ...account, balances: balances(600, 700, 250), version: 5 });
        for (const record of request.records) expect(await store.getTransaction(record.id)).toEqual(record);
        const page = await store.listTransactions('acc-1', { limit: 10 });
        expect(page.items).toEqual([...request.records].reverse());
        const ledger = await store.listLedger('acc-1');
        expect(ledger.filter((e) => e.kind !== 'opening')).toEqual(request.ledger);
        expect(ledger.map((e) => e.version)).toEqual([0, 0, 0, 1, 3, 4, 5]);
        expect(sumLedger(ledger)).toEqual(balances(600, 700, 250));
      });

      it('answers duplicate_id with every stored record of the chain and writes nothing', async () => {
        const account = await store.createAccount('acc-1', balances(1_000, 0, 0));
        const first = debit(account, 'tx-2', 100, 'FOOD');
        expect(await store.commit(first)).toEqual({ status: 'committed' });
        const later = credit((await store.getAccount('acc-1'))!, 'tx-4', 10, 'CASH');
        expect(await store.commit(later)).toEqual({ status: 'committed' });
        const current = (await store.getAccount('acc-1'))!;
        const ids = ['tx-1', 'tx-2', 'tx-3', 'tx-4', 'tx-5'];
        const before = await snapshot('acc-1', ids);
        const steps = ids.map((id) => ({ kind: 'debit' as const, id, amount: 10, category: 'FOOD' as const }));
        // At the current version only the ids stand in the way; at a stale one the ids are still checked first.
        for (const at of [current, account]) {
          expect(await store.commit(chain(at, steps))).toEqual({
            status: 'duplicate_id',
            existing: [first.records[0], later.records[0]],
          });
        }
        expect(await snapshot('acc-1', ids)).toEqual(before);
        expect(await store.commit(chain(current, steps.slice(2, 3)))).toEqual({ status: 'committed' });
      });

      it('answers version_conflict on a stale or future expectedVersion and writes nothing', async () => {
        const account = await store.createAccount('acc-1', balances(1_000, 0, 0));
        expect(await store.commit(debit(account, 'tx-0', 100, 'FOOD'))).toEqual({ status: 'committed' });
        const ids = ['tx-1', 'tx-2', 'tx-3'];
        const steps = ids.map((id) => ({ kind: 'debit' as const, id, amount: 10, category: 'FOOD' as const }));
        const before = await snapshot('acc-1', ids);
        expect(await store.commit(chain(account, steps))).toEqual({ status: 'version_conflict' });
        expect(await store.commit(chain({ ...account, version: 7 }, steps))).toEqual({ status: 'version_conflict' });
        expect(await snapshot('acc-1', ids)).toEqual(before);
      });

      it('a chain the store refuses writes nothing (ledger not conserved, a bad last record)', async () => {
        const account = await store.createAccount('acc-1', balances(1_000, 0, 100));
        const ids = ['tx-1', 'tx-2', 'tx-3', 'tx-4'];
        const before = await snapshot('acc-1', ids);
        const steps = ids.map((id) => ({ kind: 'debit' as const, id, amount: 100, category: 'FOOD' as const }));
        // Consistent with itself, but decided on balances the account does not have.
        const richer = chain({ ...account, balances: balances(1_500, 0, 100) }, steps);
        await expect(store.commit(richer)).rejects.toBeInstanceOf(RangeError);
        // Balances that the chain's ledger does not explain.
        const good = chain(account, steps);
        await expect(store.commit({ ...good, balances: balances(1_000, 0, 100) })).rejects.toBeInstanceOf(RangeError);
        // The account update and three records go in, then the last record fails a constraint (amount 0).
        const zero = chain(account, [...steps.slice(0, 3), { kind: 'credit', id: 'tx-4', amount: 0, category: 'CASH' }]);
        await expect(store.commit(zero)).rejects.toBeInstanceOf(Error);
        expect(await snapshot('acc-1', ids)).toEqual(before);
        expect(await store.commit(good)).toEqual({ status: 'committed' });
        expect(await store.getAccount('acc-1')).toMatchObject({ version: 4, balances: balances(600, 0, 100) });
      });

      it('refuses a malformed chain with RangeError and writes nothing', async () => {
        const account = await store.createAccount('acc-1', balances(1_000, 0, 0));
        const ids = ['tx-1', 'tx-2', 'tx-3'];
        const before = await snapshot('acc-1', ids);
        const good = chain(
          account,
          ids.map((id) => ({ kind: 'debit' as const, id, amount: 100, category: 'FOOD' as const })),
        );
        const [r1, r2, r3] = good.records as [TransactionRecord, TransactionRecord, TransactionRecord];
        const [l1, l2, l3] = good.ledger as [LedgerEntry, LedgerEntry, LedgerEntry];
        const malformed: CommitRequest[] = [
          { ...good, records: [], ledger: [] },
          // Versions: a gap, a swap, a chain that does not start at expectedVersion + 1.
          { ...good, records: [r1, r2, { ...r3, version: 4 }], ledger: [l1, l2, { ...l3, version: 4 }] },
          { ...good, records: [r2, r1, r3], ledger: [l2, l1, l3] },
          { ...good, expectedVersion: 1 },
          // The same id twice; a record or an entry of another account.
          { ...good, records: [r1, r2, { ...r3, id: 'tx-1' }], ledger: [l1, l2, { ...l3, transactionId: 'tx-1' }] },
          { ...good, records: [r1, { ...r2, accountId: 'acc-2' }, r3] },
          { ...good, ledger: [l1, { ...l2, accountId: 'acc-2' }, l3] },
          // Ledger entries: of no record of the chain, with their record's version wrong, out of order.
          { ...good, ledger: [l1, { ...l2, transactionId: 'tx-9' }, l3] },
          { ...good, ledger: [l1, { ...l2, version: 3 }, l3] },
          { ...good, ledger: [l2, l1, l3] },
          // Balances: negative, or disagreeing with the last entry.
          { ...good, balances: balances(-1, 0, 0) },
          { ...good, balances: balances(701, 0, 0) },
        ];
        for (const request of malformed) await expect(store.commit(request)).rejects.toBeInstanceOf(RangeError);
        expect(await snapshot('acc-1', ids)).toEqual(before);
        expect(await store.commit(good)).toEqual({ status: 'committed' });
      });

      it('of concurrent chains on the same version exactly one commits, whole', async () => {
        const peer = await openPeer();
        const account = await store.createAccount('acc-1', balances(100_000, 0, 0));
        const steps = (prefix: string) =>
          [1, 2, 3].map((i) => ({ kind: 'debit' as const, id: `${prefix}-${i}`, amount: 100, category: 'FOOD' as const }));
        const outcomes = await Promise.all([
          store.commit(chain(account, steps('a'))),
          peer.commit(chain(account, steps('b'))),
          store.commit(chain(account, steps('c'))),
        ]);
        expect(outcomes.map((o) => o.status).sort()).toEqual(['committed', 'version_conflict', 'version_conflict']);
        expect(await store.getAccount('acc-1')).toMatchObject({ version: 3, balances: balances(99_700, 0, 0) });
        expect((await store.listTransactions('acc-1', { limit: 100 })).items).toHaveLength(3);
        expect(await store.listLedger('acc-1')).toHaveLength(4);
      });

      it('random chains keep, per category, the sum of ledger deltas equal to the balance', async () => {
        const step = fc.record({
          kind: fc.constantFrom('debit' as const, 'credit' as const),
          category: fc.constantFrom(...CATEGORIES),
          amount: fc.integer({ min: 1, max: 3_000 }),
        });
        let run = 0;
        await fc.assert(
          fc.asyncProperty(
            fc.tuple(fc.nat(5_000), fc.nat(5_000), fc.nat(5_000)),
            fc.array(fc.array(step, { minLength: 1, maxLength: 6 }), { maxLength: 5 }),
            async ([food, meal, cash], chains) => {
              run += 1;
              const id = `chain-prop-${run}-${randomUUID()}`;
              let account = await store.createAccount(id, balances(food, meal, cash));
              let count = 0;
              for (const [c, ops] of chains.entries()) {
                const request = chain(
                  account,
                  ops.map((op, i) => ({ ...op, id: `${id}-${c}-${i}` })),
                );
                expect(await store.commit(request)).toEqual({ status: 'committed' });
                count += ops.length;
                account = (await store.getAccount(id))!;
                expect(account.version).toBe(count);
                expect(account.balances).toEqual(request.balances);
              }
              const ledger = await store.listLedger(id);
              expect(sumLedger(ledger)).toEqual(account.balances);
              expect(ledger.map((e) => e.version)).toEqual([...ledger.map((e) => e.version)].sort((a, b) => a - b));
              const page = await store.listTransactions(id, { limit: 100 });
              expect(page.items.map((r) => r.version)).toEqual(
                Array.from({ length: count }, (_, i) => count - i),
              );
            },
          ),
          { numRuns: 10 },
        );
      }, 120_000);
    });

    describe('reversals', () => {
      it('commits a reversal: back to the category the purchase debited, linked to it, with a reversal ledger entry', async () => {
        let account = await store.createAccount('acc-1', balances(0, 0, 1_000));
        // A MEAL purchase that MEAL could not cover: debited from CASH (the fallback).
        const purchase = debit(account, 'tx-1', 300, 'MEAL');
        expect(purchase.records[0]?.appliedCategory).toBe('CASH');
        expect(await store.commit(purchase)).toEqual({ status: 'committed' });
        account = (await store.getAccount('acc-1'))!;
        const request = reversal(account, 'rev-1', 'tx-1', 100, 'CASH');
        expect(await store.commit(request)).toEqual({ status: 'committed' });
        expect(await store.getAccount('acc-1')).toMatchObject({ version: 2, balances: balances(0, 0, 800) });
        expect(await store.getTransaction('rev-1')).toEqual(request.records[0]);
        expect((await store.listLedger('acc-1')).slice(-1)).toEqual(request.ledger);
        expect((await store.listTransactions('acc-1', { limit: 10 })).items.map((r) => r.id)).toEqual(['rev-1', 'tx-1']);
      });

      it('commits a reversal that gives nothing back: a record and a version, no ledger entry', async () => {
        const account = await store.createAccount('acc-1', balances(0, 0, 1_000));
        const request = reversal(account, 'rev-1', 'tx-unknown', 0, null);
        expect(await store.commit(request)).toEqual({ status: 'committed' });
        expect(await store.getTransaction('rev-1')).toEqual(request.records[0]);
        expect(await store.getAccount('acc-1')).toMatchObject({ version: 1, balances: balances(0, 0, 1_000) });
        expect(await store.listLedger('acc-1')).toHaveLength(1);
      });

      it('an id a reversal spent on an account is taken there (duplicate_id with the reversal), free elsewhere', async () => {
        let account = await store.createAccount('acc-1', balances(0, 0, 1_000));
        const other = await store.createAccount('acc-2', balances(0, 0, 1_000));
        const spent = reversal(account, 'rev-1', 'tx-1', 0, null);
        expect(await store.commit(spent)).toEqual({ status: 'committed' });
        account = (await store.getAccount('acc-1'))!;
        const before = await snapshot('acc-1', ['tx-1']);
        // Alone, in a chain, and beside an id that is taken the ordinary way (that one first).
        expect(await store.commit(debit(account, 'tx-1', 100, 'CASH'))).toEqual({
          status: 'duplicate_id',
          existing: spent.records,
        });
        const steps = ['tx-0', 'rev-1', 'tx-1'].map((id) => ({ kind: 'debit' as const, id, amount: 10, category: 'CASH' as const }));
        expect(await store.commit(chain(account, steps))).toEqual({ status: 'duplicate_id', existing: spent.records });
        expect(await snapshot('acc-1', ['tx-1'])).toEqual(before);
        expect(await store.commit(debit(other, 'tx-1', 100, 'CASH'))).toEqual({ status: 'committed' });
      });

      it('getWithReversals: the records with those ids and every reversal of them, of any account', async () => {
        let a = await store.createAccount('acc-1', balances(0, 0, 1_000));
        const b = await store.createAccount('acc-2', balances(0, 0, 1_000));
        const purchases = chain(a, [
          { kind: 'debit', id: 'tx-1', amount: 300, category: 'CASH' },
          { kind: 'debit', id: 'tx-2', amount: 200, category: 'CASH' },
        ]);
        expect(await store.commit(purchases)).toEqual({ status: 'committed' });
        a = (await store.getAccount('acc-1'))!;
        const reversals = chain(a, [
          { kind: 'reversal', id: 'rev-1', amount: 100, category: 'CASH', original: 'tx-1' },
          { kind: 'reversal', id: 'rev-2', amount: 50, category: 'CASH', original: 'tx-1' },
          { kind: 'reversal', id: 'rev-3', amount: 200, category: 'CASH', original: 'tx-2' },
        ]);
        expect(await store.commit(reversals)).toEqual({ status: 'committed' });
        const elsewhere = reversal(b, 'rev-4', 'tx-1', 0, null);
        expect(await store.commit(elsewhere)).toEqual({ status: 'committed' });
        const found = await store.getWithReversals(['tx-1', 'nobody']);
        const byId = (records: TransactionRecord[]) => [...records].sort((x, y) => x.id.localeCompare(y.id));
        expect(byId(found)).toEqual(byId([purchases.records[0]!, reversals.records[0]!, reversals.records[1]!, elsewhere.records[0]!]));
        expect(await store.getWithReversals(['nobody'])).toEqual([]);
        expect(await store.getAccount('acc-1')).toMatchObject({ version: 5, balances: balances(0, 0, 850) });
      });

      it('refuses a reversal without an original, and a purchase with one, writing nothing', async () => {
        const account = await store.createAccount('acc-1', balances(0, 0, 1_000));
        const before = await snapshot('acc-1', ['rev-1', 'tx-1']);
        const { originalId: _dropped, ...orphan } = reversal(account, 'rev-1', 'tx-0', 0, null).records[0]!;
        const bad = reversal(account, 'rev-1', 'tx-0', 0, null);
        await expect(store.commit({ ...bad, records: [orphan] })).rejects.toBeInstanceOf(Error);
        const purchase = debit(account, 'tx-1', 100, 'CASH');
        await expect(
          store.commit({ ...purchase, records: [{ ...purchase.records[0]!, originalId: 'tx-0' }] }),
        ).rejects.toBeInstanceOf(Error);
        expect(await snapshot('acc-1', ['rev-1', 'tx-1'])).toEqual(before);
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
        kind: fc.constantFrom('debit' as const, 'credit' as const, 'reversal' as const),
        category: fc.constantFrom(...CATEGORIES),
        amount: fc.integer({ min: 1, max: 5_000 }),
        /** Reversals: which earlier approved purchase (modulo their count), and which share of what remains. */
        pick: fc.nat(),
        share: fc.double({ min: 0, max: 1, noNaN: true }),
      });

      it('per category, the sum of ledger deltas equals the balance after any commits (reversals included)', async () => {
        let run = 0;
        await fc.assert(
          fc.asyncProperty(
            fc.tuple(fc.nat(5_000), fc.nat(5_000), fc.nat(5_000)),
            fc.array(operation, { maxLength: 15 }),
            async ([food, meal, cash], operations) => {
              run += 1;
              const id = `prop-${run}-${randomUUID()}`;
              let account = await store.createAccount(id, balances(food, meal, cash));
              const approved: Array<{ id: string; category: Category; remaining: number }> = [];
              for (const [i, op] of operations.entries()) {
                const txId = `${id}-tx-${i}`;
                const target = approved[op.pick % Math.max(1, approved.length)];
                let request: CommitRequest;
                if (op.kind === 'reversal' && target !== undefined) {
                  const amount = Math.floor(target.remaining * op.share);
                  request = reversal(account, txId, target.id, amount, target.category);
                  target.remaining -= amount;
                } else if (op.kind === 'reversal') {
                  request = reversal(account, txId, `${id}-never`, 0, null);
                } else {
                  request =
                    op.kind === 'debit'
                      ? debit(account, txId, op.amount, op.category)
                      : credit(account, txId, op.amount, op.category);
                  const record = request.records[0]!;
                  if (record.kind === 'debit' && record.appliedCategory !== null) {
                    approved.push({ id: txId, category: record.appliedCategory, remaining: record.amount });
                  }
                }
                expect(await store.commit(request)).toEqual({ status: 'committed' });
                account = (await store.getAccount(id))!;
                expect(account.version).toBe(i + 1);
              }
              const ledger = await store.listLedger(id);
              expect(sumLedger(ledger)).toEqual(account.balances);
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

      const defaults = [
        { match: 'UBER EATS', category: 'MEAL' as const },
        { match: 'PAG*', category: 'CASH' as const },
      ];
      const byMatch = (rules: { match: string }[]) => [...rules].sort((a, b) => a.match.localeCompare(b.match));

      it('seeds once per store, ever: not again after the rules were deleted', async () => {
        expect(await store.seedMerchantRules(defaults)).toBe(true);
        expect(byMatch(await store.listMerchantRules())).toEqual(byMatch(defaults));
        expect(await store.seedMerchantRules([{ match: 'OTHER', category: 'FOOD' }])).toBe(false);
        expect(byMatch(await store.listMerchantRules())).toEqual(byMatch(defaults));
        for (const rule of defaults) expect(await store.deleteMerchantRule(rule.match)).toBe(true);
        expect(await store.seedMerchantRules(defaults)).toBe(false);
        expect(await store.listMerchantRules()).toEqual([]);
        await store.init();
        expect(await store.seedMerchantRules(defaults)).toBe(false);
        expect(await store.listMerchantRules()).toEqual([]);
      });

      it('of replicas seeding at once exactly one seeds', async () => {
        const peer = await openPeer();
        const seeded = await Promise.all([
          store.seedMerchantRules(defaults),
          peer.seedMerchantRules(defaults),
          store.seedMerchantRules(defaults),
          peer.seedMerchantRules(defaults),
        ]);
        expect(seeded.filter(Boolean)).toHaveLength(1);
        expect(byMatch(await peer.listMerchantRules())).toEqual(byMatch(defaults));
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
          () => store.seedMerchantRules([{ match: 'X', category: 'CASH' }], options),
        ];
        for (const call of calls) await expect(call()).rejects.toBeInstanceOf(StoreUnavailableError);
        expect(await store.getAccount('acc-1')).toEqual(account);
        expect(await store.getAccount('acc-2')).toBeUndefined();
        expect(await store.getTransaction('tx-1')).toBeUndefined();
        expect(await store.listMerchantRules()).toEqual([]);
        expect(await store.seedMerchantRules([{ match: 'X', category: 'CASH' }])).toBe(true);
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

/** Per category, the sum of the ledger's deltas; checks on the way that each `balanceAfter` is the running sum. */
function sumLedger(ledger: readonly LedgerEntry[]): Balances {
  const sums: Balances = balances(0, 0, 0);
  for (const entry of ledger) {
    sums[entry.category] += entry.delta;
    expect(entry.balanceAfter).toBe(sums[entry.category]);
  }
  return sums;
}

/** One step of a {@link chain}. */
export type ChainStep =
  | { kind: 'debit' | 'credit'; id: string; amount: number; category: Category }
  /** Gives `amount` back to `category` (0 and null: a reversal that gives nothing back). */
  | { kind: 'reversal'; id: string; amount: number; category: Category | null; original: string };

/** A chain decided step by step from `account`, each step on the balances the previous one left. */
export function chain(account: Account, steps: readonly ChainStep[]): CommitRequest {
  let at = account;
  const records: TransactionRecord[] = [];
  const ledger: LedgerEntry[] = [];
  for (const step of steps) {
    const one =
      step.kind === 'reversal'
        ? reversal(at, step.id, step.original, step.amount, step.category)
        : (step.kind === 'debit' ? debit : credit)(at, step.id, step.amount, step.category);
    records.push(...one.records);
    ledger.push(...one.ledger);
    at = { ...at, balances: one.balances, version: at.version + 1 };
  }
  return { accountId: account.id, expectedVersion: account.version, balances: at.balances, ledger, records };
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
    records: [
      {
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
    ],
  };
}

/**
 * A reversal of `original` giving `amount` back to `category`; with amount 0 and category null, one that gives
 * nothing back (its purchase is not there: the id is spent).
 */
export function reversal(
  account: Account,
  id: string,
  original: string,
  amount: number,
  category: Category | null,
): CommitRequest {
  const version = account.version + 1;
  const createdAt = now();
  const next = category === null ? { ...account.balances } : { ...account.balances, [category]: account.balances[category] + amount };
  const ledger: LedgerEntry[] =
    category === null || amount === 0
      ? []
      : [
          {
            accountId: account.id,
            transactionId: id,
            kind: 'reversal',
            category,
            delta: amount,
            balanceAfter: next[category],
            version,
            createdAt,
          },
        ];
  return {
    accountId: account.id,
    expectedVersion: account.version,
    balances: next,
    ledger,
    records: [
      {
        id,
        accountId: account.id,
        kind: 'reversal',
        amount,
        mcc: null,
        merchant: null,
        category,
        appliedCategory: amount === 0 ? null : category,
        code: '00',
        reason: category === null ? 'original_unknown' : amount === 0 ? 'nothing_to_reverse' : 'reversed',
        payloadHash: `hash-${id}-${amount}`,
        version,
        createdAt,
        originalId: original,
      },
    ],
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
    records: [
      {
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
    ],
  };
}
