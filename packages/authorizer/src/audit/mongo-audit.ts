import { MongoClient, type Collection } from 'mongodb';
import { CatracaError, StoreUnavailableError } from '../errors.js';
import { throwIfAborted } from '../store/abort.js';
import { checkPage } from '../store/page.js';
import type { StoreCallOptions } from '../store/port.js';
import { pageOf, type AuditEntry, type AuditLog, type AuditPage, type NewAuditEntry } from './port.js';
import { entryFromRow } from './rows.js';

interface AuditDocument {
  _id: number;
  at: Date;
  actor: string;
  request_id: string;
  action: string;
  target: string;
  before: unknown;
  after: unknown;
}

/**
 * The audit trail in MongoDB, on a client of its own: collection `audit_log`, `_id` the sequence number, taken from a
 * counter document (`audit_counters`) with one atomic `$inc` per entry.
 */
export class MongoAuditLog implements AuditLog {
  readonly #client: MongoClient;
  readonly #log: Collection<AuditDocument>;
  readonly #counters: Collection<{ _id: string; seq: number }>;

  constructor(options: { uri: string; databaseName: string; serverSelectionTimeoutMs?: number }) {
    this.#client = new MongoClient(options.uri, {
      serverSelectionTimeoutMS: options.serverSelectionTimeoutMs ?? 5_000,
      maxPoolSize: 2,
      appName: 'catraca-audit',
    });
    const db = this.#client.db(options.databaseName);
    this.#log = db.collection('audit_log');
    this.#counters = db.collection('audit_counters');
  }

  async init(options?: StoreCallOptions): Promise<void> {
    await this.#run(options, async () => {
      await this.#client.connect();
    });
  }

  async append(entry: NewAuditEntry, options?: StoreCallOptions): Promise<AuditEntry> {
    return this.#run(options, async () => {
      const counter = await this.#counters.findOneAndUpdate(
        { _id: 'audit' },
        { $inc: { seq: 1 } },
        { upsert: true, returnDocument: 'after' },
      );
      const seq = counter?.seq;
      if (seq === undefined) throw new StoreUnavailableError('mongodb audit counter missing');
      await this.#log.insertOne({
        _id: seq,
        at: new Date(entry.at),
        actor: entry.actor,
        request_id: entry.requestId,
        action: entry.action,
        target: entry.target,
        before: entry.before ?? null,
        after: entry.after ?? null,
      });
      return { ...entry, seq };
    });
  }

  async list(page: { limit: number; before?: number }, options?: StoreCallOptions): Promise<AuditPage> {
    checkPage(page);
    return this.#run(options, async () => {
      const documents = await this.#log
        .find({ _id: { $lt: page.before ?? Number.MAX_SAFE_INTEGER } })
        .sort({ _id: -1 })
        .limit(page.limit + 1)
        .toArray();
      return pageOf(documents.map((d) => entryFromRow({ ...d, seq: d._id })), page.limit);
    });
  }

  async close(): Promise<void> {
    await this.#client.close();
  }

  async #run<T>(options: StoreCallOptions | undefined, work: () => Promise<T>): Promise<T> {
    throwIfAborted(options?.signal);
    try {
      return await work();
    } catch (error) {
      if (error instanceof CatracaError || error instanceof RangeError) throw error;
      throw new StoreUnavailableError('mongodb audit call failed', { cause: error });
    }
  }
}
