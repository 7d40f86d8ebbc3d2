import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createThrowawayDatabase, startPrivatePostgres } from '../../../../test-support/postgres.js';
import type { PrivatePostgres, ThrowawayDatabase } from '../../../../test-support/postgres.js';
import { ConfigError, InvalidDocumentError, StoreUnavailableError } from '../../src/errors.js';
import { PostgresStore, openPostgresStore } from '../../src/store/index.js';
import { chain, credit, debit, describeStoreContract } from '../store-contract.js';

describeStoreContract('postgres', async () => {
  const db = await createThrowawayDatabase();
  return {
    store: new PostgresStore({ connectionString: db.connectionString }),
    peer: async () => new PostgresStore({ connectionString: db.connectionString }),
    cleanup: () => db.drop(),
  };
});

/** Polls until `probe` is true; bounded by the test's own timeout, not by a wall-clock assertion. */
async function until(probe: () => Promise<boolean>): Promise<void> {
  while (!(await probe())) await sleep(20);
}

/** True when a backend of `applicationName` is waiting for a lock. */
async function waitingOnLock(admin: pg.Client, applicationName: string): Promise<boolean> {
  const { rows } = await admin.query(
    `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'`,
    [applicationName],
  );
  return (rows[0] as { n: number }).n > 0;
}

