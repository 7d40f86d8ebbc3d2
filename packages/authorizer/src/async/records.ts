import { z } from 'zod';
import type { DebitRequest } from '../service/authorizer.js';

/**
 * An accepted asynchronous purchase as it travels on the transactions topic (keyed by account). Money is integer
 * centavos, already parsed by the same rules as `POST /transactions`; the id is always set (the intake makes one when
 * the client sent none), so a redelivered record is the same transaction to the store's idempotency.
 */
export const acceptedSchema = z.object({
  v: z.literal(1),
  id: z.string().min(1).max(64),
  account: z.string().min(1).max(64),
  amount: z.number().int().positive(),
  mcc: z.string().regex(/^\d{4}$/),
  merchant: z.string().min(1).max(255),
  /** Whose webhook receives the decision. */
  client: z.string().min(1).max(128),
  /** When the intake accepted it (ms since the epoch), for end-to-end latency. */
  acceptedAt: z.number().int(),
});
export type Accepted = z.output<typeof acceptedSchema>;

/** A decision on its way to the client's webhook (decisions topic, keyed by account). */
export const decisionSchema = z.object({
  v: z.literal(1),
  id: z.string().min(1),
  account: z.string().min(1),
  code: z.enum(['00', '51', '07']),
  reason: z.string().min(1),
  client: z.string().min(1),
  acceptedAt: z.number().int(),
  decidedAt: z.number().int(),
  /** Set when an admin replays a parked delivery: counts replays, so a replay is not mistaken for a duplicate. */
  replay: z.number().int().nonnegative().optional(),
});
export type Decision = z.output<typeof decisionSchema>;

/** What a webhook receives: exactly these three fields. */
export interface WebhookBody {
  id: string;
  account: string;
  code: '00' | '51' | '07';
}

export function toDebitRequest(accepted: Accepted): DebitRequest {
  return {
    id: accepted.id,
    accountId: accepted.account,
    amount: accepted.amount,
    mcc: accepted.mcc,
    merchant: accepted.merchant,
  };
}

/** Parses a JSON record value; undefined when it is not one of ours (skipped, counted). */
export function decode<S extends z.ZodType>(schema: S, value: Buffer | string | undefined | null): z.output<S> | undefined {
  if (value === undefined || value === null) return undefined;
  try {
    const parsed = schema.safeParse(JSON.parse(value.toString()));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
