import { MongoClient, MongoError, MongoErrorLabel, MongoServerError } from 'mongodb';
import type { Abortable, ClientSession, Collection, Db, Document, FindOptions, TransactionOptions } from 'mongodb';
import type { Account, Balances, LedgerEntry, MerchantRule, TransactionRecord } from '../../domain/types.js';
import { AccountExistsError, ConfigError, InvalidDocumentError, StoreUnavailableError } from '../../errors.js';
import { throwIfAborted } from '../abort.js';
import { checkCommitRequest, conservationError, ledgerDeltas, openingEntries } from '../commit-request.js';
import { parseAccount, parseLedgerEntry, parseMerchantRule, parseRecord, toSafeInteger } from '../documents.js';
import { silentStoreLogger } from '../logger.js';
import { checkPage } from '../page.js';
import type { StoreLogger } from '../logger.js';
import type { CommitOutcome, CommitRequest, Store, StoreCallOptions, TransactionPage } from '../port.js';
import { initialized } from '../open-store.js';
import { COLLECTION_INDEXES, COLLECTION_VALIDATORS } from './schema.js';

export interface MongoStoreOptions {
  /** A replica-set URI (transactions need one), e.g. `mongodb://h1,h2,h3/?replicaSet=rs0`. */
  uri: string;
  /** Default: the URI's database, else `catraca`. */
  databaseName?: string;
  /** How long an operation waits to find a usable primary. Default 2000. */
  serverSelectionTimeoutMs?: number;
  /** Limit on a transaction's commit. Default 5000. */
  maxCommitTimeMs?: number;
  /** Default: silent. */
  logger?: StoreLogger;
}

export const MONGO_STORE_DEFAULTS = Object.freeze({
  serverSelectionTimeoutMs: 2_000,
  maxCommitTimeMs: 5_000,
});

const DUPLICATE_KEY = 11_000;
const NAMESPACE_EXISTS = 48;
/** Runs of a transaction that keeps meeting transient errors (write conflicts) before the call gives up. */
const TRANSACTION_ATTEMPTS = 10;
/** The `meta` document written once, with the merchant rules, by the first `seedMerchantRules`. */
const MERCHANT_RULES_SEEDED = 'merchant_rules_seeded';

interface AccountDoc {
  _id: string;
  balances: Balances;
  version: number;
  createdAt: string;
}
type RecordDoc = Omit<TransactionRecord, 'id'> & { _id: string };
/** `index` orders the entries of one commit (a chain; opening entries: FOOD, MEAL, CASH). */
type LedgerDoc = LedgerEntry & { index: number };
interface RuleDoc {
  _id: string;
  category: string;
}
interface MetaDoc {
  _id: string;
  at: string;
}

/** The records insert lost a race on an id after the duplicate check: the chain is a duplicate after all. */
class LateDuplicate extends Error {}
/** The seeded marker exists already: the seeding transaction is abandoned. */
class AlreadySeeded extends Error {}

/**
 * A MongoDB store (replica set). Each commit (a chain of records on one account) is one multi-document transaction
 * with majority read and write concerns: a duplicate-id check on every record id, a compare-and-set
 * `updateOne({ _id, version })`, then one `insertMany` each for the records and the ledger entries. A transient
 * error (a write conflict with a concurrent commit) runs the transaction again; the retry then sees the new version
 * and answers `version_conflict`. The signal is checked between the steps; once commitTransaction is sent it bounds
 * the wait for the outcome, and a commit whose outcome is not known by then rejects with StoreUnavailableError.
 */
export class MongoStore implements Store {
  readonly kind = 'mongodb' as const;
  readonly #client: MongoClient;
  readonly #db: Db;
  readonly #logger: StoreLogger;
  readonly #transaction: TransactionOptions;
  #closed = false;