describe('PostgresStore specifics', () => {
  let db: ThrowawayDatabase;
  let store: PostgresStore;
  let admin: pg.Client;

  beforeEach(async () => {
    db = await createThrowawayDatabase();
    store = await openPostgresStore({ connectionString: db.connectionString, applicationName: 'catraca-specifics' });
    admin = new pg.Client({ connectionString: db.connectionString });
    admin.on('error', () => {});
    await admin.connect();
  });

  afterEach(async () => {
    await admin.end();
    await store.close();
    await db.drop();
  });

  it('refuses invalid options at construction', () => {
    expect(() => new PostgresStore({ connectionString: '' })).toThrow(ConfigError);
    expect(() => new PostgresStore({ connectionString: db.connectionString, statementTimeoutMs: 0 })).toThrow(
      ConfigError,
    );
    expect(() => new PostgresStore({ connectionString: db.connectionString, maxConnections: 1.5 })).toThrow(ConfigError);
  });

  it('records each migration once', async () => {
    await Promise.all([store.init(), store.init()]);
    const { rows } = await admin.query('SELECT version FROM schema_migrations');
    expect(rows).toEqual([{ version: 1 }]);
  });

  it('refuses a stored BIGINT beyond the safe integer range with InvalidDocumentError', async () => {
    await store.createAccount('acc-1', { FOOD: 5, MEAL: 0, CASH: 0 });
    await admin.query(`UPDATE accounts SET food = 9007199254740993 WHERE id = 'acc-1'`);
    await expect(store.getAccount('acc-1')).rejects.toBeInstanceOf(InvalidDocumentError);
  });

  it('an abort while the commit waits on a lock rejects at once and rolls back', async () => {
    const account = await store.createAccount('acc-1', { FOOD: 1_000, MEAL: 0, CASH: 0 });
    await admin.query('BEGIN');
    await admin.query(`SELECT * FROM accounts WHERE id = 'acc-1' FOR UPDATE`);
    const controller = new AbortController();
    const pending = store.commit(debit(account, 'tx-1', 100, 'FOOD'), { signal: controller.signal });
    await until(() => waitingOnLock(admin, 'catraca-specifics'));
    controller.abort(new Error('deadline'));
    await expect(pending).rejects.toBeInstanceOf(StoreUnavailableError);
    await admin.query('ROLLBACK');
    // The abandoned transaction never committed: the same version is still free.
    expect(await store.commit(debit(account, 'tx-2', 100, 'FOOD'))).toEqual({ status: 'committed' });
    expect(await store.getTransaction('tx-1')).toBeUndefined();
    expect(await store.getAccount('acc-1')).toMatchObject({ version: 1, balances: { FOOD: 900, MEAL: 0, CASH: 0 } });
    const { rows } = await admin.query(
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'catraca-specifics' AND state LIKE 'idle in transaction%'`,
    );
    expect(rows).toEqual([{ n: 0 }]);
  });
  it('a record id inserted by another replica after the duplicate check rolls the chain back: duplicate_id', async () => {
    const account = await store.createAccount('acc-1', { FOOD: 1_000, MEAL: 0, CASH: 0 });
    await store.createAccount('acc-2', { FOOD: 0, MEAL: 0, CASH: 0 });
    const debits = (ids: string[]) => ids.map((id) => ({ kind: 'debit' as const, id, amount: 100, category: 'FOOD' as const }));
    const steps = debits(['tx-1', 'tx-2', 'tx-3']);
    const insertElsewhere = (id: string, version: number) =>
      admin.query(
        `INSERT INTO transactions (id, account_id, kind, amount, mcc, merchant, category, applied_category, code,
           reason, payload_hash, version, created_at)
         VALUES ($1, 'acc-2', 'credit', 5, NULL, NULL, 'CASH', 'CASH', '00', 'credited', 'h', $2, now())`,
        [id, version],
      );

    // The other replica's insert is still open: the chain's insert waits on it, then finds it committed.
    await admin.query('BEGIN');
    await insertElsewhere('tx-2', 1);
    const pending = store.commit(chain(account, steps));
    await until(() => waitingOnLock(admin, 'catraca-specifics'));
    await admin.query('COMMIT');
    const outcome = await pending;
    expect(outcome).toMatchObject({ status: 'duplicate_id', existing: [{ id: 'tx-2', accountId: 'acc-2' }] });
    expect(await store.getAccount('acc-1')).toEqual(account);
    expect(await store.getTransaction('tx-1')).toBeUndefined();
    expect(await store.listLedger('acc-1')).toHaveLength(1);

    // The same race, but the other replica rolls back: the chain goes in whole.
    const retry = debits(['tx-4', 'tx-5']);
    await admin.query('BEGIN');
    await insertElsewhere('tx-5', 2);
    const second = store.commit(chain(account, retry));
    await until(() => waitingOnLock(admin, 'catraca-specifics'));
    await admin.query('ROLLBACK');
    expect(await second).toEqual({ status: 'committed' });
    expect(await store.getAccount('acc-1')).toMatchObject({ version: 2, balances: { FOOD: 800 } });
  });
});

describe('PostgresStore when its server stops and comes back (private server)', () => {
  let server: PrivatePostgres;
  let db: ThrowawayDatabase;
  let store: PostgresStore;

  beforeAll(async () => {
    server = await startPrivatePostgres();
    db = await createThrowawayDatabase(server.url);
    store = await openPostgresStore({
      connectionString: db.connectionString,
      applicationName: 'catraca-faults',
      connectionTimeoutMs: 1_000,
      statementTimeoutMs: 2_000,
    });
  }, 120_000);

  afterAll(async () => {
    await store?.close();
    await server?.destroy();
  }, 120_000);

  it('rejects with StoreUnavailableError while it is down, half-applies nothing, and recovers', async () => {
    let account = await store.createAccount('acc-1', { FOOD: 1_000, MEAL: 0, CASH: 500 });
    expect(await store.commit(debit(account, 'tx-1', 100, 'FOOD'))).toEqual({ status: 'committed' });
    account = (await store.getAccount('acc-1'))!;

    // A commit caught mid-way: it waits on a row lock when the server shuts down.
    const blocker = new pg.Client({ connectionString: db.connectionString });
    blocker.on('error', () => {});
    await blocker.connect();
    await blocker.query('BEGIN');
    await blocker.query(`SELECT * FROM accounts WHERE id = 'acc-1' FOR UPDATE`);
    const midway = expect(store.commit(debit(account, 'tx-midway', 100, 'FOOD'))).rejects.toBeInstanceOf(
      StoreUnavailableError,
    );
    await until(() => waitingOnLock(blocker, 'catraca-faults'));
    await server.stop('fast');
    await midway;
    await blocker.end().catch(() => {});

    // Down: every call fails fast (connectionTimeoutMs bounds each attempt).
    await expect(store.ping()).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(store.getAccount('acc-1')).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(store.commit(debit(account, 'tx-down', 100, 'FOOD'))).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(store.commit(credit(account, 'tx-down-2', 100, 'CASH'), { signal: AbortSignal.timeout(200) }))
      .rejects.toBeInstanceOf(StoreUnavailableError);

    await server.start();
    await store.ping();
    expect(await store.getAccount('acc-1')).toEqual(account);
    expect(await store.getTransaction('tx-midway')).toBeUndefined();
    expect(await store.getTransaction('tx-down')).toBeUndefined();
    expect(await store.commit(debit(account, 'tx-2', 100, 'FOOD'))).toEqual({ status: 'committed' });
    const ledger = await store.listLedger('acc-1');
    expect(ledger.filter((e) => e.category === 'FOOD').reduce((sum, e) => sum + e.delta, 0)).toBe(800);
  }, 120_000);
});
