import pg from 'pg';
import { CatracaError, StoreUnavailableError } from '../errors.js';
import { throwIfAborted } from '../store/abort.js';
import { checkPage } from '../store/page.js';
import type { StoreCallOptions } from '../store/port.js';
import { pageOf, type AuditEntry, type AuditLog, type AuditPage, type NewAuditEntry } from './port.js';
import { entryFromRow, type AuditRow } from './rows.js';

/** Advisory lock taken while creating the table, so that replicas starting together do not race on it. */
const SCHEMA_LOCK_KEY = 0x6361_7564; // "caud"

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS audit_log (
    seq BIGSERIAL PRIMARY KEY,
    at TIMESTAMPTZ NOT NULL,
    actor TEXT NOT NULL,
    request_id TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    before JSONB,
    after JSONB
  )
`;

/** The audit trail in PostgreSQL, on a small pool of its own. */
export class PostgresAuditLog implements AuditLog {
  readonly #pool: pg.Pool;

  constructor(options: { connectionString: string; maxConnections?: number; statementTimeoutMs?: number }) {
    this.#pool = new pg.Pool({
      connectionString: options.connectionString,
      max: options.maxConnections ?? 2,
      application_name: 'catraca-audit',
      statement_timeout: options.statementTimeoutMs ?? 5_000,
      connectionTimeoutMillis: 5_000,
    });
    this.#pool.on('error', () => {}); // an idle client's error: the next call reports it
  }

  async init(options?: StoreCallOptions): Promise<void> {
    await this.#run(options, async () => {
      const client = await this.#pool.connect();
      try {
        await client.query('BEGIN');
        await client.query('SELECT pg_advisory_xact_lock($1)', [SCHEMA_LOCK_KEY]);
        await client.query(SCHEMA);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        throw error;
      } finally {
        client.release();
      }
    });
  }

  async append(entry: NewAuditEntry, options?: StoreCallOptions): Promise<AuditEntry> {
    return this.#run(options, async () => {
      const { rows } = await this.#pool.query<{ seq: string }>(
        'INSERT INTO audit_log (at, actor, request_id, action, target, before, after) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING seq',
        [entry.at, entry.actor, entry.requestId, entry.action, entry.target, json(entry.before), json(entry.after)],
      );
      return { ...entry, seq: Number(rows[0]!.seq) };
    });
  }

  async list(page: { limit: number; before?: number }, options?: StoreCallOptions): Promise<AuditPage> {
    checkPage(page);
    return this.#run(options, async () => {
      const { rows } = await this.#pool.query<AuditRow>(
        'SELECT * FROM audit_log WHERE seq < $1 ORDER BY seq DESC LIMIT $2',
        [page.before ?? Number.MAX_SAFE_INTEGER, page.limit + 1],
      );
      return pageOf(rows.map(entryFromRow), page.limit);
    });
  }

  async close(): Promise<void> {
    await this.#pool.end();
  }

  async #run<T>(options: StoreCallOptions | undefined, work: () => Promise<T>): Promise<T> {
    throwIfAborted(options?.signal);
    try {
      return await work();
    } catch (error) {
      if (error instanceof CatracaError || error instanceof RangeError) throw error;
      throw new StoreUnavailableError('postgres audit call failed', { cause: error });
    }
  }
}

function json(value: unknown): string | null {
  return value === null || value === undefined ? null : JSON.stringify(value);
}
