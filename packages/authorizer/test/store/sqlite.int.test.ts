import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Database } from '../../src/store/sqlite/sqlite-store.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, InvalidDocumentError } from '../../src/errors.js';
import { SqliteStore, openSqliteStore } from '../../src/store/index.js';
import { SQLITE_MIGRATIONS } from '../../src/store/sqlite/migrations.js';
import { chain, describeStoreContract } from '../store-contract.js';

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

  it('group commit: chains issued together each keep their own outcome, and a failing one spoils no other', async () => {
    const store = await openSqliteStore({ path });
    try {
      const zero = { FOOD: 0, MEAL: 0, CASH: 0 };
      for (const id of ['a', 'b', 'c', 'd', 'e']) await store.createAccount(id, { ...zero, CASH: 1_000 });
      const created = (id: string) => store.getAccount(id).then((account) => account!);
      const steps = (prefix: string, n: number, amount = 100) =>
        Array.from({ length: n }, (_, i) => ({
          kind: 'debit' as const,
          id: `${prefix}-${i + 1}`,
          amount,
          category: 'CASH' as const,
        }));
      const a = chain(await created('a'), steps('t-a', 3));
      const b = chain({ ...(await created('b')), version: 7 }, steps('t-b', 2)); // stale version
      const good = chain(await created('c'), steps('t-c', 2));
      const c = { ...good, balances: { ...zero, CASH: 850 } }; // balances the ledger does not explain: refused
      const d = chain(await created('d'), steps('t-d', 1));
      const e = chain(await created('e'), [...steps('t-e', 1), ...steps('t-a', 1)]); // t-a-1 comes first, in a
      const nobody = chain({ ...(await created('a')), id: 'nobody' }, steps('t-n', 2));
      // Issued in one tick, so they share one SQLite transaction, each chain in its own savepoint.
      const outcomes = await Promise.allSettled([a, b, c, d, e, nobody].map((request) => store.commit(request)));
      expect(outcomes.map((o) => (o.status === 'fulfilled' ? o.value.status : 'rejected'))).toEqual([
        'committed',
        'version_conflict',
        'rejected',
        'committed',
        'duplicate_id',
        'unknown_account',
      ]);
      expect(outcomes[2]).toMatchObject({ reason: expect.any(RangeError) });
      expect(outcomes[4]).toMatchObject({ value: { existing: [a.records[0]] } });
      expect(await store.getAccount('a')).toMatchObject({ version: 3, balances: { CASH: 700 } });
      expect((await store.getAccount('b'))!.version).toBe(0);
      expect(await store.getAccount('c')).toMatchObject({ version: 0, balances: { CASH: 1_000 } });
      expect(await store.getTransaction('t-c-1')).toBeUndefined();
      expect(await store.getAccount('d')).toMatchObject({ version: 1, balances: { CASH: 900 } });
      expect(await store.getAccount('e')).toMatchObject({ version: 0, balances: { CASH: 1_000 } });
      expect(await store.getTransaction('t-e-1')).toBeUndefined();
      expect(await store.listLedger('a')).toHaveLength(4);
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
      expect(raw.prepare('SELECT version FROM schema_migrations ORDER BY version').all()).toEqual([
        { version: 1 },
        { version: 2 },
        { version: 3 },
        { version: 4 },
      ]);
    } finally {
      raw.close();
    }
  });

  it('migration 3 (reversals) rebuilds a schema-2 file with its data, foreign keys intact', async () => {
    const raw = new Database(path);
    raw.exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY NOT NULL, name TEXT NOT NULL,
      applied_at TEXT NOT NULL) STRICT`);
    for (const migration of SQLITE_MIGRATIONS.slice(0, 2)) {
      raw.exec(migration.sql);
      raw.prepare('INSERT INTO schema_migrations VALUES (?, ?, ?)').run(migration.version, migration.name, 'then');
    }
    raw.exec(`INSERT INTO accounts VALUES ('acc-1', 700, 0, 0, 1, 'then');
      INSERT INTO transactions VALUES ('tx-1', 'acc-1', 'debit', 300, '5411', 'LOJA', 'FOOD', 'FOOD', '00', 'approved',
        'h', 1, 'then');
      INSERT INTO ledger (account_id, transaction_id, kind, category, delta, balance_after, version, created_at)
        VALUES ('acc-1', NULL, 'opening', 'FOOD', 1000, 1000, 0, 'then'),
               ('acc-1', 'tx-1', 'debit', 'FOOD', -300, 700, 1, 'then');`);
    raw.close();
    const store = await openSqliteStore({ path });
    try {
      expect(await store.getTransaction('tx-1')).toMatchObject({ id: 'tx-1', amount: 300, appliedCategory: 'FOOD' });
      expect((await store.listLedger('acc-1')).map((e) => e.delta)).toEqual([1000, -300]);
      const account = (await store.getAccount('acc-1'))!;
      const reversal = chain(account, [{ kind: 'reversal', id: 'rev-1', amount: 300, category: 'FOOD', original: 'tx-1' }]);
      expect(await store.commit(reversal)).toEqual({ status: 'committed' });
      expect((await store.getAccount('acc-1'))?.balances.FOOD).toBe(1000);
    } finally {
      await store.close();
    }
    const check = new Database(path, { readonly: true });
    try {
      expect(check.pragma('foreign_key_check')).toEqual([]);
    } finally {
      check.close();
    }
  });

  it('a database that had rules before the seeded marker existed is not seeded again', async () => {
    const rule = { match: 'UBER EATS', category: 'MEAL' as const };
    const roll = (withRules: boolean) => {
      // Back to schema version 1 (no marker), with or without rules: a database from before migration 2.
      const raw = new Database(path);
      raw.exec(`DROP TABLE store_meta; DELETE FROM schema_migrations WHERE version = 2; DELETE FROM merchant_rules`);
      if (withRules) raw.prepare('INSERT INTO merchant_rules (match, category) VALUES (?, ?)').run(rule.match, rule.category);
      raw.close();
    };
    const store = await openSqliteStore({ path });
    try {
      roll(true);
      await store.init();
      expect(await store.seedMerchantRules([{ match: 'PAG*', category: 'CASH' }])).toBe(false);
      expect(await store.listMerchantRules()).toEqual([rule]);
      roll(false);
      await store.init();
      expect(await store.seedMerchantRules([rule])).toBe(true);
    } finally {
      await store.close();
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
