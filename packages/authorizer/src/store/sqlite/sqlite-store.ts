import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';
import type { Account, Balances, LedgerEntry, MerchantRule, TransactionRecord } from '../../domain/types.js';
import { AccountExistsError, CatracaError, ConfigError, StoreUnavailableError } from '../../errors.js';
import { throwIfAborted } from '../abort.js';
import { checkCommitRequest, conservationError, ledgerDeltas, openingEntries } from '../commit-request.js';
import { parseMerchantRule, toSafeInteger } from '../documents.js';
import { silentStoreLogger } from '../logger.js';
import { checkPage } from '../page.js';
import type { StoreLogger } from '../logger.js';
import type { CommitOutcome, CommitRequest, Store, StoreCallOptions, TransactionPage } from '../port.js';
import { initialized } from '../open-store.js';
import { accountFromRow, ledgerFromRow, recordFromRow, type Row } from '../sql-rows.js';
import { SQLITE_MIGRATIONS } from './migrations.js';

/**
 * The SQLite driver for this Node: better-sqlite3 12 (an addon compiled at install) on Node 20, and 13 (Node-API, a
 * prebuilt binary) on Node 22 and later. 12's statements abort Node 24 when one is finalized outside a Node
 * environment (an upstream defect: teardown, or a GC inside a vm context), and 13 does not run on Node 20. Same API.
 */
export const Database: typeof BetterSqlite3 = createRequire(import.meta.url)(
  Number(process.versions.node.split('.')[0]) >= 22 ? 'better-sqlite3-napi' : 'better-sqlite3',
);

export interface SqliteStoreOptions {
  /** Database file, or `:memory:` (tests only: nothing survives `close()`). */
  path: string;
  /**
   * `full` (default): every commit is fsynced before it is acknowledged — an approved purchase survives a power cut.
   * `normal`: faster; in WAL mode a power cut may lose the last commits (never corrupts the file).
   */
  durability?: 'full' | 'normal';
  /** How long a write waits for another connection's write lock. Blocks the event loop meanwhile. Default 2000. */
  busyTimeoutMs?: number;
  /** Default: silent. */
  logger?: StoreLogger;
}

export const SQLITE_STORE_DEFAULTS = Object.freeze({ durability: 'full' as const, busyTimeoutMs: 2_000 });

/** The `store_meta` key written once, with the merchant rules, by the first `seedMerchantRules`. */
const MERCHANT_RULES_SEEDED = 'merchant_rules_seeded';


interface PendingCommit {
  request: CommitRequest;
  resolve(outcome: CommitOutcome): void;
  reject(error: unknown): void;
}

/**
 * The embedded store: one SQLite file in WAL mode. better-sqlite3 is synchronous, so every call runs to completion
 * (or rolls back) before the event loop moves on: no transaction is ever left open across an `await`, and a signal
 * can only be honoured before a call starts.
 */
