import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { Authorizer } from '../service/authorizer.js';
import type { Outcome } from '../service/outcome.js';
import type { AsyncMetrics } from './async-metrics.js';
import { backoffDelay } from './backoff.js';
import { toDebitRequest, type Accepted, type Decision } from './records.js';

/** `07` reasons that say "not now", not "no": the record is decided again until a final answer comes. */
export const PASSING_REASONS: ReadonlySet<string> = new Set([
  'deadline_exceeded',
  'unavailable',
  'in_progress',
  'outcome_unknown',
  'rate_limited',
]);

export interface DeciderOptions {
  /** The same service entry point `POST /transactions` calls: same rules, store, account lock and fence. */
  authorizer: Pick<Authorizer, 'authorize'>;
  /** Hands a final decision on; resolves only once it is durable (the record's offset is committed after). */
  publish(decision: Decision): Promise<void>;
  /** Budget of one decision attempt. */
  deadlineMs: number;
  metrics: AsyncMetrics;
  logger: Logger;
}

/**
 * Decides one accepted transaction, as the handler of the transactions topic's consumer: through the authorizer (so
 * an account's async and sync purchases take the same lock, and a replayed id is answered from the store, never
 * applied twice), retrying a passing `07` until a final answer, then publishing the decision for its webhook.
 * Returns false when the record was given up because this replica no longer owns it.
 */
export function createDecider(options: DeciderOptions): (accepted: Accepted, owned: () => boolean) => Promise<boolean> {
  const { authorizer, metrics, deadlineMs, logger } = options;
  return async (accepted, owned) => {
    let outcome: Outcome;
    for (let attempt = 1; ; attempt++) {
      if (!owned()) return false;
      outcome = await authorizer.authorize(toDebitRequest(accepted), AbortSignal.timeout(deadlineMs));
      if (outcome.code !== '07' || !PASSING_REASONS.has(outcome.reason)) break;
      metrics.decisionRetries.inc({ reason: outcome.reason });
      logger.debug({ transaction: accepted.id, reason: outcome.reason, attempt }, 'async decision retried');
      await sleep(backoffDelay(attempt, { baseMs: 20, maxMs: 2_000 }));
    }
    metrics.decided.inc({ code: outcome.code, reason: outcome.reason, replayed: String(outcome.replayed) });
    if (!outcome.replayed) metrics.acceptToDecision.observe((Date.now() - accepted.acceptedAt) / 1000);
    const decision: Decision = {
      v: 1,
      id: accepted.id,
      account: accepted.account,
      code: outcome.code,
      reason: outcome.reason,
      client: accepted.client,
      acceptedAt: accepted.acceptedAt,
      decidedAt: Date.now(),
    };
    for (let attempt = 1; ; attempt++) {
      try {
        await options.publish(decision);
        return true;
      } catch (error) {
        // Stored but not handed on yet: keep trying while we own the record (its next owner would publish it anyway).
        if (!owned()) return false;
        logger.warn({ err: error, transaction: accepted.id, attempt }, 'publishing a decision failed; retrying');
        await sleep(backoffDelay(attempt, { baseMs: 100, maxMs: 5_000 }));
      }
    }
  };
}