  constructor(options: MongoStoreOptions) {
    if (typeof options.uri !== 'string' || options.uri === '') throw new ConfigError('mongodb uri must not be empty');
    const d = MONGO_STORE_DEFAULTS;
    const serverSelectionTimeoutMs = options.serverSelectionTimeoutMs ?? d.serverSelectionTimeoutMs;
    const maxCommitTimeMs = options.maxCommitTimeMs ?? d.maxCommitTimeMs;
    for (const [name, value] of Object.entries({ serverSelectionTimeoutMs, maxCommitTimeMs })) {
      if (!Number.isSafeInteger(value) || value <= 0) {
        throw new ConfigError(`mongodb ${name} must be a positive integer, got ${value}`);
      }
    }
    this.#logger = options.logger ?? silentStoreLogger;
    this.#client = new MongoClient(options.uri, {
      serverSelectionTimeoutMS: serverSelectionTimeoutMs,
      readConcern: { level: 'majority' },
      writeConcern: { w: 'majority' },
      readPreference: 'primary',
    });
    this.#db = this.#client.db(options.databaseName ?? (databaseFromUri(options.uri) || 'catraca'));
    this.#transaction = {
      readConcern: { level: 'majority' },
      writeConcern: { w: 'majority' },
      readPreference: 'primary',
      maxCommitTimeMS: maxCommitTimeMs,
    };
  }

  get #accounts(): Collection<AccountDoc> {
    return this.#db.collection<AccountDoc>('accounts');
  }
  get #records(): Collection<RecordDoc> {
    return this.#db.collection<RecordDoc>('transactions');
  }
  get #ledger(): Collection<LedgerDoc> {
    return this.#db.collection<LedgerDoc>('ledger');
  }
  get #rules(): Collection<RuleDoc> {
    return this.#db.collection<RuleDoc>('merchantRules');
  }
  get #meta(): Collection<MetaDoc> {
    return this.#db.collection<MetaDoc>('meta');
  }

  async init(options?: StoreCallOptions): Promise<void> {
    await this.#call(options, async (signal) => {
      // Collections are created up front: a transaction cannot rely on implicit creation racing with another one.
      for (const [name, validator] of Object.entries(COLLECTION_VALIDATORS)) {
        try {
          await this.#db.createCollection(name, { validator, validationLevel: 'strict', validationAction: 'error' });
        } catch (error) {
          if (!(error instanceof MongoServerError && error.code === NAMESPACE_EXISTS)) throw error;
        }
        throwIfAborted(signal);
      }
      for (const [name, indexes] of Object.entries(COLLECTION_INDEXES)) {
        await this.#db.collection(name).createIndexes(indexes);
      }
      // A database that has rules but no marker was seeded before the marker existed: it must not be seeded again.
      if ((await this.#rules.countDocuments({}, { limit: 1 })) > 0) {
        try {
          await this.#meta.insertOne({ _id: MERCHANT_RULES_SEEDED, at: new Date().toISOString() });
        } catch (error) {
          if (!(error instanceof MongoServerError && error.code === DUPLICATE_KEY)) throw error;
        }
      }
    });
  }

  async ping(options?: StoreCallOptions): Promise<void> {
    await this.#call(options, (signal) => this.#db.command({ ping: 1 }, signalOption(signal)));
  }

  async createAccount(id: string, balances: Balances, options?: StoreCallOptions): Promise<Account> {
    const createdAt = new Date().toISOString();
    await this.#inTransaction(options, async (session, signal) => {
      try {
        await this.#accounts.insertOne({ _id: id, balances: { ...balances }, version: 0, createdAt }, { session });
      } catch (error) {
        if (error instanceof MongoServerError && error.code === DUPLICATE_KEY) throw new AccountExistsError(id);
        throw error;
      }
      const opening = openingEntries(id, balances, createdAt).map((entry, index) => ({ ...entry, index }));
      throwIfAborted(signal);
      if (opening.length > 0) await this.#ledger.insertMany(opening, { session });
    });
    return { id, balances: { ...balances }, version: 0, createdAt };
  }

  async getAccount(id: string, options?: StoreCallOptions): Promise<Account | undefined> {
    const doc = await this.#call(options, (signal) => this.#accounts.findOne({ _id: id }, signalOption(signal)));
    return doc === null ? undefined : accountFromDoc(doc);
  }

  async getTransaction(id: string, options?: StoreCallOptions): Promise<TransactionRecord | undefined> {
    const doc = await this.#call(options, (signal) => this.#records.findOne({ _id: id }, signalOption(signal)));
    return doc === null ? undefined : recordFromDoc(doc);
  }

  async commit(request: CommitRequest, options?: StoreCallOptions): Promise<CommitOutcome> {
    checkCommitRequest(request);
    const { accountId, expectedVersion, balances, ledger, records } = request;
    const ids = records.map((record) => record.id);
    const deltas = ledgerDeltas(ledger);
    try {
      return await this.#inTransaction(options, async (session, signal): Promise<CommitOutcome> => {
        const existing = await this.#findRecords(ids, { session });
        if (existing.length > 0) return { status: 'duplicate_id', existing };
        throwIfAborted(signal);
        // The compare-and-set fence; $expr refuses new balances that the ledger deltas do not explain.
        const updated = await this.#accounts.updateOne(
          {
            _id: accountId,
            version: expectedVersion,
            $expr: {
              $and: (['FOOD', 'MEAL', 'CASH'] as const).map((c) => ({
                $eq: [{ $add: [`$balances.${c}`, deltas[c]] }, balances[c]],
              })),
            },
          },
          { $set: { balances: { ...balances } }, $inc: { version: records.length } },
          { session },
        );
        if (updated.matchedCount === 0) {
          const current = await this.#accounts.findOne({ _id: accountId }, { session, projection: { version: 1 } });
          if (current === null) return { status: 'unknown_account' };
          if (toSafeInteger(current.version) !== expectedVersion) return { status: 'version_conflict' };
          throw conservationError(accountId);
        }
        throwIfAborted(signal);
        try {
          await this.#records.insertMany(
            records.map(({ id, ...fields }) => ({ _id: id, ...fields })),
            { session },
          );
        } catch (error) {
          if (error instanceof MongoServerError && error.code === DUPLICATE_KEY) throw new LateDuplicate();
          throw error;
        }
        if (ledger.length > 0) {
          // `index` is the entry's place in the chain: unique per (account, version) and in order.
          await this.#ledger.insertMany(
            ledger.map((entry, index) => ({ ...entry, index })),
            { session },
          );
        }
        throwIfAborted(signal);
        return { status: 'committed' };
      });
    } catch (error) {
      if (!(error instanceof LateDuplicate)) throw error;
      const existing = await this.#call(options, (signal) => this.#findRecords(ids, signalOption(signal)));
      if (existing.length === 0) throw new StoreUnavailableError('duplicate transaction id vanished');
      return { status: 'duplicate_id', existing };
    }
  }

  /** The stored records among `ids`, in the order of `ids`. */
  async #findRecords(ids: readonly string[], options: FindOptions & Abortable): Promise<TransactionRecord[]> {
    const docs = await this.#records.find({ _id: { $in: [...ids] } }, options).toArray();
    const byId = new Map(docs.map((doc) => [doc._id, doc]));
    return ids.flatMap((id) => {
      const doc = byId.get(id);
      return doc === undefined ? [] : [recordFromDoc(doc)];
    });
  }

  async listTransactions(
    accountId: string,
    page: { limit: number; before?: number },
    options?: StoreCallOptions,
  ): Promise<TransactionPage> {
    checkPage(page);
    const filter = page.before === undefined ? { accountId } : { accountId, version: { $lt: page.before } };
    const docs = await this.#call(options, (signal) =>
      this.#records
        .find(filter, signalOption(signal))
        .sort({ version: -1 })
        .limit(page.limit + 1)
        .toArray(),
    );
    const items = docs.slice(0, page.limit).map(recordFromDoc);
    const last = items.at(-1);
    return docs.length > page.limit && last !== undefined ? { items, nextBefore: last.version } : { items };
  }

  async listLedger(accountId: string, options?: StoreCallOptions): Promise<LedgerEntry[]> {
    const docs = await this.#call(options, (signal) =>
      this.#ledger.find({ accountId }, signalOption(signal)).sort({ version: 1, index: 1 }).toArray(),
    );
    return docs.map(ledgerFromDoc);
  }

  async listMerchantRules(options?: StoreCallOptions): Promise<MerchantRule[]> {
    const docs = await this.#call(options, (signal) =>
      this.#rules.find({}, signalOption(signal)).sort({ _id: 1 }).toArray(),
    );
    return docs.map((doc) => parseMerchantRule({ match: doc._id, category: doc.category }));
  }

  async putMerchantRule(rule: MerchantRule, options?: StoreCallOptions): Promise<void> {
    await this.#call(options, () =>
      this.#rules.replaceOne({ _id: rule.match }, { category: rule.category }, { upsert: true }),
    );
  }

  async deleteMerchantRule(match: string, options?: StoreCallOptions): Promise<boolean> {
    const result = await this.#call(options, () => this.#rules.deleteOne({ _id: match }));
    return result.deletedCount > 0;
  }

  async seedMerchantRules(rules: readonly MerchantRule[], options?: StoreCallOptions): Promise<boolean> {
    try {
      await this.#inTransaction(options, async (session) => {
        try {
          // A concurrent seeder's marker is a write conflict (retried), then a duplicate key: exactly one seeds.
          await this.#meta.insertOne({ _id: MERCHANT_RULES_SEEDED, at: new Date().toISOString() }, { session });
        } catch (error) {
          if (error instanceof MongoServerError && error.code === DUPLICATE_KEY) throw new AlreadySeeded();
          throw error;
        }
        for (const rule of rules) {
          await this.#rules.replaceOne({ _id: rule.match }, { category: rule.category }, { upsert: true, session });
        }
      });
      return true;
    } catch (error) {
      if (error instanceof AlreadySeeded) return false;
      throw error;
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#client.close();
  }

  /**
   * Runs `work` in one transaction; a thrown error aborts it. A transient error (a write conflict with a concurrent
   * transaction) runs it again, at most {@link TRANSACTION_ATTEMPTS} times and never once the signal fired. (Not
   * `session.withTransaction()`: it retries for up to 120 s, and driver 7 has no working `timeoutMS` to bound it.)
   * Once commitTransaction is sent, the signal no longer abandons the transaction but bounds the wait for its outcome:
   * when it fires first, the call rejects with {@link StoreUnavailableError} — the outcome is unknown, and a retry with
   * the same ids finds out.
   */
  #inTransaction<T>(
    options: StoreCallOptions | undefined,
    work: (session: ClientSession, signal: AbortSignal | undefined) => Promise<T>,
  ): Promise<T> {
    return this.#call(options, async (signal) => {
      const session = this.#client.startSession();
      let inFlight: Promise<void> | undefined;
      try {
        for (let attempt = 1; ; attempt += 1) {
          session.startTransaction(this.#transaction);
          let result: T;
          try {
            result = await work(session, signal);
          } catch (error) {
            await session.abortTransaction().catch(() => {});
            if (attempt < TRANSACTION_ATTEMPTS && hasLabel(error, MongoErrorLabel.TransientTransactionError)) {
              throwIfAborted(signal);
              continue;
            }
            throw error;
          }
          if (signal?.aborted === true) {
            // Abandoned before the commit was sent: nothing is written.
            await session.abortTransaction().catch(() => {});
            throwIfAborted(signal);
          }
          inFlight = commitWithOneRetry(session);
          try {
            await outcomeWithin(inFlight, signal);
          } catch (error) {
            // The server refused the commit as a whole (e.g. a write conflict): nothing was written, run it again.
            if (attempt < TRANSACTION_ATTEMPTS && hasLabel(error, MongoErrorLabel.TransientTransactionError)) {
              inFlight = undefined;
              throwIfAborted(signal);
              continue;
            }
            throw error;
          }
          inFlight = undefined;
          return result;
        }
      } finally {
        const pending = inFlight;
        // An abandoned commit still owns the session: end it only once the commit has settled.
        if (pending === undefined) await session.endSession();
        else void pending.catch(() => {}).then(() => session.endSession()).catch(() => {});
      }
    });
  }

  /** Maps driver failures to {@link StoreUnavailableError}; the domain's own refusals pass through. */
  async #call<T>(options: StoreCallOptions | undefined, work: (signal: AbortSignal | undefined) => Promise<T>): Promise<T> {
    const signal = options?.signal;
    throwIfAborted(signal);
    if (this.#closed) throw new StoreUnavailableError('mongodb store is closed');
    try {
      return await work(signal);
    } catch (error) {
      if (
        error instanceof AccountExistsError ||
        error instanceof InvalidDocumentError ||
        error instanceof StoreUnavailableError ||
        error instanceof RangeError ||
        error instanceof LateDuplicate ||
        error instanceof AlreadySeeded
      ) {
        throw error;
      }
      this.#logger.warn({ err: error }, 'mongodb store call failed');
      // A commit whose result the server could not confirm (even after the retry) may have been applied.
      const outcomeUnknown = hasLabel(error, MongoErrorLabel.UnknownTransactionCommitResult);
      throw new StoreUnavailableError('mongodb store call failed', { cause: error, outcomeUnknown });
    }
  }
}

