import net from 'node:net';
import pg from 'pg';
import type { Account, Balances, LedgerEntry, MerchantRule, TransactionRecord } from '../../domain/types.js';
import {
  AccountExistsError,
  CatracaError,
  ConfigError,
  InvalidDocumentError,
  StoreUnavailableError,
} from '../../errors.js';
import { throwIfAborted } from '../abort.js';
import { checkCommitRequest, conservationError, ledgerDeltas, openingEntries } from '../commit-request.js';
import { parseMerchantRule, toSafeInteger } from '../documents.js';
import { silentStoreLogger } from '../logger.js';
import { checkPage } from '../page.js';
import type { StoreLogger } from '../logger.js';
import type { CommitOutcome, CommitRequest, Store, StoreCallOptions, TransactionPage } from '../port.js';
import { initialized } from '../open-store.js';
import { COMMIT_STATEMENT_NAME, COMMIT_STATEMENT_TEXT, commitStatementValues } from './commit-statement.js';
import { LATE_DUPLICATE_SQLSTATE, MIGRATION_LOCK_KEY, POSTGRES_MIGRATIONS } from './migrations.js';
import { accountFromRow, ledgerFromRow, recordFromRow } from '../sql-rows.js';
import type { Row } from '../sql-rows.js';

export interface PostgresStoreOptions {
  /** `postgres://user:password@host:port/database`. */
  connectionString: string;
  /** Pool size. Default 10. */
  maxConnections?: number;
  /** Gives up opening a connection after this long. Default 2000. */
  connectionTimeoutMs?: number;
  /** Server-side limit per statement (also bounds lock waits). Default 5000. */
  statementTimeoutMs?: number;
  /** The server ends a session left idle inside a transaction this long (a crashed caller). Default 10000. */
  idleInTransactionTimeoutMs?: number;
  /** Idle pooled connections are closed after this long. Default 30000. */
  idleTimeoutMs?: number;
  /** Reported in `pg_stat_activity`. Default `catraca`. */
  applicationName?: string;
  /** Default: silent. */
  logger?: StoreLogger;
}

/** The `store_meta` key written once, with the merchant rules, by the first `seedMerchantRules`. */
const MERCHANT_RULES_SEEDED = 'merchant_rules_seeded';

export const POSTGRES_STORE_DEFAULTS = Object.freeze({
  maxConnections: 10,
  connectionTimeoutMs: 2_000,
  statementTimeoutMs: 5_000,
  idleInTransactionTimeoutMs: 10_000,
  idleTimeoutMs: 30_000,
  applicationName: 'catraca',
});

interface Session {
  query(text: string | pg.QueryConfig, values?: unknown[]): Promise<pg.QueryResult<Row>>;
  /**
   * The commit is on its way (a COMMIT, or the single commit statement): from here on an abort no longer rolls
   * back, it abandons a call whose outcome is unknown (the connection is destroyed; the server may or may not have
   * committed).
   */
  shield(): void;
  /** The connection's state is unknown (a failed ROLLBACK): destroy it instead of returning it to the pool. */
  markBroken(): void;
}

/**
 * A PostgreSQL store. Each commit (a chain of records on one account) is one statement in autocommit, one round trip
 * (see `commit-statement.ts`): a duplicate-id check on every record id, a compare-and-set UPDATE on the account
 * version (which also waits on a concurrent writer's row lock and then re-checks the version), and one multi-row
 * insert each for the records and the ledger entries; a record id that another writer inserted meanwhile fails the
 * whole statement. Once that statement is sent, an abort cannot know whether it committed: the call rejects with
 * {@link StoreUnavailableError} saying the outcome is unknown (a retry with the same ids finds out), the connection is
 * closed, and a cancel request stops the statement if it is still running (waiting on a lock, say). Other
 * transactions (migrations, account creation, seeding) are BEGIN … COMMIT; an abort before their COMMIT rolls back.
 */
export class PostgresStore implements Store {
  readonly kind = 'postgres' as const;
  readonly #pool: pg.Pool;
  readonly #logger: StoreLogger;
  #closed = false;

