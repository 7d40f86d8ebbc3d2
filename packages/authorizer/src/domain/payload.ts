import { createHash } from 'node:crypto';
import type { Category } from './types.js';

/** A debit's parsed fields, as they identify the request for idempotency. */
export interface DebitPayload {
  accountId: string;
  /** Integer centavos (see `parseAmount`). */
  amount: number;
  /** The padded 4-digit MCC (see `parseMcc`). */
  mcc: string;
  /** The merchant field as received (not normalized). */
  merchant: string;
}

/** A credit's parsed fields, as they identify the request for idempotency. */
export interface CreditPayload {
  accountId: string;
  category: Category;
  /** Integer centavos. */
  amount: number;
}

/** A reversal's parsed fields, as they identify the request for idempotency. */
export interface ReversalPayload {
  accountId: string;
  /** The id of the purchase to reverse. */
  originalId: string;
  /** Integer centavos; undefined: the whole remaining amount. */
  amount: number | undefined;
}

/**
 * The canonical text of a debit, from its parsed fields: every spelling of one request gives the same text
 * (`"100.1"`, `100.10` and `"100.10"` are all 10010 centavos; `742` and `"0742"` are one MCC; `account` and
 * `accountId` are one field). It is a JSON array led by the kind, so a debit and a credit never share a text, and
 * JSON string escaping keeps field boundaries unambiguous whatever the merchant contains.
 *
 * @throws RangeError when `amount` is not a non-negative safe integer (a caller bug: pass parsed centavos).
 */
export function canonicalDebitPayload(payload: DebitPayload): string {
  const { accountId, amount, mcc, merchant } = payload;
  return JSON.stringify(['debit', accountId, checkedCentavos(amount), mcc, merchant]);
}

/**
 * The canonical text of a credit, from its parsed fields; see {@link canonicalDebitPayload}.
 *
 * @throws RangeError when `amount` is not a non-negative safe integer.
 */
export function canonicalCreditPayload(payload: CreditPayload): string {
  const { accountId, category, amount } = payload;
  return JSON.stringify(['credit', accountId, category, checkedCentavos(amount)]);
}

/**
 * The canonical text of a reversal, from its parsed fields; see {@link canonicalDebitPayload}. An absent amount ("all
 * that remains") is another request than any explicit amount.
 *
 * @throws RangeError when `amount` is given and is not a non-negative safe integer.
 */
export function canonicalReversalPayload(payload: ReversalPayload): string {
  const { accountId, originalId, amount } = payload;
  return JSON.stringify(['reversal', accountId, originalId, amount === undefined ? null : checkedCentavos(amount)]);
}

/** The lower-case hex sha256 of a canonical payload: what a transaction record keeps as `payloadHash`. */
export function payloadHash(canonical: string): string {
  return createHash('sha256').update(canonical, 'utf8').digest('hex');
}

function checkedCentavos(amount: number): number {
  if (!Number.isSafeInteger(amount) || amount < 0) {
    throw new RangeError(`amount must be integer centavos, got ${String(amount)}`);
  }
  return amount;
}
