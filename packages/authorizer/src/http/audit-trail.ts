import type Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import createError from 'http-errors';
import type { AuditAction, AuditLog } from '../audit/port.js';
import type { AppDeps, RequestState } from './app.js';
import { historyQuerySchema } from './schemas.js';

/**
 * Records one admin action (SPEC §4): a log line at info, always, and an entry in the store's audit trail. The action
 * has happened by then; a failed audit write does not undo it, and is logged at error with the whole entry so that
 * the log still holds it.
 */
export async function recordAdminAction(
  ctx: Context,
  audit: AuditLog,
  action: AuditAction,
  target: string,
  before: unknown,
  after: unknown,
): Promise<void> {
  const state = ctx.state as RequestState;
  const entry = {
    at: new Date().toISOString(),
    actor: state.actor ?? 'anonymous',
    requestId: state.requestId ?? '',
    action,
    target,
    before: before ?? null,
    after: after ?? null,
  };
  state.log.info({ audit: entry }, 'admin action');
  try {
    await audit.append(entry, { signal: AbortSignal.timeout(5_000) });
  } catch (error) {
    state.log.error({ err: error, audit: entry }, 'audit trail write failed; the action stands');
  }
}

/** `GET /audit` (admin scope): the audit trail, newest first, with cursor pagination like account history. */
export function auditRoutes(router: Router<RequestState>, deps: AppDeps, auth: Middleware): void {
  router.get('/audit', auth, async (ctx) => {
    const query = historyQuerySchema.safeParse(ctx.query);
    if (!query.success) throw createError(400, query.error.issues[0]!.message, { expose: true });
    const page = await deps.audit.list(
      query.data.cursor === undefined ? { limit: query.data.limit } : { limit: query.data.limit, before: query.data.cursor },
      { signal: ctx.state.deadline(deps.config.ADMIN_DEADLINE_MS) },
    );
    ctx.body = {
      items: page.items,
      ...(page.nextBefore === undefined ? {} : { nextCursor: String(page.nextBefore) }),
    };
  });
}
