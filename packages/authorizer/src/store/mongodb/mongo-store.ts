import { Long, MongoClient, MongoServerError } from 'mongodb';
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
import { bounded, withTimeout } from './bounded.js';
import { checkTransactionsSupported } from './replica-set.js';
import { COLLECTION_INDEXES, COLLECTION_VALIDATORS } from './schema.js';
import { runTransaction, type Step, type TransactionPolicy } from './transaction.js';

export interface MongoStoreOptions {
  /** A replica-set URI (transactions need one), e.g. `mongodb://h1,h2,h3/?replicaSet=rs0`. */
  uri: string;
  /** Default: the URI's database, else `catraca`. */
  databaseName?: string;
  /** How long an operation waits to find a usable primary; also the connect timeout. Default 2000. */
  serverSelectionTimeoutMs?: number;
  /**
   * Bound on every call that is not a transaction (reads, rule edits, each step of `init`): the caller stops waiting
   * then (client side) and the server stops reads then (`maxTimeMS`). Default 2000.
   */
  operationTimeoutMs?: number;
  /**
   * Bound on a whole transaction (commit, account creation, seeding), retries included; also its `maxCommitTimeMS`.
   * The service passes `STORE_COMMIT_TIMEOUT_MS`. Default 2000.
   */
  commitTimeoutMs?: number;
  /** Runs of a transaction that keeps meeting transient errors (write conflicts). Default 5. */
  transactionAttempts?: number;
  /** First backoff ceiling before a transaction runs again (full jitter, doubling, capped at 100 ms). Default 5. */
  transactionBackoffMs?: number;
  /**
   * `init` refuses a server that is not a replica-set member or a mongos (no transactions). Default true. Turn off
   * only for wire-compatible test servers (see test-support/mongo-java-server.ts), never in production.
   */
  requireReplicaSet?: boolean;
  /** Default: silent. */
  logger?: StoreLogger;
}

export const MONGO_STORE_DEFAULTS = Object.freeze({
  serverSelectionTimeoutMs: 2_000,
  operationTimeoutMs: 2_000,
  commitTimeoutMs: 2_000,
  transactionAttempts: 5,
  transactionBackoffMs: 5,
  requireReplicaSet: true,
});

/** Ceiling of one backoff wait between transaction runs. */
const BACKOFF_CAP_MS = 100;

const DUPLICATE_KEY = 11_000;
const NAMESPACE_EXISTS = 48;
/** The `meta` document written once, with the merchant rules, by the first `seedMerchantRules`. */
const MERCHANT_RULES_SEEDED = 'merchant_rules_seeded';

