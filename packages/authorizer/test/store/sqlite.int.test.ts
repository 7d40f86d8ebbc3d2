import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, InvalidDocumentError } from '../../src/errors.js';
import { SqliteStore, openSqliteStore } from '../../src/store/index.js';
import { describeStoreContract } from '../store-contract.js';

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'catraca-sqlite-'));
}

describeStoreContract('sqlite (file)', async () => {
  const dir = await tempDir();
  const path = join(dir, 'catraca.db');
  return {
    store: new SqliteStore({ path }),
    peer: async () => new SqliteStore({ path }),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});

describeStoreContract('sqlite (:memory:, durability normal)', async () => ({
  store: new SqliteStore({ path: ':memory:', durability: 'normal' }),
  cleanup: async () => {},
}));

describe('SqliteStore specifics', () => {
  let dir: string;
  let path: string;

  beforeEach(async () => {
    dir = await tempDir();
    path = join(dir, 'catraca.db');
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses invalid options at construction', () => {
    expect(() => new SqliteStore({ path: '' })).toThrow(ConfigError);
    expect(() => new SqliteStore({ path, durability: 'off' as 'full' })).toThrow(ConfigError);
    expect(() => new SqliteStore({ path, busyTimeoutMs: -1 })).toThrow(ConfigError);
  });

  it('group commit: commits issued together each keep their own outcome, and a failing one spoils no other', async () => {
    const store = await openSqliteStore({ path });
    try {
      const zero = { FOOD: 0, MEAL: 0, CASH: 0 };
      for (const id of ['a', 'b', 'c', 'd']) await store.createAccount(id, { ...zero, CASH: 1_000 });
      const at = '2026-01-01T00:00:00.000Z';
      const debit = (accountId: string, id: string, expectedVersion: number, amount: number, after = 1_000 - amount) => ({
        accountId,
        expectedVersion,
        balances: { ...zero, CASH: after },
        ledger: [
          { accountId, transactionId: id, kind: 'debit' as const, category: 'CASH' as const, delta: -amount, balanceAfter: after, version: expectedVersion + 1, createdAt: at },
        ],
        record: {
          id, accountId, kind: 'debit' as const, amount, mcc: '5999', merchant: 'X', category: 'CASH' as const,
          appliedCategory: 'CASH' as const, code: '00' as const, reason: 'approved' as const, payloadHash: id,
          version: expectedVersion + 1, createdAt: at,
        },
      });
      // Issued in one tick, so they share one SQLite transaction.
      const outcomes = await Promise.allSettled([
        store.commit(debit('a', 't-a', 0, 100)),
        store.commit(debit('b', 't-b', 7, 100)), // stale version
        store.commit(debit('c', 't-c', 0, 100, 950)), // ledger does not match the balances: refused
        store.commit(debit('d', 't-d', 0, 100)),
        store.commit(debit('nobody', 't-n', 0, 100)),
      ]);
      expect(outcomes.map((o) => (o.status === 'fulfilled' ? o.value.status : 'rejected'))).toEqual([
        'committed',
        'version_conflict',
        'rejected',
        'committed',
        'unknown_account',
      ]);
      expect((await store.getAccount('a'))!.balances.CASH).toBe(900);
      expect((await store.getAccount('b'))!.version).toBe(0);
      expect((await store.getAccount('c'))!.balances.CASH).toBe(1_000);
      expect(await store.getTransaction('t-c')).toBeUndefined();
      expect((await store.getAccount('d'))!.balances.CASH).toBe(900);
    } finally {
      await store.close();
    }
  });

  it('leaves the file in WAL mode', async () => {
    const store = await openSqliteStore({ path });
    await store.close();
    const raw = new Database(path);
    try {
      expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    } finally {
      raw.close();
    }
  });

  it('records each migration once, however often init runs, and keeps data across reopen', async () => {
    const first = await openSqliteStore({ path });
    await first.createAccount('acc-1', { FOOD: 5, MEAL: 0, CASH: 0 });
    await first.init();
    await first.close();
    const second = await openSqliteStore({ path });
    expect((await second.getAccount('acc-1'))?.balances).toEqual({ FOOD: 5, MEAL: 0, CASH: 0 });
    await second.close();
    const raw = new Database(path, { readonly: true });
    try {
      expect(raw.prepare('SELECT version FROM schema_migrations').all()).toEqual([{ version: 1 }]);
    } finally {
      raw.close();
    }
  });

  it('refuses a stored row that is not a valid document', async () => {
    const store = await openSqliteStore({ path });
    await store.createAccount('acc-1', { FOOD: 5, MEAL: 0, CASH: 0 });
    const raw = new Database(path);
    raw.defaultSafeIntegers(true);
    // Beyond Number.MAX_SAFE_INTEGER: would silently lose centavos as a JS number.
    raw.prepare('UPDATE accounts SET food = ? WHERE id = ?').run(2n ** 53n + 1n, 'acc-1');
    raw.close();
    await expect(store.getAccount('acc-1')).rejects.toBeInstanceOf(InvalidDocumentError);
    await store.close();
  });

  it('rejects calls after close with StoreUnavailableError', async () => {
    const store = await openSqliteStore({ path: ':memory:' });
    await store.close();
    await expect(store.ping()).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
  });
});
