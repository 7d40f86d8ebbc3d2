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
    const { rows } = await admin.query('SELECT version FROM schema_migrations ORDER BY version');
    expect(rows).toEqual([{ version: 1 }, { version: 2 }, { version: 3 }, { version: 4 }, { version: 5 }]);
  });

  it('a database that had rules before the seeded marker existed is not seeded again', async () => {
    const rule = { match: 'UBER EATS', category: 'MEAL' as const };
    // Back to schema version 1 (no marker), with or without rules: a database from before migration 2.
    const roll = async (withRules: boolean) => {
      await admin.query('DROP TABLE store_meta; DELETE FROM schema_migrations WHERE version = 2; DELETE FROM merchant_rules');
      if (withRules) await admin.query('INSERT INTO merchant_rules (match, category) VALUES ($1, $2)', [rule.match, rule.category]);
    };
    await roll(true);
    await store.init();
    expect(await store.seedMerchantRules([{ match: 'PAG*', category: 'CASH' }])).toBe(false);
    expect(await store.listMerchantRules()).toEqual([rule]);
    await roll(false);
    await store.init();
    expect(await store.seedMerchantRules([rule])).toBe(true);
  });

  it('refuses a stored BIGINT beyond the safe integer range with InvalidDocumentError', async () => {
    await store.createAccount('acc-1', { FOOD: 5, MEAL: 0, CASH: 0 });
    await admin.query(`UPDATE accounts SET food = 9007199254740993 WHERE id = 'acc-1'`);
    await expect(store.getAccount('acc-1')).rejects.toBeInstanceOf(InvalidDocumentError);
  });

  it('an abort while the commit waits on a lock rejects at once (outcome unknown) and cancels the statement', async () => {
    const account = await store.createAccount('acc-1', { FOOD: 1_000, MEAL: 0, CASH: 0 });
    await admin.query('BEGIN');
    await admin.query(`SELECT * FROM accounts WHERE id = 'acc-1' FOR UPDATE`);
    const controller = new AbortController();
    const pending = store.commit(debit(account, 'tx-1', 100, 'FOOD'), { signal: controller.signal });
    await until(() => waitingOnLock(admin, 'catraca-specifics'));
    controller.abort(new Error('deadline'));
    const error = await pending.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreUnavailableError);
    // The statement was sent (it is the whole transaction): the caller cannot know, but the cancel request that
    // follows the abort stops the waiting statement before it could commit.
    expect((error as Error).message).toMatch(/outcome unknown/);
    await until(async () => !(await waitingOnLock(admin, 'catraca-specifics')));
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
  it('a commit that waited on a writer which moved the version on answers version_conflict, not a conservation error', async () => {
    const account = await store.createAccount('acc-1', { FOOD: 1_000, MEAL: 0, CASH: 0 });
    // Watches from outside the writer's transaction (pg_stat_activity is read once per transaction).
    const watcher = new pg.Client({ connectionString: db.connectionString });
    watcher.on('error', () => {});
    await watcher.connect();
    // The other writer's change is invisible to the waiting commit's snapshot, which still shows the expected version.
    for (const [food, version] of [
      [1_000, 1],
      [700, 2],
    ] as const) {
      await admin.query('BEGIN');
      await admin.query(`UPDATE accounts SET food = $1, version = $2 WHERE id = 'acc-1'`, [food, version]);
      const pending = store.commit(debit({ ...account, version: version - 1 }, `tx-${version}`, 100, 'FOOD'));
      await until(() => waitingOnLock(watcher, 'catraca-specifics'));
      await admin.query('COMMIT');
      expect(await pending).toEqual({ status: 'version_conflict' });
      expect(await store.getTransaction(`tx-${version}`)).toBeUndefined();
    }
    await watcher.end();
    expect(await store.getAccount('acc-1')).toMatchObject({ version: 2, balances: { FOOD: 700 } });
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

    // A commit caught mid-way: it waits on a row lock when the server crashes. (A fast shutdown could release the
    // blocker's lock before ending the commit's backend, and the commit — one statement — would then go in whole.)
    const blocker = new pg.Client({ connectionString: db.connectionString });
    blocker.on('error', () => {});
    await blocker.connect();
    await blocker.query('BEGIN');
    await blocker.query(`SELECT * FROM accounts WHERE id = 'acc-1' FOR UPDATE`);
    // Settled into a value at once, so that an early wrong outcome fails this test instead of being reported as an
    // unhandled rejection while the test still waits below.
    const midway = store.commit(debit(account, 'tx-midway', 100, 'FOOD')).then(
      (outcome) => outcome,
      (error: unknown) => error,
    );
    await until(() => waitingOnLock(blocker, 'catraca-faults'));
    await server.stop('immediate');
    const outcome = await midway;
    expect(outcome).toBeInstanceOf(StoreUnavailableError);
    expect((outcome as Error).message).toMatch(/outcome unknown/);
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

  /*
   * The unknown-outcome case. A synchronous standby that never connects makes every COMMIT wait after it is written
   * locally: the signal fires while COMMIT is in flight, the call rejects with StoreUnavailableError saying the outcome
   * is unknown, and — once the standby requirement is lifted — the transaction turns out to be committed. A retry
   * with the same id (what the client does after a 07) is then answered as a duplicate: idempotency tells the truth.
   */
  it('an abort while COMMIT is in flight rejects with an unknown outcome; a retry with the same id finds it', async () => {
    const syncStore = await openPostgresStore({
      connectionString: db.connectionString,
      applicationName: 'catraca-syncrep',
      // Far beyond the signal: the rejection must come from the signal, not from a statement or query timeout.
      statementTimeoutMs: 60_000,
    });
    const admin = new pg.Client({ connectionString: db.connectionString });
    admin.on('error', () => {});
    await admin.connect();
    try {
      const account = await syncStore.createAccount('acc-sync', { FOOD: 1_000, MEAL: 0, CASH: 0 });
      await admin.query('CREATE TABLE sync_probe (n INT)');
      await admin.query(`ALTER SYSTEM SET synchronous_standby_names = 'nobody'`);
      await admin.query('SELECT pg_reload_conf()');
      // The reload reaches the backends asynchronously: wait until a probe commit really waits for the standby.
      await until(() => commitWaitsForStandby(admin, db.connectionString));

      const request = debit(account, 'tx-sync', 100, 'FOOD');
      const controller = new AbortController();
      let settled = false;
      const pending = syncStore.commit(request, { signal: controller.signal });
      pending.then(
        () => (settled = true),
        () => (settled = true),
      );
      await until(async () => settled || (await waitingOn(admin, 'catraca-syncrep', 'SyncRep')));
      expect(settled).toBe(false);
      controller.abort(new Error('deadline'));
      const error = await pending.catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StoreUnavailableError);
      expect((error as Error).message).toMatch(/outcome unknown/);

      await admin.query('ALTER SYSTEM RESET synchronous_standby_names');
      await admin.query('SELECT pg_reload_conf()');
      // Released from its wait, the abandoned transaction is visible: it had committed locally all along.
      await until(async () => (await syncStore.getTransaction('tx-sync')) !== undefined);
      expect(await syncStore.commit(request)).toEqual({ status: 'duplicate_id', existing: request.records });
      expect(await syncStore.getAccount('acc-sync')).toMatchObject({ version: 1, balances: { FOOD: 900 } });
    } finally {
      await admin.query('ALTER SYSTEM RESET synchronous_standby_names').catch(() => {});
      await admin.query('SELECT pg_reload_conf()').catch(() => {});
      await admin.end().catch(() => {});
      await syncStore.close();
    }
  }, 120_000);
});

/** True when a backend of `applicationName` waits on `waitEvent` (e.g. `SyncRep`: a COMMIT waiting for a standby). */
async function waitingOn(admin: pg.Client, applicationName: string, waitEvent: string): Promise<boolean> {
  const { rows } = await admin.query(
    `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND wait_event = $2`,
    [applicationName, waitEvent],
  );
  return (rows[0] as { n: number }).n > 0;
}

/** Commits one probe row; true when that commit waited for a synchronous standby (the probe is then terminated). */
async function commitWaitsForStandby(admin: pg.Client, connectionString: string): Promise<boolean> {
  const probe = new pg.Client({ connectionString, application_name: 'catraca-probe' });
  probe.on('error', () => {});
  await probe.connect();
  let settled = false;
  const done = probe.query('INSERT INTO sync_probe VALUES (1)').then(
    () => (settled = true),
    () => (settled = true),
  );
  await until(async () => settled || (await waitingOn(admin, 'catraca-probe', 'SyncRep')));
  const waited = !settled;
  if (waited) await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'catraca-probe'`);
  await done;
  await probe.end().catch(() => {});
  return waited;
}
