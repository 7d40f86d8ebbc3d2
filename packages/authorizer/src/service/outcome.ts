import type { ReversalRefusal } from '../domain/reversal.js';
import type { ResponseCode, StoredReason, TransactionRecord } from '../domain/types.js';

/** Every reason an answer can carry, in the `Catraca-Reason` header, the metrics and the logs. */
export type Reason =
  | StoredReason
  | 'invalid_request'
  | 'unknown_account'
  | 'id_conflict'
  | 'deadline_exceeded'
  | 'unavailable'
  /**
   * A duplicate of an id still being processed ran out of time waiting, or a request forwarded to its account's home
   * replica got no answer in time: the first copy (the owner) may yet apply it.
   */
  | 'in_progress'
  /** The store's reply to the commit was lost: applied whole or not at all; a retry with the same id tells which. */
  | 'outcome_unknown'
  /** The caller is over its rate limit; nothing was processed. */
  | 'rate_limited'
  /** A purchase whose id a reversal spent before it arrived (SPEC §2.7). */
  | 'reversed'
  | ReversalRefusal;

/** The answer to one authorization or credit. */
export interface Outcome {
  code: ResponseCode;
  reason: Reason;
  transactionId: string;
  /** The stored record, when the answer is a stored decision (fresh or replayed). */
  record?: TransactionRecord;
  /** True when the answer is the first answer to an earlier request with the same id. */
  replayed: boolean;
}

export function refused(transactionId: string, reason: Exclude<Reason, Exclude<StoredReason, 'reversed'>>): Outcome {
  return { code: '07', reason, transactionId, replayed: false };
}

export function fromRecord(record: TransactionRecord, replayed: boolean): Outcome {
  return { code: record.code, reason: record.reason, transactionId: record.id, record, replayed };
}
