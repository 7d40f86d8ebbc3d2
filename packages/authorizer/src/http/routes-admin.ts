import type Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import createError from 'http-errors';
import type { z } from 'zod';
import { parseAmount, parseRuleMatch } from '../domain/index.js';
import { CATEGORIES, type Balances } from '../domain/types.js';
import { AccountExistsError } from '../errors.js';
import type { AppDeps, RequestState } from './app.js';
import { recordAdminAction } from './audit-trail.js';
import { readJson } from './body.js';
import { createAccountSchema, creditSchema, historyQuerySchema, idSchema, merchantRuleSchema } from './schemas.js';
import { accountView, transactionView } from './views.js';

function invalid(message: string): never {
  throw createError(400, message, { expose: true });
}

async function parseBody<S extends z.ZodType>(ctx: Context, schema: S, limitBytes: number): Promise<z.output<S>> {
  const body = await readJson(ctx, limitBytes);
  if (!body.ok) invalid(body.error);
  const parsed = schema.safeParse(body.value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    invalid(`${issue.path.join('.') || 'body'}: ${issue.message}`);
  }
  return parsed.data;
}

function amountOrInvalid(field: string, input: unknown, allowZero: boolean): number {
  const amount = parseAmount(input, { allowZero });
  if (!amount.ok) invalid(`${field}: ${amount.error}`);
  return amount.value;
}

function accountIdParam(ctx: Context): string {
  const id = idSchema.safeParse(ctx.params['id']);
  if (!id.success) throw createError(404, 'no such account', { expose: true });
  return id.data;
}

/** Admin scope: accounts, credits, history and merchant rules (SPEC §2.6, §4). */
export function adminRoutes(router: Router<RequestState>, deps: AppDeps, auth: Middleware): void {
  const { store, audit, authorizer, rules, metrics, config } = deps;
  const limit = config.BODY_LIMIT_BYTES;

  router.post('/accounts', auth, async (ctx) => {
    const body = await parseBody(ctx, createAccountSchema, limit);
    const balances = Object.fromEntries(
      CATEGORIES.map((c) => [c, amountOrInvalid(`balances.${c}`, body.balances[c] ?? 0, true)]),
    ) as Balances;
    try {
      const account = await store.createAccount(body.id, balances, { signal: ctx.state.deadline(config.ADMIN_DEADLINE_MS) });
      ctx.status = 201;
      ctx.set('Location', `/accounts/${encodeURIComponent(account.id)}`);
      ctx.body = accountView(account);
      await recordAdminAction(ctx, audit, 'account.create', account.id, null, accountView(account));
    } catch (error) {
      if (error instanceof AccountExistsError) throw createError(409, error.message, { expose: true });
      throw error;
    }
  });

  router.get('/accounts/:id', auth, async (ctx) => {
    const account = await store.getAccount(accountIdParam(ctx), { signal: ctx.state.deadline(config.ADMIN_DEADLINE_MS) });
    if (!account) throw createError(404, 'no such account', { expose: true });
    ctx.body = accountView(account);
  });

  router.post('/accounts/:id/credits', auth, async (ctx) => {
    const accountId = accountIdParam(ctx);
    const body = await parseBody(ctx, creditSchema, limit);
    const amount = amountOrInvalid('amount', body.amount, false);
    const before = await store.getAccount(accountId, { signal: ctx.state.deadline(config.ADMIN_DEADLINE_MS) });
    const outcome = await authorizer.credit(
      { id: body.id, accountId, category: body.category, amount },
      ctx.state.deadline(config.ADMIN_DEADLINE_MS),
    );
    metrics.decisions.inc({ kind: 'credit', code: outcome.code, reason: outcome.reason });
    ctx.set('Catraca-Reason', outcome.reason);
    ctx.set('Catraca-Transaction-Id', outcome.transactionId);
    if (outcome.record) {
      ctx.status = outcome.replayed ? 200 : 201;
      ctx.body = transactionView(outcome.record);
      if (!outcome.replayed) {
        const after = await store.getAccount(accountId).catch(() => undefined);
        await recordAdminAction(ctx, audit, 'account.credit', accountId, before && accountView(before), {
          ...(after ? accountView(after) : {}),
          transaction: transactionView(outcome.record),
        });
      }
      return;
    }
    if (outcome.code !== '07') {
      // A replay answered from the result cache: read the record for the body.
      const record = await store.getTransaction(outcome.transactionId);
      if (record) {
        ctx.body = transactionView(record);
        return;
      }
    }
    const status = { unknown_account: 404, id_conflict: 409 }[outcome.reason as string] ?? 503;
    throw createError(status, outcome.reason, { expose: true });
  });

  router.get('/accounts/:id/transactions', auth, async (ctx) => {
    const accountId = accountIdParam(ctx);
    const query = historyQuerySchema.safeParse(ctx.query);
    if (!query.success) invalid(query.error.issues[0]!.message);
    const signal = ctx.state.deadline(config.ADMIN_DEADLINE_MS);
    const account = await store.getAccount(accountId, { signal });
    if (!account) throw createError(404, 'no such account', { expose: true });
    const page = await store.listTransactions(
      accountId,
      query.data.cursor === undefined ? { limit: query.data.limit } : { limit: query.data.limit, before: query.data.cursor },
      { signal },
    );
    ctx.body = {
      items: page.items.map(transactionView),
      ...(page.nextBefore === undefined ? {} : { nextCursor: String(page.nextBefore) }),
    };
  });

  router.get('/merchant-rules', auth, async (ctx) => {
    ctx.body = [...rules.rules].sort((a, b) => a.match.localeCompare(b.match));
  });

  router.put('/merchant-rules', auth, async (ctx) => {
    const body = await parseBody(ctx, merchantRuleSchema, limit);
    const match = parseRuleMatch(body.match);
    if (!match.ok) invalid(`match: ${match.error}`);
    const rule = { match: match.value, category: body.category };
    // A cap: every purchase scans the rules, so their number bounds the cost of each decision.
    if (rules.rules.length >= config.MERCHANT_RULES_MAX && !rules.rules.some((r) => r.match === rule.match)) {
      throw createError(409, `at most ${String(config.MERCHANT_RULES_MAX)} merchant rules (MERCHANT_RULES_MAX)`, { expose: true });
    }
    const previous = rules.rules.find((r) => r.match === rule.match);
    await rules.put(rule);
    ctx.body = rule;
    await recordAdminAction(ctx, audit, 'merchant_rule.put', rule.match, previous ?? null, rule);
  });

  router.delete('/merchant-rules/:match', auth, async (ctx) => {
    const match = parseRuleMatch(ctx.params['match']);
    const previous = match.ok ? rules.rules.find((r) => r.match === match.value) : undefined;
    if (!match.ok || !(await rules.delete(match.value))) throw createError(404, 'no such rule', { expose: true });
    ctx.status = 204;
    await recordAdminAction(ctx, audit, 'merchant_rule.delete', match.value, previous ?? { match: match.value }, null);
  });
}