  constructor(options: PostgresStoreOptions) {
    if (typeof options.connectionString !== 'string' || options.connectionString === '') {
      throw new ConfigError('postgres connectionString must not be empty');
    }
    const d = POSTGRES_STORE_DEFAULTS;
    const maxConnections = positiveInteger('maxConnections', options.maxConnections ?? d.maxConnections);
    const statementTimeoutMs = positiveInteger('statementTimeoutMs', options.statementTimeoutMs ?? d.statementTimeoutMs);
    this.#logger = options.logger ?? silentStoreLogger;
    this.#pool = new pg.Pool({
      connectionString: options.connectionString,
      max: maxConnections,
      connectionTimeoutMillis: positiveInteger('connectionTimeoutMs', options.connectionTimeoutMs ?? d.connectionTimeoutMs),
      idleTimeoutMillis: positiveInteger('idleTimeoutMs', options.idleTimeoutMs ?? d.idleTimeoutMs),
      statement_timeout: statementTimeoutMs,
      lock_timeout: statementTimeoutMs,
      // The client gives up a little after the server would have, in case the server cannot even say so.
      query_timeout: statementTimeoutMs + 1_000,
      idle_in_transaction_session_timeout: positiveInteger(
        'idleInTransactionTimeoutMs',
        options.idleInTransactionTimeoutMs ?? d.idleInTransactionTimeoutMs,
      ),
      application_name: options.applicationName ?? d.applicationName,
    });
    // An idle pooled connection that dies (server restart) is dropped by the pool; without a listener it would crash.
    this.#pool.on('error', (error) => this.#logger.warn({ err: error }, 'idle postgres connection failed'));
    // The pool listens only to idle connections: a checked-out one that dies (server shutdown) would otherwise emit
    // an unhandled 'error'. Its pending query fails on its own, and the session destroys it.
    this.#pool.on('connect', (client) => {
      client.on('error', (error) => this.#logger.warn({ err: error }, 'postgres connection failed'));
    });
  }

  async init(options?: StoreCallOptions): Promise<void> {
    await this.#transaction(options, async (s) => {
      // Replicas starting together take turns; the second one finds everything applied.
      await s.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
      await s.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
        version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`);
      const applied = new Set(
        (await s.query('SELECT version FROM schema_migrations')).rows.map((row) => toSafeInteger(row['version'])),
      );
      for (const migration of POSTGRES_MIGRATIONS) {
        if (applied.has(migration.version)) continue;
        await s.query(migration.sql);
        await s.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [
          migration.version,
          migration.name,
        ]);
        this.#logger.info({ version: migration.version, name: migration.name }, 'postgres migration applied');
      }
    });
  }

  async ping(options?: StoreCallOptions): Promise<void> {
    await this.#session(options, (s) => s.query('SELECT 1'));
  }

  async createAccount(id: string, balances: Balances, options?: StoreCallOptions): Promise<Account> {
    const createdAt = new Date().toISOString();
    await this.#transaction(options, async (s) => {
      const inserted = await s.query(
        `INSERT INTO accounts (id, food, meal, cash, version, created_at) VALUES ($1, $2, $3, $4, 0, $5)
         ON CONFLICT (id) DO NOTHING RETURNING id`,
        [id, balances.FOOD, balances.MEAL, balances.CASH, createdAt],
      );
      if (inserted.rowCount === 0) throw new AccountExistsError(id);
      await insertLedger(s, openingEntries(id, balances, createdAt));
    });
    return { id, balances: { ...balances }, version: 0, createdAt };
  }

  async getAccount(id: string, options?: StoreCallOptions): Promise<Account | undefined> {
    const { rows } = await this.#session(options, (s) =>
      s.query('SELECT id, food, meal, cash, version, created_at FROM accounts WHERE id = $1', [id]),
    );
    return rows[0] === undefined ? undefined : accountFromRow(rows[0]);
  }

  async getTransaction(id: string, options?: StoreCallOptions): Promise<TransactionRecord | undefined> {
    const { rows } = await this.#session(options, (s) => s.query('SELECT * FROM transactions WHERE id = $1', [id]));
    return rows[0] === undefined ? undefined : recordFromRow(rows[0]);
  }

  async getWithReversals(ids: readonly string[], options?: StoreCallOptions): Promise<TransactionRecord[]> {
    const { rows } = await this.#session(options, (s) =>
      s.query('SELECT * FROM transactions WHERE id = ANY($1::text[]) OR original_id = ANY($1::text[])', [ids]),
    );
    return rows.map(recordFromRow);
  }

  async commit(request: CommitRequest, options?: StoreCallOptions): Promise<CommitOutcome> {
    checkCommitRequest(request);
    const { accountId, expectedVersion, records } = request;
    const ids = records.map((record) => record.id);
    const query = {
      name: COMMIT_STATEMENT_NAME,
      text: COMMIT_STATEMENT_TEXT,
      values: commitStatementValues(request, ledgerDeltas(request.ledger)),
    };
    return this.#session(options, async (s): Promise<CommitOutcome> => {
      // One statement in autocommit is the whole transaction: once it is sent, an abort leaves the outcome unknown.
      s.shield();
      let row: Row | undefined;
      try {
        row = (await s.query(query)).rows[0];
      } catch (error) {
        if ((error as { code?: unknown }).code !== LATE_DUPLICATE_SQLSTATE) throw error;
        // The statement rolled back; the other writer's records are committed, so they can be read now.
        const existing = await selectRecords(s, ids);
        if (existing.length === 0) throw new StoreUnavailableError('duplicate transaction id vanished');
        return { status: 'duplicate_id', existing };
      }
      if (row === undefined) throw new StoreUnavailableError('postgres commit returned no row');
      if (row['updated'] === true) return { status: 'committed' };
      const existing = row['existing'];
      if (Array.isArray(existing) && existing.length > 0) {
        const found = (existing as Row[]).map(recordFromRow);
        const byId = new Map(found.map((record) => [record.id, record]));
        // The records of the chain's ids in chain order, then the reversals that spent a chain id.
        const taken = ids.flatMap((id) => byId.get(id) ?? []);
        return { status: 'duplicate_id', existing: [...taken, ...found.filter((record) => !taken.includes(record))] };
      }
      if (row['snapshot_version'] === null) return { status: 'unknown_account' };
      if (row['snapshot_fenced'] === true) return { status: 'fenced' };
      // At the expected version, balances that do not add up are a caller bug; balances that do mean the row changed
      // after the statement's snapshot.
      if (toSafeInteger(row['snapshot_version']) === expectedVersion && row['snapshot_conserved'] !== true) {
        throw conservationError(accountId);
      }
      return { status: 'version_conflict' };
    });
  }

  async listTransactions(
    accountId: string,
    page: { limit: number; before?: number },
    options?: StoreCallOptions,
  ): Promise<TransactionPage> {
    checkPage(page);
    const { rows } = await this.#session(options, (s) =>
      s.query(
        `SELECT * FROM transactions WHERE account_id = $1 AND ($2::bigint IS NULL OR version < $2::bigint)
         ORDER BY version DESC LIMIT $3`,
        [accountId, page.before ?? null, page.limit + 1],
      ),
    );
    const items = rows.slice(0, page.limit).map(recordFromRow);
    const last = items.at(-1);
    return rows.length > page.limit && last !== undefined ? { items, nextBefore: last.version } : { items };
  }

  async listLedger(accountId: string, options?: StoreCallOptions): Promise<LedgerEntry[]> {
    const { rows } = await this.#session(options, (s) =>
      s.query('SELECT * FROM ledger WHERE account_id = $1 ORDER BY version, seq', [accountId]),
    );
    return rows.map(ledgerFromRow);
  }

  async listMerchantRules(options?: StoreCallOptions): Promise<MerchantRule[]> {
    const { rows } = await this.#session(options, (s) =>
      s.query('SELECT match, category FROM merchant_rules ORDER BY match'),
    );
    return rows.map((row) => parseMerchantRule({ match: row['match'], category: row['category'] }));
  }

  async putMerchantRule(rule: MerchantRule, options?: StoreCallOptions): Promise<void> {
    await this.#session(options, (s) => putRule(s, rule));
  }

  async deleteMerchantRule(match: string, options?: StoreCallOptions): Promise<boolean> {
    const result = await this.#session(options, (s) => s.query('DELETE FROM merchant_rules WHERE match = $1', [match]));
    return (result.rowCount ?? 0) > 0;
  }

  async seedMerchantRules(rules: readonly MerchantRule[], options?: StoreCallOptions): Promise<boolean> {
    return this.#transaction(options, async (s) => {
      // A concurrent seeder's uncommitted marker makes this insert wait, then skip: exactly one seeds.
      const marked = await s.query(
        `INSERT INTO store_meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING`,
        [MERCHANT_RULES_SEEDED, new Date().toISOString()],
      );
      if (marked.rowCount === 0) return false;
      for (const rule of rules) await putRule(s, rule);
      return true;
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#pool.end();
  }

  /** Runs `work` in BEGIN … COMMIT; any failure rolls back (or drops the connection, which rolls back too). */
  #transaction<T>(options: StoreCallOptions | undefined, work: (s: Session) => Promise<T>): Promise<T> {
    return this.#session(options, async (s) => {
      await s.query('BEGIN');
      let result: T;
      try {
        result = await work(s);
      } catch (error) {
        await s.query('ROLLBACK').catch(() => s.markBroken());
        throw error;
      }
      s.shield();
      await s.query('COMMIT');
      return result;
    });
  }

  /**
   * Lends `work` one pooled connection. An abort rejects at once with {@link StoreUnavailableError} and destroys the
   * connection (the server then rolls back whatever it had open, unless its COMMIT was already sent). A connection whose work failed is destroyed rather
   * than returned, so that no pooled connection is ever left inside a transaction.
   */
  async #session<T>(options: StoreCallOptions | undefined, work: (s: Session) => Promise<T>): Promise<T> {
    const signal = options?.signal;
    throwIfAborted(signal);
    if (this.#closed) throw new StoreUnavailableError('postgres store is closed');

    let client: pg.PoolClient;
    try {
      client = await untilAborted(this.#pool.connect(), signal, (late) => late.release());
    } catch (error) {
      throw this.#unavailable(error, 'cannot get a postgres connection');
    }

    let shielded = false;
    let broken = false;
    let released = false;
    const release = (error?: Error) => {
      if (released) return;
      released = true;
      client.release(error);
    };
    const session: Session = {
      query: (text, values) =>
        typeof text === 'string' ? client.query<Row>(text, values) : client.query<Row>(text),
      shield: () => {
        shielded = true;
      },
      markBroken: () => {
        broken = true;
      },
    };
    let onAbort = (): void => {};
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => {
        // The statement may still be running (a lock wait): ask the server to cancel it, then drop the connection.
        if (shielded) cancelBackend(client);
        release(new Error('store call aborted'));
        reject(
          shielded
            ? new StoreUnavailableError('postgres commit outcome unknown: the call was abandoned after the commit was sent', {
                cause: signal?.reason,
                outcomeUnknown: true,
              })
            : new StoreUnavailableError('store call aborted', { cause: signal?.reason }),
        );
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    });
    try {
      const result = await Promise.race([work(session), aborted]);
      release();
      return result;
    } catch (error) {
      // Our own refusals come after a clean ROLLBACK; anything else may have left the connection in any state.
      const clean = !broken && isOwnRefusal(error);
      release(clean ? undefined : error instanceof Error ? error : new Error(String(error)));
      // A server's error answer means the statement failed; a lost connection after the commit was sent means anything.
      const unknown = shielded && !(error instanceof pg.DatabaseError);
      throw this.#unavailable(
        error,
        unknown
          ? 'postgres commit outcome unknown: the connection failed after the commit was sent'
          : 'postgres store call failed',
        unknown,
      );
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  #unavailable(error: unknown, message: string, outcomeUnknown = false): unknown {
    if (isOwnRefusal(error) || error instanceof CatracaError) return error;
    this.#logger.warn({ err: error }, message);
    return new StoreUnavailableError(message, { cause: error, outcomeUnknown });
  }
}

/** An error this module raised on purpose (not a driver or server failure). */
function isOwnRefusal(error: unknown): boolean {
  return (
    error instanceof AccountExistsError ||
    error instanceof InvalidDocumentError ||
    error instanceof RangeError
  );
}

/** Opens a {@link PostgresStore} and runs its migrations. */
export async function openPostgresStore(options: PostgresStoreOptions): Promise<PostgresStore> {
  return initialized(new PostgresStore(options));
}

/** Resolves like `promise` unless `signal` fires first; a value that arrives too late is handed to `discard`. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined, discard: (late: T) => void): Promise<T> {
  if (signal === undefined) return promise;
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const onAbort = () => {
      settled = true;
      reject(new StoreUnavailableError('store call aborted', { cause: signal.reason }));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        if (settled) discard(value);
        else resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        if (!settled) reject(error);
      },
    );
  });
}

/** PostgreSQL's CancelRequest code (protocol 3.0). */
const CANCEL_REQUEST_CODE = 80_877_102;

/**
 * Best effort, fire and forget: sends a CancelRequest for whatever statement `client`'s backend is running, so that a
 * statement abandoned while it waits (on a row lock, say) fails instead of committing later. A statement that
 * finished already is not affected: the caller still reports the outcome as unknown.
 */
function cancelBackend(client: pg.PoolClient): void {
  // The backend's key, which the driver keeps from the BackendKeyData message (it has no typed accessor).
  const { processID, secretKey } = client as unknown as { processID?: unknown; secretKey?: unknown };
  if (typeof processID !== 'number' || typeof secretKey !== 'number') return;
  const message = Buffer.alloc(16);
  message.writeInt32BE(16, 0);
  message.writeInt32BE(CANCEL_REQUEST_CODE, 4);
  message.writeInt32BE(processID, 8);
  message.writeInt32BE(secretKey, 12);
  const { host, port } = client;
  const socket = host.startsWith('/') ? net.connect({ path: `${host}/.s.PGSQL.${port}` }) : net.connect({ host, port });
  socket.setTimeout(CANCEL_TIMEOUT_MS, () => socket.destroy());
  socket.on('error', () => socket.destroy());
  socket.on('connect', () => socket.end(message));
}

/** A cancel that cannot reach the server within this long is given up. */
const CANCEL_TIMEOUT_MS = 2_000;

function positiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new ConfigError(`postgres ${name} must be a positive integer, got ${value}`);
  }
  return value;
}


async function putRule(s: Session, rule: MerchantRule): Promise<void> {
  await s.query(
    `INSERT INTO merchant_rules (match, category) VALUES ($1, $2)
     ON CONFLICT (match) DO UPDATE SET category = excluded.category`,
    [rule.match, rule.category],
  );
}

/** The stored records among `ids`, in the order of `ids`. */
async function selectRecords(s: Session, ids: readonly string[]): Promise<TransactionRecord[]> {
  const { rows } = await s.query('SELECT * FROM transactions WHERE id = ANY($1::text[])', [ids]);
  const byId = new Map(rows.map((row) => [row['id'], row]));
  return ids.flatMap((id) => {
    const row = byId.get(id);
    return row === undefined ? [] : [recordFromRow(row)];
  });
}

/** One multi-row INSERT, in the given order (which `seq` keeps for `listLedger`). */
async function insertLedger(s: Session, entries: readonly LedgerEntry[]): Promise<void> {
  if (entries.length === 0) return;
  const column = <K extends keyof LedgerEntry>(key: K) => entries.map((entry) => entry[key]);
  await s.query(
    `INSERT INTO ledger (account_id, transaction_id, kind, category, delta, balance_after, version, created_at)
     SELECT account_id, transaction_id, kind, category, delta, balance_after, version, created_at
     FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::bigint[], $7::bigint[],
       $8::timestamptz[]) WITH ORDINALITY
       AS e (account_id, transaction_id, kind, category, delta, balance_after, version, created_at, ord)
     ORDER BY ord`,
    [
      column('accountId'),
      column('transactionId'),
      column('kind'),
      column('category'),
      column('delta'),
      column('balanceAfter'),
      column('version'),
      column('createdAt'),
    ],
  );
}
