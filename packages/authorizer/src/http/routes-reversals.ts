import type Router from '@koa/router';
import type { Middleware } from 'koa';
import createError from 'http-errors';
import type { Outcome } from '../service/outcome.js';
import type { AppDeps, RequestState } from './app.js';
import { writeAnswer } from './answer.js';
import { readJson } from './body.js';
import { parseReversalRequest } from './reversal-request.js';
import { idSchema } from './schemas.js';
import { balanceView } from './views.js';

/**
 * Authorize scope, besides purchases: `POST /reversals` (SPEC §2.7), answered like a purchase — HTTP 200 with exactly
 * `{"code": …}` whenever the body could be read, diagnostics in headers — and `GET /accounts/:id/balance` (SPEC §4),
 * a processor's balance inquiry, within the same request budget as a purchase.
 */
export function reversalRoutes(router: Router<RequestState>, deps: AppDeps, auth: Middleware): void {
  const { authorizer, store, metrics, config } = deps;

  router.post('/reversals', auth, async (ctx) => {
    const signal = ctx.state.deadline(config.DEADLINE_MS);
    const body = await readJson(ctx, config.BODY_LIMIT_BYTES);
    let outcome: Outcome;
    const parsed = body.ok ? parseReversalRequest(body.value) : body;
    if (!parsed.ok) {
      ctx.set('Catraca-Error', parsed.error);
      outcome = { code: '07', reason: 'invalid_request', transactionId: '', replayed: false };
    } else {
      outcome = await authorizer.reverse(parsed.value, signal);
      ctx.state.log.debug(
        {
          account: parsed.value.accountId,
          transaction: outcome.transactionId,
          original: parsed.value.originalId,
          code: outcome.code,
          reason: outcome.reason,
          replayed: outcome.replayed,
        },
        'reversal',
      );
    }
    metrics.reversals.inc({ code: outcome.code, reason: outcome.reason });
    writeAnswer(ctx, outcome);
  });

  router.get('/accounts/:id/balance', auth, async (ctx) => {
    const id = idSchema.safeParse(ctx.params['id']);
    if (!id.success) throw createError(404, 'no such account', { expose: true });
    let account;
    try {
      account = await store.getAccount(id.data, { signal: ctx.state.deadline(config.DEADLINE_MS) });
    } catch (error) {
      ctx.state.log.warn({ err: error, account: id.data }, 'balance inquiry failed');
      throw createError(503, 'unavailable', { expose: true });
    }
    if (!account) throw createError(404, 'no such account', { expose: true });
    ctx.body = balanceView(account);
  });
}