/** Connects a {@link MongoStore} and creates its collections and indexes. */
export async function openMongoStore(options: MongoStoreOptions): Promise<MongoStore> {
  return initialized(new MongoStore(options));
}

function hasLabel(error: unknown, label: MongoErrorLabel): boolean {
  return error instanceof MongoError && error.hasErrorLabel(label);
}

/** commitTransaction, sent once more when its result is unknown (the driver's own retry, made explicit and bounded). */
async function commitWithOneRetry(session: ClientSession): Promise<void> {
  try {
    await session.commitTransaction();
  } catch (error) {
    if (!hasLabel(error, MongoErrorLabel.UnknownTransactionCommitResult)) throw error;
    await session.commitTransaction();
  }
}

/** Settles like `commit` unless `signal` fires first: then the commit's outcome is unknown. */
function outcomeWithin(commit: Promise<void>, signal: AbortSignal | undefined): Promise<void> {
  if (signal === undefined) return commit;
  return new Promise<void>((resolve, reject) => {
    const onAbort = () =>
      reject(
        new StoreUnavailableError('mongodb commit outcome unknown: the call was abandoned while committing', {
          cause: signal.reason,
          outcomeUnknown: true,
        }),
      );
    if (signal.aborted) onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    commit.then(
      () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

function signalOption(signal: AbortSignal | undefined): { signal?: AbortSignal } {
  return signal === undefined ? {} : { signal };
}

function databaseFromUri(uri: string): string {
  const match = /^mongodb(?:\+srv)?:\/\/[^/]+\/([^?]*)/.exec(uri);
  return decodeURIComponent(match?.[1] ?? '');
}

function accountFromDoc(doc: Document): Account {
  const balances = (doc['balances'] ?? {}) as Record<string, unknown>;
  return parseAccount({
    id: doc['_id'],
    balances: {
      FOOD: toSafeInteger(balances['FOOD']),
      MEAL: toSafeInteger(balances['MEAL']),
      CASH: toSafeInteger(balances['CASH']),
    },
    version: toSafeInteger(doc['version']),
    createdAt: doc['createdAt'],
  });
}

function recordFromDoc(doc: Document): TransactionRecord {
  const { _id, ...fields } = doc;
  return parseRecord({
    ...fields,
    id: _id,
    amount: toSafeInteger(fields['amount']),
    version: toSafeInteger(fields['version']),
  });
}

function ledgerFromDoc(doc: Document): LedgerEntry {
  return parseLedgerEntry({
    accountId: doc['accountId'],
    transactionId: doc['transactionId'],
    kind: doc['kind'],
    category: doc['category'],
    delta: toSafeInteger(doc['delta']),
    balanceAfter: toSafeInteger(doc['balanceAfter']),
    version: toSafeInteger(doc['version']),
    createdAt: doc['createdAt'],
  });
}