export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  readonly #db: BetterSqlite3.Database;
  readonly #logger: StoreLogger;
  #statements: ReturnType<typeof prepare> | undefined;
  #commitStep: ((request: CommitRequest) => CommitOutcome) | undefined;
  #pending: PendingCommit[] = [];
  #closed = false;

  constructor(options: SqliteStoreOptions) {
    const durability = options.durability ?? SQLITE_STORE_DEFAULTS.durability;
    const busyTimeoutMs = options.busyTimeoutMs ?? SQLITE_STORE_DEFAULTS.busyTimeoutMs;
    if (typeof options.path !== 'string' || options.path === '') throw new ConfigError('sqlite path must not be empty');
    if (durability !== 'full' && durability !== 'normal') {
      throw new ConfigError(`sqlite durability must be 'full' or 'normal', got ${String(durability)}`);
    }
    if (!Number.isSafeInteger(busyTimeoutMs) || busyTimeoutMs < 0) {
      throw new ConfigError(`sqlite busyTimeoutMs must be an integer >= 0, got ${busyTimeoutMs}`);
    }
    this.#logger = options.logger ?? silentStoreLogger;
    try {
      this.#db = new Database(options.path);
      this.#db.pragma('journal_mode = WAL');
      this.#db.pragma(`synchronous = ${durability === 'full' ? 'FULL' : 'NORMAL'}`);
      this.#db.pragma(`busy_timeout = ${busyTimeoutMs}`);
      this.#db.pragma('foreign_keys = ON');
      // BIGINT-safe reads: integers come back as bigint and are range-checked by the document schemas.
      this.#db.defaultSafeIntegers(true);
    } catch (error) {
      throw new StoreUnavailableError(`cannot open sqlite database "${options.path}"`, { cause: error });
    }
  }

  async init(options?: StoreCallOptions): Promise<void> {
    return this.#run(options, () => {
      const db = this.#db;
      const migrate = db.transaction(() => {
        db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
          version INTEGER PRIMARY KEY NOT NULL, name TEXT NOT NULL, applied_at TEXT NOT NULL) STRICT`);
        const applied = new Set(
          db.prepare('SELECT version FROM schema_migrations').all().map((row) => toSafeInteger((row as Row)['version'])),
        );
        for (const migration of SQLITE_MIGRATIONS) {
          if (applied.has(migration.version)) continue;
          db.exec(migration.sql);
          db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(
            migration.version,
            migration.name,
            new Date().toISOString(),
          );
          this.#logger.info({ version: migration.version, name: migration.name }, 'sqlite migration applied');
        }
        if ((db.pragma('foreign_key_check') as unknown[]).length > 0) throw new Error('sqlite migration broke a foreign key');
        const known = SQLITE_MIGRATIONS.length;
        if ([...applied].some((version) => version > known)) {
          this.#logger.warn({ known }, 'sqlite schema is newer than this build');
        }
      });
      // A table rebuild (migration 3) drops a table that others reference: foreign keys are off while migrating (the
      // pragma is a no-op inside a transaction) and checked as a whole before the commit.
      db.pragma('foreign_keys = OFF');
      try {
        // IMMEDIATE: two processes starting on one file serialize on the write lock instead of racing.
        migrate.immediate();
      } finally {
        db.pragma('foreign_keys = ON');
      }
    });
  }

  async ping(options?: StoreCallOptions): Promise<void> {
    return this.#run(options, () => {
      this.#db.prepare('SELECT 1').get();
    });
  }

  async createAccount(id: string, balances: Balances, options?: StoreCallOptions): Promise<Account> {
    return this.#run(options, () => {
      const s = this.#stmts();
      const createdAt = new Date().toISOString();
      const create = this.#db.transaction(() => {
        if (s.accountExists.get(id) !== undefined) throw new AccountExistsError(id);
        s.insertAccount.run({ id, food: balances.FOOD, meal: balances.MEAL, cash: balances.CASH, createdAt });
        for (const entry of openingEntries(id, balances, createdAt)) s.insertLedger.run(ledgerParams(entry));
      });
      create.immediate();
      return { id, balances: { ...balances }, version: 0, createdAt };
    });
  }

  async getAccount(id: string, options?: StoreCallOptions): Promise<Account | undefined> {
    return this.#run(options, () => {
      const row = this.#stmts().getAccount.get(id) as Row | undefined;
      return row === undefined ? undefined : accountFromRow(row);
    });
  }

  async getTransaction(id: string, options?: StoreCallOptions): Promise<TransactionRecord | undefined> {
    return this.#run(options, () => {
      const row = this.#stmts().getRecord.get(id) as Row | undefined;
      return row === undefined ? undefined : recordFromRow(row);
    });
  }

  async getWithReversals(ids: readonly string[], options?: StoreCallOptions): Promise<TransactionRecord[]> {
    return this.#run(options, () => {
      const s = this.#stmts();
      const json = JSON.stringify(ids);
      return [...(s.getRecords.all(json) as Row[]), ...(s.getReversalsOf.all(json) as Row[])].map(recordFromRow);
    });
  }

  /**
   * Group commit: chains that arrive while the event loop is busy are written together in one SQLite transaction
   * (one WAL sync for the group), each inside its own savepoint so that it keeps its own outcome. A caller's promise
   * settles only after the group's COMMIT, so an answer never precedes its durable write.
   */
  async commit(request: CommitRequest, options?: StoreCallOptions): Promise<CommitOutcome> {
    checkCommitRequest(request);
    try {
      throwIfAborted(options?.signal);
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.#closed) return Promise.reject(new StoreUnavailableError('sqlite store is closed'));
    return new Promise<CommitOutcome>((resolve, reject) => {
      this.#pending.push({ request, resolve, reject });
      if (this.#pending.length === 1) setImmediate(() => this.#flush());
    });
  }

  #flush(): void {
    const group = this.#pending;
    this.#pending = [];
    if (group.length === 0) return;
    let results: Array<{ outcome: CommitOutcome } | { error: unknown }>;
    try {
      if (this.#closed) throw new StoreUnavailableError('sqlite store is closed');
      const one = this.#commitOne;
      results = this.#db
        .transaction(() =>
          group.map(({ request }) => {
            try {
              // A nested transaction function runs in a savepoint: a throw rolls back this commit alone.
              return { outcome: one(request) };
            } catch (error) {
              return { error };
            }
          }),
        )
        .immediate();
    } catch (error) {
      const failure =
        error instanceof CatracaError ? error : new StoreUnavailableError('sqlite commit failed', { cause: error });
      if (!(error instanceof CatracaError)) this.#logger.error({ err: error, group: group.length }, 'sqlite group commit failed');
      for (const { reject } of group) reject(failure);
      return;
    }
    group.forEach(({ resolve, reject }, i) => {
      const result = results[i]!;
      if ('outcome' in result) return resolve(result.outcome);
      const { error } = result;
      if (error instanceof CatracaError || error instanceof RangeError) return reject(error);
      this.#logger.error({ err: error }, 'sqlite commit failed');
      reject(new StoreUnavailableError('sqlite commit failed', { cause: error }));
    });
  }

  /** One chain's statements; called inside the group's transaction, in a savepoint of its own. */
  get #commitOne(): (request: CommitRequest) => CommitOutcome {
    this.#commitStep ??= this.#db.transaction((request: CommitRequest): CommitOutcome => {
      const s = this.#stmts();
      const { accountId, expectedVersion, balances, ledger, records } = request;
      // The chain's taken ids, then the reversals that spent one (each record once).
      const rows = [
        ...records.map((record) => s.getRecord.get(record.id) as Row | undefined),
        ...records.flatMap((record) => s.reversalMarks.all(record.id, accountId) as Row[]),
      ].filter((row) => row !== undefined);
      const existing = [...new Map(rows.map((row) => [row['id'], row])).values()].map(recordFromRow);
      if (existing.length > 0) return { status: 'duplicate_id', existing };
      const deltas = ledgerDeltas(ledger);
      const updated = s.casAccount.run({
        id: accountId,
        expected: expectedVersion,
        count: records.length,
        food: balances.FOOD,
        meal: balances.MEAL,
        cash: balances.CASH,
        dFood: deltas.FOOD,
        dMeal: deltas.MEAL,
        dCash: deltas.CASH,
        epoch: request.ownerEpoch ?? null,
      });
      if (updated.changes === 0) {
        const current = s.accountFence.get({ id: accountId, epoch: request.ownerEpoch ?? null }) as Row | undefined;
        if (current === undefined) return { status: 'unknown_account' };
        if (current['fenced'] === 1 || current['fenced'] === 1n) return { status: 'fenced' };
        if (toSafeInteger(current['version']) !== expectedVersion) return { status: 'version_conflict' };
        throw conservationError(accountId);
      }
      for (const record of records) s.insertRecord.run(recordParams(record));
      for (const entry of ledger) s.insertLedger.run(ledgerParams(entry));
      return { status: 'committed' };
    });
    return this.#commitStep;
  }

  async listTransactions(
    accountId: string,
    page: { limit: number; before?: number },
    options?: StoreCallOptions,
  ): Promise<TransactionPage> {
    checkPage(page);
    return this.#run(options, () => {
      const rows = this.#stmts().listRecords.all({
        accountId,
        before: page.before ?? null,
        limit: page.limit + 1,
      }) as Row[];
      const items = rows.slice(0, page.limit).map(recordFromRow);
      const last = items.at(-1);
      return rows.length > page.limit && last !== undefined ? { items, nextBefore: last.version } : { items };
    });
  }

  async listLedger(accountId: string, options?: StoreCallOptions): Promise<LedgerEntry[]> {
    return this.#run(options, () => (this.#stmts().listLedger.all(accountId) as Row[]).map(ledgerFromRow));
  }

  async listMerchantRules(options?: StoreCallOptions): Promise<MerchantRule[]> {
    return this.#run(options, () =>
      (this.#stmts().listRules.all() as Row[]).map((row) =>
        parseMerchantRule({ match: row['match'], category: row['category'] }),
      ),
    );
  }

  async putMerchantRule(rule: MerchantRule, options?: StoreCallOptions): Promise<void> {
    return this.#run(options, () => {
      this.#stmts().putRule.run({ match: rule.match, category: rule.category });
    });
  }

  async deleteMerchantRule(match: string, options?: StoreCallOptions): Promise<boolean> {
    return this.#run(options, () => this.#stmts().deleteRule.run(match).changes > 0);
  }

  async seedMerchantRules(rules: readonly MerchantRule[], options?: StoreCallOptions): Promise<boolean> {
    return this.#run(options, () => {
      const s = this.#stmts();
      // IMMEDIATE: of two processes seeding one file, the second waits for the first's marker and finds it.
      return this.#db
        .transaction(() => {
          if (s.markSeeded.run(MERCHANT_RULES_SEEDED, new Date().toISOString()).changes === 0) return false;
          for (const rule of rules) s.putRule.run({ match: rule.match, category: rule.category });
          return true;
        })
        .immediate();
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#flush();
    this.#closed = true;
    this.#db.close();
  }

  /** Runs one synchronous database step, mapping driver failures to {@link StoreUnavailableError}. */
  #run<T>(options: StoreCallOptions | undefined, step: () => T): Promise<T> {
    try {
      throwIfAborted(options?.signal);
      if (this.#closed) throw new StoreUnavailableError('sqlite store is closed');
      return Promise.resolve(step());
    } catch (error) {
      if (error instanceof CatracaError || error instanceof RangeError) return Promise.reject(error);
      this.#logger.error({ err: error }, 'sqlite store call failed');
      return Promise.reject(new StoreUnavailableError('sqlite store call failed', { cause: error }));
    }
  }

  /** Statements are prepared on first use, after `init()` made the tables. */
  #stmts(): ReturnType<typeof prepare> {
    this.#statements ??= prepare(this.#db);
    return this.#statements;
  }
}

/** Opens a {@link SqliteStore} and runs its migrations. */
export async function openSqliteStore(options: SqliteStoreOptions): Promise<SqliteStore> {
  return initialized(new SqliteStore(options));
}

function prepare(db: BetterSqlite3.Database) {
  return {
    accountExists: db.prepare('SELECT 1 FROM accounts WHERE id = ?'),
    accountFence: db.prepare(
      'SELECT version, (@epoch IS NOT NULL AND owner_epoch > @epoch) AS fenced FROM accounts WHERE id = @id',
    ),
    getAccount: db.prepare('SELECT id, food, meal, cash, version, created_at FROM accounts WHERE id = ?'),
    insertAccount: db.prepare(
      `INSERT INTO accounts (id, food, meal, cash, version, created_at)
       VALUES (@id, @food, @meal, @cash, 0, @createdAt)`,
    ),
    // The compare-and-set fence; the balance terms refuse new balances that the ledger deltas do not explain.
    casAccount: db.prepare(
      `UPDATE accounts SET food = @food, meal = @meal, cash = @cash, version = version + @count,
         owner_epoch = coalesce(@epoch, owner_epoch)
       WHERE id = @id AND version = @expected AND (@epoch IS NULL OR owner_epoch <= @epoch)
         AND food + @dFood = @food AND meal + @dMeal = @meal AND cash + @dCash = @cash`,
    ),
    getRecord: db.prepare('SELECT * FROM transactions WHERE id = ?'),
    getRecords: db.prepare('SELECT * FROM transactions WHERE id IN (SELECT value FROM json_each(?))'),
    getReversalsOf: db.prepare(
      `SELECT * FROM transactions WHERE original_id IN (SELECT value FROM json_each(?)) AND original_id IS NOT NULL`,
    ),
    reversalMarks: db.prepare('SELECT * FROM transactions WHERE original_id = ? AND account_id = ?'),
    insertRecord: db.prepare(
      `INSERT INTO transactions (id, account_id, kind, amount, mcc, merchant, category, applied_category, code,
         reason, payload_hash, version, created_at, original_id)
       VALUES (@id, @accountId, @kind, @amount, @mcc, @merchant, @category, @appliedCategory, @code,
         @reason, @payloadHash, @version, @createdAt, @originalId)`,
    ),
    listRecords: db.prepare(
      `SELECT * FROM transactions WHERE account_id = @accountId AND (@before IS NULL OR version < @before)
       ORDER BY version DESC LIMIT @limit`,
    ),
    insertLedger: db.prepare(
      `INSERT INTO ledger (account_id, transaction_id, kind, category, delta, balance_after, version, created_at)
       VALUES (@accountId, @transactionId, @kind, @category, @delta, @balanceAfter, @version, @createdAt)`,
    ),
    listLedger: db.prepare('SELECT * FROM ledger WHERE account_id = ? ORDER BY version, seq'),
    listRules: db.prepare('SELECT match, category FROM merchant_rules ORDER BY match'),
    putRule: db.prepare(
      `INSERT INTO merchant_rules (match, category) VALUES (@match, @category)
       ON CONFLICT (match) DO UPDATE SET category = excluded.category`,
    ),
    deleteRule: db.prepare('DELETE FROM merchant_rules WHERE match = ?'),
    markSeeded: db.prepare('INSERT INTO store_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING'),
  };
}


function recordParams(record: TransactionRecord): Record<string, unknown> {
  return { ...record, originalId: record.originalId ?? null };
}

function ledgerParams(entry: LedgerEntry): Record<string, unknown> {
  return { ...entry };
}
