import { AUDIT_ACTIONS } from '../audit/port.js';
import { z } from 'zod';
import { CATEGORIES } from '../domain/types.js';

/** Ids of transactions and accounts: 1–64 characters of `[A-Za-z0-9._:-]` (SPEC §1). */
export const idSchema = z
  .string()
  .regex(/^[A-Za-z0-9._:-]{1,64}$/, 'must be 1-64 characters of A-Z a-z 0-9 . _ : -')
  // `.` and `..` are path segments: a Location of /accounts/.. cannot be fetched by standard clients.
  .refine((id) => id !== '.' && id !== '..', 'must not be "." or ".."');

/** Money on the wire: a JSON number (`100.1`) or a decimal string (`"100.10"`), at most 2 decimal places. */
export const amountSchema = z
  .union([z.number(), z.string()])
  .meta({ description: 'Amount in reais: a JSON number or a decimal string, at most 2 decimal places', examples: ['100.10'] });

export const categorySchema = z.enum(CATEGORIES);

/**
 * `POST /transactions` body, as accepted on the wire (both spellings of the challenge). Field rules beyond shape
 * (exact money, MCC digits, non-blank merchant) are applied by the domain parsers in `transaction-request.ts`.
 */
export const transactionBodySchema = z
  .object({
    id: idSchema.optional().meta({ description: 'Idempotency key; when absent the server makes one (not retry-safe)' }),
    account: idSchema.optional(),
    accountId: idSchema.optional().meta({ description: 'Same as `account`' }),
    totalAmount: amountSchema.optional(),
    amount: amountSchema.optional().meta({ description: 'Same as `totalAmount`' }),
    mcc: z
      .union([z.string(), z.number().int()])
      .meta({ description: 'Merchant category code: 4 digits as a string, or an integer 0-9999', examples: ['5811'] }),
    merchant: z
      .string()
      .meta({ description: 'Merchant name; usually the 40-character ISO 8583 DE 43 card-acceptor field' }),
  })
  .meta({ id: 'TransactionRequest' });

export const transactionAnswerSchema = z
  .object({ code: z.enum(['00', '51', '07']) })
  .strict()
  .meta({ id: 'TransactionAnswer', description: '00 approved, 51 insufficient funds, 07 any other problem' });

/**
 * `POST /reversals` body (SPEC §2.7), as accepted on the wire. `amount` follows the money rules of `totalAmount`;
 * without it the whole remaining amount is reversed.
 */
export const reversalBodySchema = z
  .object({
    id: idSchema.meta({ description: "The reversal's own idempotency key" }),
    original: idSchema.meta({ description: 'The id of the purchase to reverse' }),
    account: idSchema.optional(),
    accountId: idSchema.optional().meta({ description: 'Same as `account`' }),
    amount: amountSchema.optional().meta({ description: 'Amount to give back; default: all that remains' }),
  })
  .meta({ id: 'ReversalRequest' });

export const reversalAnswerSchema = z
  .object({ code: z.enum(['00', '07']) })
  .strict()
  .meta({ id: 'ReversalAnswer', description: '00 reversed (or nothing left to reverse, or recorded ahead of its purchase), 07 refused' });

export const balanceViewSchema = z
  .object({ id: z.string(), balances: z.object({ FOOD: z.string(), MEAL: z.string(), CASH: z.string() }) })
  .meta({ id: 'Balance', description: 'Balances as exact decimal strings with two places' });

export const balancesInputSchema = z
  .object({ FOOD: amountSchema.optional(), MEAL: amountSchema.optional(), CASH: amountSchema.optional() })
  .strict();

export const createAccountSchema = z
  .object({ id: idSchema, balances: balancesInputSchema.default({}) })
  .strict()
  .meta({ id: 'CreateAccount' });

export const creditSchema = z
  .object({ id: idSchema, category: categorySchema, amount: amountSchema })
  .strict()
  .meta({ id: 'Credit', description: 'Tops up one category; `id` makes it idempotent' });

export const merchantRuleSchema = z
  .object({
    match: z.string().meta({ description: 'Merchant name (normalized); a trailing * makes it a pure prefix' }),
    category: categorySchema,
  })
  .strict()
  .meta({ id: 'MerchantRule' });

export const accountViewSchema = z
  .object({
    id: z.string(),
    balances: z.object({ FOOD: z.string(), MEAL: z.string(), CASH: z.string() }),
    version: z.number().int(),
  })
  .meta({ id: 'Account' });

export const transactionViewSchema = z
  .object({
    id: z.string(),
    account: z.string(),
    kind: z.enum(['debit', 'credit', 'reversal']),
    amount: z.string().meta({ description: 'Reversals: the amount given back' }),
    mcc: z.string().nullable(),
    merchant: z.string().nullable(),
    category: categorySchema.nullable(),
    appliedCategory: categorySchema.nullable(),
    code: z.enum(['00', '51']),
    reason: z.enum(['approved', 'insufficient_funds', 'credited', 'reversed', 'nothing_to_reverse', 'original_unknown']),
    version: z.number().int(),
    createdAt: z.string(),
    original: z.string().optional().meta({ description: 'Reversals: the purchase reversed' }),
    reversals: z.array(z.string()).optional().meta({ description: "Purchases: the ids of the purchase's reversals" }),
    remaining: z.string().optional().meta({ description: 'Purchases: the amount reversals may still give back' }),
  })
  .meta({ id: 'Transaction' });

export const transactionPageSchema = z
  .object({ items: z.array(transactionViewSchema), nextCursor: z.string().optional() })
  .meta({ id: 'TransactionPage' });

export const errorSchema = z
  .object({ error: z.string(), message: z.string().optional() })
  .meta({ id: 'Error' });

export const historyQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z
    .string()
    .regex(/^[1-9][0-9]{0,15}$/, 'cursor must be a value returned as nextCursor')
    .transform(Number)
    .optional(),
});

export const auditEntrySchema = z
  .object({
    seq: z.number().int(),
    at: z.string(),
    actor: z.string().meta({ description: "The credential's name, or anonymous without admin credentials" }),
    requestId: z.string(),
    action: z.enum(AUDIT_ACTIONS),
    target: z.string().meta({ description: "Account id, rule match, webhook client or parked transaction id" }),
    before: z.unknown().meta({ description: 'State before the action; null when it did not exist' }),
    after: z.unknown().meta({ description: 'State after the action; null when it no longer exists' }),
  })
  .meta({ id: 'AuditEntry' });

export const auditPageSchema = z
  .object({ items: z.array(auditEntrySchema), nextCursor: z.string().optional() })
  .meta({ id: 'AuditPage' });
