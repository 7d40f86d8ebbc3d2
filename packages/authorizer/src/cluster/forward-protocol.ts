import { z } from 'zod';
import { CATEGORIES } from '../domain/types.js';
import type { Job } from '../service/authorizer.js';
import type { Outcome } from '../service/outcome.js';

/** Path of the internal forwarding endpoint. */
export const FORWARD_PATH = '/internal/v1/forward';

/** Request headers of a forward. */
export const HEADER = Object.freeze({
  /** The cluster's shared secret. */
  secret: 'catraca-cluster-secret',
  /** The owner epoch the sender expects the receiver to hold (decimal), or absent when it knows none. */
  epoch: 'catraca-owner-epoch',
  /** Remaining budget for the receiver, in milliseconds (a relative duration: clocks need not agree). */
  budget: 'catraca-budget-ms',
});

const id = z.string().regex(/^[A-Za-z0-9._:-]{1,64}$/);
const centavos = z.number().int().positive().max(100_000_000);

/** A forwarded request: the job as the sender validated it (money already in integer centavos). */
export const forwardBodySchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('debit'),
    id,
    request: z.object({ id: id.optional(), accountId: id, amount: centavos, mcc: z.string().regex(/^\d{4}$/), merchant: z.string().min(1).max(255) }),
  }),
  z.object({
    kind: z.literal('credit'),
    id,
    request: z.object({ id, accountId: id, category: z.enum(CATEGORIES), amount: centavos }),
  }),
  z.object({
    kind: z.literal('reversal'),
    id,
    // `amount` absent: the whole remaining amount of the purchase.
    request: z.object({ id, accountId: id, originalId: id, amount: centavos.optional() }),
  }),
]);
export type ForwardBody = z.output<typeof forwardBodySchema>;

/** The receiver's answer. `not_owner` carries the member the receiver considers home, when it knows one. */
export type ForwardReply =
  | { status: 'served'; outcome: Pick<Outcome, 'code' | 'reason' | 'transactionId' | 'replayed'>; epoch?: string }
  | { status: 'not_owner'; home?: string };

export const forwardReplySchema = z.discriminatedUnion('status', [
  z.object({
    status: z.literal('served'),
    outcome: z.object({
      code: z.enum(['00', '51', '07']),
      reason: z.string(),
      transactionId: z.string(),
      replayed: z.boolean(),
    }),
    epoch: z.string().regex(/^\d+$/).optional(),
  }),
  z.object({ status: z.literal('not_owner'), home: z.string().optional() }),
]);

/** The body a sender posts for `job`. */
export function forwardBody(job: Job): ForwardBody {
  if (job.kind === 'debit') {
    const { id: requestId, accountId, amount, mcc, merchant } = job.request;
    return { kind: 'debit', id: job.id, request: { ...(requestId === undefined ? {} : { id: requestId }), accountId, amount, mcc, merchant } };
  }
  if (job.kind === 'reversal') {
    const { id: reversalId, accountId, originalId, amount } = job.request;
    return { kind: 'reversal', id: job.id, request: { id: reversalId, accountId, originalId, ...(amount === undefined ? {} : { amount }) } };
  }
  return { kind: 'credit', id: job.id, request: job.request };
}
