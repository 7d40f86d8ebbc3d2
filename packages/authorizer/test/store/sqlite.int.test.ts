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