interface AccountDoc {
  _id: string;
  balances: Balances;
  version: number;
  createdAt: string;
  /** Epoch of the last owner that committed (cluster ownership fencing); absent = none yet. */
  ownerEpoch?: Long;
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
 * error (a write conflict with a concurrent commit) runs the transaction again after a short jittered backoff; the
 * retry then sees the new version and answers `version_conflict`.
 *
 * Every call is bounded: a transaction by `commitTimeoutMs` (and the caller's signal), anything else by
 * `operationTimeoutMs`, whatever the network does (see `bounded.ts`, `transaction.ts`). A commit whose answer is lost
 * rejects with StoreUnavailableError, `outcomeUnknown: true`. `init` refuses a standalone server and keeps the
 * collections' validators current (`collMod`).
 */
export class MongoStore implements Store {
  readonly kind = 'mongodb' as const;
  readonly #client: MongoClient;
  readonly #db: Db;
  readonly #admin: Db;
  readonly #logger: StoreLogger;
  readonly #transaction: TransactionOptions;
  readonly #policy: TransactionPolicy;
  readonly #operationTimeoutMs: number;
  readonly #commitTimeoutMs: number;
  readonly #requireReplicaSet: boolean;
  #closed = false;

  constructor(options: MongoStoreOptions) {
    if (typeof options.uri !== 'string' || options.uri === '') throw new ConfigError('mongodb uri must not be empty');
    const d = MONGO_STORE_DEFAULTS;
    const serverSelectionTimeoutMs = options.serverSelectionTimeoutMs ?? d.serverSelectionTimeoutMs;
    const operationTimeoutMs = options.operationTimeoutMs ?? d.operationTimeoutMs;
    const commitTimeoutMs = options.commitTimeoutMs ?? d.commitTimeoutMs;
    const transactionAttempts = options.transactionAttempts ?? d.transactionAttempts;
    const transactionBackoffMs = options.transactionBackoffMs ?? d.transactionBackoffMs;
    const positive = { serverSelectionTimeoutMs, operationTimeoutMs, commitTimeoutMs, transactionAttempts };
    for (const [name, value] of Object.entries(positive)) {
      if (!Number.isSafeInteger(value) || value <= 0) {
        throw new ConfigError(`mongodb ${name} must be a positive integer, got ${value}`);
      }
    }
    if (!Number.isSafeInteger(transactionBackoffMs) || transactionBackoffMs < 0) {
      throw new ConfigError(`mongodb transactionBackoffMs must be a non-negative integer, got ${transactionBackoffMs}`);
    }
    this.#logger = options.logger ?? silentStoreLogger;
    this.#operationTimeoutMs = operationTimeoutMs;
    this.#commitTimeoutMs = commitTimeoutMs;
    this.#requireReplicaSet = options.requireReplicaSet ?? d.requireReplicaSet;
    this.#policy = { attempts: transactionAttempts, backoffMs: transactionBackoffMs, backoffCapMs: BACKOFF_CAP_MS };
    this.#client = new MongoClient(options.uri, {
      serverSelectionTimeoutMS: serverSelectionTimeoutMs,
      connectTimeoutMS: serverSelectionTimeoutMs,
      // A call abandoned on a silent connection leaves that socket busy: close it well after every bound has passed.
      socketTimeoutMS: 2 * Math.max(operationTimeoutMs, commitTimeoutMs) + 1_000,
      readConcern: { level: 'majority' },
      writeConcern: { w: 'majority' },
      readPreference: 'primary',
    });
    this.#db = this.#client.db(options.databaseName ?? (databaseFromUri(options.uri) || 'catraca'));
    this.#admin = this.#client.db('admin');
    this.#transaction = {
      readConcern: { level: 'majority' },
      writeConcern: { w: 'majority' },
      readPreference: 'primary',
      maxCommitTimeMS: commitTimeoutMs,
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
    // Each step has its own bound: init is a dozen round trips, none of which may hang start-up.
    const op = <T>(what: string, work: (signal: AbortSignal) => Promise<T>): Promise<T> => {
      const signal = withTimeout(options?.signal, this.#operationTimeoutMs);
      return bounded(work(signal), signal, what);
    };
    await this.#call(options, this.#operationTimeoutMs, async () => {
      if (this.#requireReplicaSet) await op('hello', (signal) => checkTransactionsSupported(this.#admin, signal));
      // Collections are created up front: a transaction cannot rely on implicit creation racing with another one.
      // An existing collection gets the current validator (collMod): a rule added in a later version applies to
      // databases created before it.
      for (const [name, validator] of Object.entries(COLLECTION_VALIDATORS)) {
        const rules = { validator, validationLevel: 'strict', validationAction: 'error' } as const;
        try {
          await op('create', () => this.#db.createCollection(name, rules));
        } catch (error) {
          if (!(error instanceof MongoServerError && error.code === NAMESPACE_EXISTS)) throw error;
          await op('collMod', (signal) => this.#db.command({ collMod: name, ...rules }, { signal }));
        }
      }
      for (const [name, indexes] of Object.entries(COLLECTION_INDEXES)) {
        await op('createIndexes', () => this.#db.collection(name).createIndexes(indexes));
      }
      // A database that has rules but no marker was seeded before the marker existed: it must not be seeded again.
      const maxTimeMS = this.#operationTimeoutMs;
      const rules = await op('count', (signal) => this.#rules.countDocuments({}, { limit: 1, signal, maxTimeMS }));
      if (rules > 0) {
        try {
          await op('insert', () => this.#meta.insertOne({ _id: MERCHANT_RULES_SEEDED, at: new Date().toISOString() }));
        } catch (error) {
          if (!(error instanceof MongoServerError && error.code === DUPLICATE_KEY)) throw error;
        }
      }
    });
  }

  async ping(options?: StoreCallOptions): Promise<void> {
    await this.#call(options, this.#operationTimeoutMs, (signal) =>
      bounded(this.#db.command({ ping: 1 }, { signal }), signal, 'ping'),
    );
  }

  async createAccount(id: string, balances: Balances, options?: StoreCallOptions): Promise<Account> {
    const createdAt = new Date().toISOString();
    await this.#inTransaction(options, async (session, step) => {
      try {
        const doc = { _id: id, balances: { ...balances }, version: 0, createdAt };
        await step(this.#accounts.insertOne(doc, { session }), 'insert');
      } catch (error) {
        if (error instanceof MongoServerError && error.code === DUPLICATE_KEY) throw new AccountExistsError(id);
        throw error;
      }
      const opening = openingEntries(id, balances, createdAt).map((entry, index) => ({ ...entry, index }));
      if (opening.length > 0) await step(this.#ledger.insertMany(opening, { session }), 'insert');
    });
    return { id, balances: { ...balances }, version: 0, createdAt };
  }

  async getAccount(id: string, options?: StoreCallOptions): Promise<Account | undefined> {
    const doc = await this.#read(options, 'find', (read) => this.#accounts.findOne({ _id: id }, read));
    return doc === null ? undefined : accountFromDoc(doc);
  }

  async getTransaction(id: string, options?: StoreCallOptions): Promise<TransactionRecord | undefined> {
    const doc = await this.#read(options, 'find', (read) => this.#records.findOne({ _id: id }, read));
    return doc === null ? undefined : recordFromDoc(doc);
  }

  async commit(request: CommitRequest, options?: StoreCallOptions): Promise<CommitOutcome> {
    checkCommitRequest(request);
    const { accountId, expectedVersion, balances, ledger, records } = request;
    const ids = records.map((record) => record.id);
    const deltas = ledgerDeltas(ledger);
    const maxTimeMS = this.#commitTimeoutMs;
    try {
      return await this.#inTransaction(options, async (session, step): Promise<CommitOutcome> => {
        const existing = await step(this.#findRecords(ids, { session, maxTimeMS }, accountId), 'find');
        if (existing.length > 0) return { status: 'duplicate_id', existing };
        // The compare-and-set fence; $expr refuses new balances that the ledger deltas do not explain.
        const epoch = request.ownerEpoch === undefined ? undefined : Long.fromBigInt(request.ownerEpoch);
        const updated = await step(
          this.#accounts.updateOne(
            {
              _id: accountId,
              version: expectedVersion,
              ...(epoch === undefined ? {} : { $or: [{ ownerEpoch: { $exists: false } }, { ownerEpoch: { $lte: epoch } }] }),
              $expr: {
                $and: (['FOOD', 'MEAL', 'CASH'] as const).map((c) => ({
                  $eq: [{ $add: [`$balances.${c}`, deltas[c]] }, balances[c]],
                })),
              },
            },
            {
              $set: { balances: { ...balances }, ...(epoch === undefined ? {} : { ownerEpoch: epoch }) },
              $inc: { version: records.length },
            },
            { session },
          ),
          'update',
        );
        if (updated.matchedCount === 0) {
          const current = await step(
            this.#accounts.findOne({ _id: accountId }, { session, maxTimeMS, projection: { version: 1, ownerEpoch: 1 } }),
            'find',
          );
          if (current === null) return { status: 'unknown_account' };
          if (
            request.ownerEpoch !== undefined &&
            current.ownerEpoch !== undefined &&
            BigInt(current.ownerEpoch.toString()) > request.ownerEpoch
          ) {
            return { status: 'fenced' };
          }
          if (toSafeInteger(current.version) !== expectedVersion) return { status: 'version_conflict' };
          throw conservationError(accountId);
        }
        try {
          await step(
            this.#records.insertMany(
              records.map(({ id, ...fields }) => ({ _id: id, ...fields })),
              { session },
            ),
            'insert',
          );
        } catch (error) {
          if (error instanceof MongoServerError && error.code === DUPLICATE_KEY) throw new LateDuplicate();
          throw error;
        }
        if (ledger.length > 0) {
          // `index` is the entry's place in the chain: unique per (account, version) and in order.
          await step(
            this.#ledger.insertMany(
              ledger.map((entry, index) => ({ ...entry, index })),
              { session },
            ),
            'insert',
          );
        }
        return { status: 'committed' };
      });
    } catch (error) {
      if (!(error instanceof LateDuplicate)) throw error;
      const existing = await this.#read(options, 'find', (read) => this.#findRecords(ids, read, accountId));
      if (existing.length === 0) throw new StoreUnavailableError('duplicate transaction id vanished');
      return { status: 'duplicate_id', existing };
    }
  }

  /**
   * The stored records among `ids`, in the order of `ids`, then the reversals of `accountId` whose original is one of
   * `ids` (an id spent by a reversal that came first); one query.
   */
  async #findRecords(
    ids: readonly string[],
    options: FindOptions & Abortable,
    accountId: string,
  ): Promise<TransactionRecord[]> {
    const docs = await this.#records
      .find({ $or: [{ _id: { $in: [...ids] } }, { originalId: { $in: [...ids] }, accountId }] }, options)
      .toArray();
    const byId = new Map(docs.map((doc) => [doc._id, doc]));
    const taken = ids.flatMap((id) => byId.get(id) ?? []);
    return [...taken, ...docs.filter((doc) => !taken.includes(doc))].map(recordFromDoc);
  }

