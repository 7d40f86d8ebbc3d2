import type { ParameterizedContext } from 'koa';
import type { Outcome } from '../service/outcome.js';
import type { RequestState } from './app.js';

/**
 * Writes the answer of a route that answers HTTP 200 whenever the body could be read (`POST /transactions`,
 * `POST /reversals`): exactly `{"code": …}`, diagnostics in headers only, and the answer kept for the metrics.
 */
export function writeAnswer(ctx: ParameterizedContext<RequestState>, outcome: Outcome): void {
  ctx.state.answer = { code: outcome.code, reason: outcome.reason };
  ctx.status = 200;
  ctx.set('Catraca-Reason', outcome.reason);
  if (outcome.transactionId) ctx.set('Catraca-Transaction-Id', outcome.transactionId);
  if (outcome.replayed) ctx.set('Catraca-Replayed', 'true');
  ctx.body = { code: outcome.code };
}
