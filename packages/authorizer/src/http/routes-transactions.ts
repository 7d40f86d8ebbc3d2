import type Router from '@koa/router';
import type { Middleware } from 'koa';
import type { Outcome } from '../service/outcome.js';
import type { AppDeps, RequestState } from './app.js';
import { writeAnswer } from './answer.js';
import { readJson } from './body.js';
import { parseTransactionRequest } from './transaction-request.js';

/**
 * `POST /transactions` (SPEC §1): HTTP 200 with exactly `{"code": …}` whenever the body could be read, diagnostics in
 * headers only. Transport-level refusals (401, 413) keep their HTTP status.
 */
export function transactionRoutes(router: Router<RequestState>, deps: AppDeps, auth: Middleware): void {
  const { authorizer, metrics, config } = deps;

  router.post('/transactions', auth, async (ctx) => {
    const signal = ctx.state.deadline(config.DEADLINE_MS);
    const body = await readJson(ctx, config.BODY_LIMIT_BYTES);
    let outcome: Outcome;
    const parsed = body.ok ? parseTransactionRequest(body.value) : body;
    if (!parsed.ok) {
      ctx.set('Catraca-Error', parsed.error);
      outcome = { code: '07', reason: 'invalid_request', transactionId: '', replayed: false };
      ctx.state.log.debug({ reason: 'invalid_request', error: parsed.error }, 'invalid authorization request');
    } else {
      outcome = await authorizer.authorize(parsed.value, signal);
      ctx.state.log.debug(
        {
          account: parsed.value.accountId,
          transaction: outcome.transactionId,
          code: outcome.code,
          reason: outcome.reason,
          replayed: outcome.replayed,
        },
        'authorization',
      );
    }
    metrics.decisions.inc({ kind: 'debit', code: outcome.code, reason: outcome.reason });
    writeAnswer(ctx, outcome);
  });
}