  async getWithReversals(ids: readonly string[], options?: StoreCallOptions): Promise<TransactionRecord[]> {
    const docs = await this.#read(options, 'find', (read) =>
      this.#records.find({ $or: [{ _id: { $in: [...ids] } }, { originalId: { $in: [...ids] } }] }, read).toArray(),
    );
    return docs.map(recordFromDoc);
  }

  async listTransactions(
    accountId: string,
    page: { limit: number; before?: number },
    options?: StoreCallOptions,
  ): Promise<TransactionPage> {
    checkPage(page);
    const filter = page.before === undefined ? { accountId } : { accountId, version: { $lt: page.before } };
    const docs = await this.#read(options, 'find', (read) =>
      this.#records
        .find(filter, read)
        .sort({ version: -1 })
        .limit(page.limit + 1)
        .toArray(),
    );
    const items = docs.slice(0, page.limit).map(recordFromDoc);
    const last = items.at(-1);
    return docs.length > page.limit && last !== undefined ? { items, nextBefore: last.version } : { items };
  }

  async listLedger(accountId: string, options?: StoreCallOptions): Promise<LedgerEntry[]> {
    const docs = await this.#read(options, 'find', (read) =>
      this.#ledger.find({ accountId }, read).sort({ version: 1, index: 1 }).toArray(),
    );
    return docs.map(ledgerFromDoc);
  }

  async listMerchantRules(options?: StoreCallOptions): Promise<MerchantRule[]> {
    const docs = await this.#read(options, 'find', (read) => this.#rules.find({}, read).sort({ _id: 1 }).toArray());
    return docs.map((doc) => parseMerchantRule({ match: doc._id, category: doc.category }));
  }

  async putMerchantRule(rule: MerchantRule, options?: StoreCallOptions): Promise<void> {
    await this.#call(options, this.#operationTimeoutMs, (signal) =>
      bounded(
        this.#rules.replaceOne({ _id: rule.match }, { category: rule.category }, { upsert: true }),
        signal,
        'replace',
      ),
    );
  }

  async deleteMerchantRule(match: string, options?: StoreCallOptions): Promise<boolean> {
    const result = await this.#call(options, this.#operationTimeoutMs, (signal) =>
      bounded(this.#rules.deleteOne({ _id: match }), signal, 'delete'),
    );
    return result.deletedCount > 0;
  }

  async seedMerchantRules(rules: readonly MerchantRule[], options?: StoreCallOptions): Promise<boolean> {
    try {
      await this.#inTransaction(options, async (session, step) => {
        try {
          // A concurrent seeder's marker is a write conflict (retried), then a duplicate key: exactly one seeds.
          const marker = { _id: MERCHANT_RULES_SEEDED, at: new Date().toISOString() };
          await step(this.#meta.insertOne(marker, { session }), 'insert');
        } catch (error) {
          if (error instanceof MongoServerError && error.code === DUPLICATE_KEY) throw new AlreadySeeded();
          throw error;
        }
        for (const rule of rules) {
          await step(
            this.#rules.replaceOne({ _id: rule.match }, { category: rule.category }, { upsert: true, session }),
            'replace',
          );
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

  /** A read bounded by `operationTimeoutMs` on both sides: the driver's signal and race, and the server's maxTimeMS. */
  #read<T>(
    options: StoreCallOptions | undefined,
    what: string,
    work: (read: { signal: AbortSignal; maxTimeMS: number }) => Promise<T>,
  ): Promise<T> {
    return this.#call(options, this.#operationTimeoutMs, (signal) =>
      bounded(work({ signal, maxTimeMS: this.#operationTimeoutMs }), signal, what),
    );
  }

  /** Runs `work` in one transaction bounded by `commitTimeoutMs` and the caller's signal (see `transaction.ts`). */
  #inTransaction<T>(
    options: StoreCallOptions | undefined,
    work: (session: ClientSession, step: Step) => Promise<T>,
  ): Promise<T> {
    return this.#call(options, this.#commitTimeoutMs, (signal) =>
      runTransaction(this.#client, this.#transaction, signal, this.#policy, work),
    );
  }

  /**
   * Runs `work` with the caller's signal bounded by `boundMs`; maps driver failures to {@link StoreUnavailableError}
   * (one whose commit answer was lost says `outcomeUnknown`); the domain's own refusals and ConfigError pass through.
   */
  async #call<T>(
    options: StoreCallOptions | undefined,
    boundMs: number,
    work: (signal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    throwIfAborted(options?.signal);
    if (this.#closed) throw new StoreUnavailableError('mongodb store is closed');
    try {
      return await work(withTimeout(options?.signal, boundMs));
    } catch (error) {
      if (
        error instanceof AccountExistsError ||
        error instanceof InvalidDocumentError ||
        error instanceof StoreUnavailableError ||
        error instanceof ConfigError ||
        error instanceof RangeError ||
        error instanceof LateDuplicate ||
        error instanceof AlreadySeeded
      ) {
        throw error;
      }
      this.#logger.warn({ err: error }, 'mongodb store call failed');
      throw new StoreUnavailableError('mongodb store call failed', { cause: error });
    }
  }
}

/** Connects a {@link MongoStore} and creates its collections and indexes. */
export async function openMongoStore(options: MongoStoreOptions): Promise<MongoStore> {
  return initialized(new MongoStore(options));
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
