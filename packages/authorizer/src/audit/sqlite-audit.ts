import type BetterSqlite3 from 'better-sqlite3';
import { StoreUnavailableError } from '../errors.js';
import { throwIfAborted } from '../store/abort.js';
import { checkPage } from '../store/page.js';
import type { StoreCallOptions } from '../store/port.js';
import { Database } from '../store/sqlite/sqlite-store.js';
import { pageOf, type AuditEntry, type AuditLog, type AuditPage, type NewAuditEntry } from './port.js';
import { entryFromRow, type AuditRow } from './rows.js';

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS audit_log (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    request_id TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    before TEXT,
    after TEXT
  ) STRICT;
`;

/** The audit trail in the embedded SQLite file, on a connection of its own (WAL lets it write beside the store). */
export class SqliteAuditLog implements AuditLog {
  readonly #db: BetterSqlite3.Database;

  constructor(options: { path: string; busyTimeoutMs?: number }) {
    this.#db = new Database(options.path);
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma(`busy_timeout = ${String(options.busyTimeoutMs ?? 2_000)}`);
  }

  async init(options?: StoreCallOptions): Promise<void> {
    this.#run(options, () => this.#db.exec(SCHEMA));
  }

  async append(entry: NewAuditEntry, options?: StoreCallOptions): Promise<AuditEntry> {
    return this.#run(options, () => {
      const result = this.#db
        .prepare('INSERT INTO audit_log (at, actor, request_id, action, target, before, after) VALUES (?, ?, ?, ?, ?, ?, ?)')
        .run(entry.at, entry.actor, entry.requestId, entry.action, entry.target, json(entry.before), json(entry.after));
      return { ...entry, seq: Number(result.lastInsertRowid) };
    });
  }

  async list(page: { limit: number; before?: number }, options?: StoreCallOptions): Promise<AuditPage> {
    checkPage(page);
    return this.#run(options, () => {
      const rows = this.#db
        .prepare('SELECT * FROM audit_log WHERE seq < ? ORDER BY seq DESC LIMIT ?')
        .all(page.before ?? Number.MAX_SAFE_INTEGER, page.limit + 1) as AuditRow[];
      return pageOf(rows.map(entryFromRow), page.limit);
    });
  }

  async close(): Promise<void> {
    if (this.#db.open) this.#db.close();
  }

  #run<T>(options: StoreCallOptions | undefined, work: () => T): T {
    throwIfAborted(options?.signal);
    try {
      return work();
    } catch (error) {
      if (error instanceof RangeError) throw error;
      throw new StoreUnavailableError('sqlite audit call failed', { cause: error });
    }
  }
}

function json(value: unknown): string | null {
  return value === null || value === undefined ? null : JSON.stringify(value);
}
