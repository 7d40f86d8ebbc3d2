import type Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import createError from 'http-errors';
import type { AuditLog } from '../audit/port.js';
import type { Config } from '../config.js';
import { recordAdminAction } from '../http/audit-trail.js';
import type { RequestState } from '../http/app.js';
import { readJson } from '../http/body.js';
import { idSchema } from '../http/schemas.js';
import { parseTransactionRequest } from '../http/transaction-request.js';
import type { Store } from '../store/port.js';
import type { AsyncPath } from './async-path.js';
import { KafkaUnavailableError } from './errors.js';
import { webhookBodySchema, webhookView } from './webhooks.js';

const clientSchema = idSchema;

/**
 * The client a request acts for: whose webhook receives its decisions — its credential's name (`ctx.state.actor`), or
 * `default` on a scope without credentials (the embedded default).
 */
export function clientOf(ctx: Context): string {
  const actor = (ctx.state as RequestState).actor;
  return actor !== undefined && actor !== 'anonymous' && actor.length > 0 ? actor : 'default';
}

/**
 * The async routes: `POST /async/transactions` (authorize scope) and the admin API of webhooks, delivery states and
 * dead letters (admin scope).
 */
export function asyncRoutes(
  router: Router<RequestState>,
  deps: { store: Store; audit: AuditLog; config: Pick<Config, 'BODY_LIMIT_BYTES' | 'ADMIN_DEADLINE_MS' | 'ASYNC_ACCEPT_DEADLINE_MS'> },
  path: AsyncPath,
  authorize: Middleware,
  admin: Middleware,
): void {
  const { config, store, audit } = deps;
  const { metrics } = path;

  router.post('/async/transactions', authorize, async (ctx) => {
    const body = await readJson(ctx, config.BODY_LIMIT_BYTES);
    const parsed = body.ok ? parseTransactionRequest(body.value) : body;
    if (!parsed.ok) {
      // Same answer as `POST /transactions`: 200 with 07, at once, nothing queued.
      metrics.accepted.inc({ outcome: 'invalid' });
      ctx.set('Catraca-Error', parsed.error);
      ctx.set('Catraca-Reason', 'invalid_request');
      ctx.state.answer = { code: '07', reason: 'invalid_request' };
      ctx.status = 200;
      ctx.body = { code: '07' };
      return;
    }
    try {
      const accepted = await path.accept(parsed.value, clientOf(ctx), ctx.state.deadline(config.ASYNC_ACCEPT_DEADLINE_MS));
      metrics.accepted.inc({ outcome: 'accepted' });
      ctx.status = 202;
      ctx.set('Catraca-Transaction-Id', accepted.id);
      ctx.set('Location', `/async/transactions/${encodeURIComponent(accepted.id)}`);
      ctx.body = { id: accepted.id };
    } catch (error) {
      if (!(error instanceof KafkaUnavailableError)) throw error;
      metrics.accepted.inc({ outcome: 'unavailable' });
      ctx.state.log.warn({ err: error }, 'async intake unavailable');
      ctx.set('Catraca-Reason', 'unavailable');
      if (parsed.value.id) ctx.set('Catraca-Transaction-Id', parsed.value.id);
      ctx.state.answer = { code: '07', reason: 'unavailable' };
      ctx.status = 200;
      ctx.body = { code: '07' };
    }
  });

  router.get('/async/transactions/:id', admin, async (ctx) => {
    const id = idSchema.safeParse(ctx.params['id']);
    if (!id.success) throw createError(404, 'no such transaction', { expose: true });
    const delivery = path.delivery(id.data);
    const record = await store.getTransaction(id.data, { signal: ctx.state.deadline(config.ADMIN_DEADLINE_MS) });
    if (!delivery && !record) throw createError(404, 'no decision or delivery known for this transaction yet', { expose: true });
    ctx.body = {
      id: id.data,
      decision: record ? { code: record.code, reason: record.reason } : delivery ? { code: delivery.code } : null,
      delivery: delivery ?? null,
    };
  });

  router.get('/async/webhooks', admin, (ctx) => {
    ctx.body = path.webhooks().map(webhookView);
  });

  router.put('/async/webhooks/:client', admin, async (ctx) => {
    const client = clientSchema.safeParse(ctx.params['client']);
    if (!client.success) throw createError(400, 'client: must be 1-64 characters of A-Z a-z 0-9 . _ : -', { expose: true });
    const body = await readJson(ctx, config.BODY_LIMIT_BYTES);
    if (!body.ok) throw createError(400, body.error, { expose: true });
    const parsed = webhookBodySchema.safeParse(body.value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw createError(400, `${issue.path.join('.') || 'body'}: ${issue.message}`, { expose: true });
    }
    const requestId = ctx.response.get('X-Request-Id');
    const hook = {
      client: client.data,
      url: parsed.data.url,
      secret: parsed.data.secret,
      updatedAt: new Date().toISOString(),
      updatedBy: clientOf(ctx) === 'default' ? `request:${requestId}` : clientOf(ctx),
    };
    const before = path.webhook(hook.client);
    await path.putWebhook(hook);
    // The audit trail of this change (the views carry no secret): who, when, which request, before and after.
    await recordAdminAction(ctx, audit, 'webhook.put', hook.client, before && webhookView(before), webhookView(hook));
    ctx.body = webhookView(hook);
  });

  router.delete('/async/webhooks/:client', admin, async (ctx) => {
    const client = String(ctx.params['client'] ?? '');
    const before = path.webhook(client);
    if (!(await path.deleteWebhook(client))) throw createError(404, 'no webhook for this client', { expose: true });
    await recordAdminAction(ctx, audit, 'webhook.delete', client, before && webhookView(before), null);
    ctx.status = 204;
  });

  router.get('/async/dead-letters', admin, (ctx) => {
    ctx.body = path.deadLetters().map((letter) => ({
      id: letter.decision.id,
      account: letter.decision.account,
      client: letter.decision.client,
      code: letter.decision.code,
      reason: letter.reason,
      attempts: letter.attempts,
      lastError: letter.lastError ?? null,
      parkedAt: new Date(letter.parkedAt).toISOString(),
    }));
  });

  router.post('/async/dead-letters/:id/replay', admin, async (ctx) => {
    const id = String(ctx.params['id'] ?? '');
    if (!(await path.replay(id))) throw createError(404, 'no parked delivery for this transaction', { expose: true });
    await recordAdminAction(ctx, audit, 'dead_letter.replay', id, { state: 'parked' }, { state: 'pending' });
    ctx.status = 202;
    ctx.body = { id, state: 'pending' };
  });
}
