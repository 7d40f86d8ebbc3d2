import { z } from 'zod';
import { CATEGORIES } from '../domain/types.js';
import type { Account, LedgerEntry, MerchantRule, TransactionRecord } from '../domain/types.js';
import { InvalidDocumentError } from '../errors.js';

/*
 * What a store reads back is validated before it reaches the domain: a hand-edited row, a half-migrated schema or
 * a BIGINT outside the safe integer range must fail loudly (InvalidDocumentError), never decide a purchase.
 */

const centavos = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const signedCentavos = z.number().int().min(-Number.MAX_SAFE_INTEGER).max(Number.MAX_SAFE_INTEGER);
const version = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const category = z.enum(CATEGORIES);
const timestamp = z.string().min(1);

const accountSchema = z.object({
  id: z.string().min(1),
  balances: z.object({ FOOD: centavos, MEAL: centavos, CASH: centavos }),
  version,
  createdAt: timestamp,
});

const recordSchema = z
  .object({
    id: z.string().min(1),
    accountId: z.string().min(1),
    kind: z.enum(['debit', 'credit', 'reversal']),
    amount: centavos,
    mcc: z.string().nullable(),
    merchant: z.string().nullable(),
    category: category.nullable(),
    appliedCategory: category.nullable(),
    code: z.enum(['00', '51']),
    reason: z.enum(['approved', 'insufficient_funds', 'credited', 'reversed', 'nothing_to_reverse', 'original_unknown']),
    payloadHash: z.string().min(1),
    version: version.positive(),
    createdAt: timestamp,
    originalId: z.string().min(1).optional(),
  })
  .refine((r) => r.kind === 'reversal' || (r.amount > 0 && r.category !== null && r.originalId === undefined), {
    message: 'only a reversal may have a zero amount, no category, or an original',
  })
  .refine((r) => r.kind !== 'reversal' || r.originalId !== undefined, { message: 'a reversal names its original' });

const ledgerSchema = z.object({
  accountId: z.string().min(1),
  transactionId: z.string().min(1).nullable(),
  kind: z.enum(['opening', 'debit', 'credit', 'reversal']),
  category,
  delta: signedCentavos,
  balanceAfter: centavos,
  version,
  createdAt: timestamp,
});

const ruleSchema = z.object({ match: z.string().min(1), category });

function parse<T>(schema: z.ZodType<T>, what: string, value: unknown): T {
  const result = schema.safeParse(value);
  if (!result.success) {
    throw new InvalidDocumentError(`invalid ${what} read from the store: ${z.prettifyError(result.error)}`, {
      cause: result.error,
    });
  }
  return result.data;
}

/** Validates an account assembled from a stored row. */
export const parseAccount = (value: unknown): Account => parse(accountSchema, 'account', value);
/** Validates a transaction record assembled from a stored row. */
export function parseRecord(value: unknown): TransactionRecord {
  const { originalId, ...record } = parse(recordSchema, 'transaction record', value);
  return originalId === undefined ? record : { ...record, originalId };
}
/** Validates a ledger entry assembled from a stored row. */
export const parseLedgerEntry = (value: unknown): LedgerEntry => parse(ledgerSchema, 'ledger entry', value);
/** Validates a merchant rule assembled from a stored row. */
export const parseMerchantRule = (value: unknown): MerchantRule => parse(ruleSchema, 'merchant rule', value);

/**
 * A stored integer as a number: drivers hand BIGINT back as a string or bigint. Anything that is not an exact safe
 * integer becomes NaN, which the schemas above reject.
 */
export function toSafeInteger(value: unknown): number {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? value : Number.NaN;
  if (typeof value === 'bigint') {
    return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= -BigInt(Number.MAX_SAFE_INTEGER)
      ? Number(value)
      : Number.NaN;
  }
  if (typeof value === 'string' && /^-?\d{1,16}$/.test(value)) {
    const n = Number(value);
    return Number.isSafeInteger(n) ? n : Number.NaN;
  }
  return Number.NaN;
}
