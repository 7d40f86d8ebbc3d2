import { setTimeout as sleep } from 'node:timers/promises';
import { MongoError, MongoErrorLabel } from 'mongodb';
import type { ClientSession, MongoClient, TransactionOptions } from 'mongodb';
import { StoreUnavailableError } from '../../errors.js';
import { throwIfAborted } from '../abort.js';
import { bounded } from './bounded.js';

export interface TransactionPolicy {
  /** Runs of a transaction that keeps meeting transient errors (write conflicts) before the call gives up. */
  attempts: number;
  /** First retry waits up to this long (full jitter), doubling per attempt up to `backoffCapMs`. */
  backoffMs: number;
  backoffCapMs: number;
}

/** Runs one driver call of the transaction within the transaction's bound; see {@link runTransaction}. */
export type Step = <U>(call: Promise<U>, what: string) => Promise<U>;

/**
 * Runs `work` in one multi-document transaction on a fresh session, never past `signal` (the caller's deadline or
 * the store's commit bound, `STORE_COMMIT_TIMEOUT_MS` in the service). Every driver call of `work` goes through
 * `step`, which is bounded by `signal` (the driver has no timeout on writes inside a transaction).
 *
 * - A transient error (a write conflict) runs the transaction again after a jittered exponential backoff, at most
 *   `policy.attempts` times, never once the signal fired.
 * - The signal firing before commitTransaction was sent abandons the transaction: nothing is written.
 * - Once commitTransaction is sent, a lost answer (the signal fired, or the driver reports an unknown commit result
 *   after its one retry) rejects with a {@link StoreUnavailableError} whose `outcomeUnknown` is true.
 * - An abandoned transaction is aborted and its session ended in the background, once the call in flight settled
 *   (the client's socket timeout bounds that; the server also reaps it after its transaction lifetime limit).
 *
 * Not `session.withTransaction()`: it retries for up to 120 s, and driver 7's `timeoutMS` has no effect.
 */
export async function runTransaction<T>(
  client: MongoClient,
  options: TransactionOptions,
  signal: AbortSignal,
  policy: TransactionPolicy,
  work: (session: ClientSession, step: Step) => Promise<T>,
): Promise<T> {
  const session = client.startSession();
  let inFlight: Promise<unknown> = Promise.resolve();
  const step: Step = (call, what) => {
    inFlight = call.catch(() => {});
    return bounded(call, signal, what);
  };
  try {
    for (let attempt = 1; ; attempt += 1) {
      session.startTransaction(options);
      let result: T;
      try {
        result = await work(session, step);
        // Abandoned before the commit was sent: nothing is written (the finally block aborts it).
        throwIfAborted(signal);
      } catch (error) {
        throwIfAborted(signal);
        await step(session.abortTransaction(), 'abortTransaction');
        if (attempt < policy.attempts && hasLabel(error, MongoErrorLabel.TransientTransactionError)) {
          await backoff(attempt, policy, signal);
          continue;
        }
        throw error;
      }
      try {
        await step(commitWithOneRetry(session), 'commitTransaction');
      } catch (error) {
        if (signal.aborted) {
          throw new StoreUnavailableError('mongodb commit outcome unknown: no answer to commitTransaction in time', {
            cause: error,
            outcomeUnknown: true,
          });
        }
        if (hasLabel(error, MongoErrorLabel.UnknownTransactionCommitResult)) {
          throw new StoreUnavailableError('mongodb commit outcome unknown: the commit result was lost', {
            cause: error,
            outcomeUnknown: true,
          });
        }
        // The server refused the commit as a whole (e.g. a write conflict): nothing was written, run it again.
        if (attempt < policy.attempts && hasLabel(error, MongoErrorLabel.TransientTransactionError)) {
          await backoff(attempt, policy, signal);
          continue;
        }
        throw error;
      }
      return result;
    }
  } finally {
    // An abandoned transaction still owns the session: abort and end it only once the call in flight has settled.
    void inFlight
      .then(() => (session.inTransaction() ? session.abortTransaction() : undefined))
      .catch(() => {})
      .then(() => session.endSession())
      .catch(() => {});
  }
}

export function hasLabel(error: unknown, label: MongoErrorLabel): boolean {
  return error instanceof MongoError && error.hasErrorLabel(label);
}

/** Full jitter: a random wait in [0, min(cap, base · 2^(attempt-1))], cut short (rejecting) when the signal fires. */
async function backoff(attempt: number, policy: TransactionPolicy, signal: AbortSignal): Promise<void> {
  const ceiling = Math.min(policy.backoffCapMs, policy.backoffMs * 2 ** (attempt - 1));
  try {
    await sleep(Math.random() * ceiling, undefined, { signal });
  } catch {
    throwIfAborted(signal);
  }
}

/** commitTransaction, sent once more when its result is unknown (the driver's own retry, made explicit). */
async function commitWithOneRetry(session: ClientSession): Promise<void> {
  try {
    await session.commitTransaction();
  } catch (error) {
    if (!hasLabel(error, MongoErrorLabel.UnknownTransactionCommitResult)) throw error;
    await session.commitTransaction();
  }
}
