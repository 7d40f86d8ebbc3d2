import { randomUUID } from 'node:crypto';
import Router from '@koa/router';
import Koa from 'koa';
import type { Logger } from 'pino';
import type { Middleware } from 'koa';
import type { Config } from '../config.js';
import type { Metrics } from '../metrics.js';
import type { Authorizer } from '../service/authorizer.js';
import type { RuleBook } from '../service/rule-book.js';
import type { Store } from '../store/port.js';
import { requireScope } from './auth.js';
import { adminRoutes } from './routes-admin.js';
import { opsRoutes, type ReadinessCheck } from './routes-ops.js';
import { transactionRoutes } from './routes-transactions.js';

export interface AppDeps {
  authorizer: Authorizer;
  store: Store;
  rules: RuleBook;
  metrics: Metrics;
  logger: Logger;
  readiness: ReadinessCheck;
  /** Routes of other rooms mounted by the runtime (the async path), with the two client scopes' middleware. */
  mounts?: readonly RouteMount[];
  config: Pick<
    Config,
    'DEADLINE_MS' | 'ADMIN_DEADLINE_MS' | 'BODY_LIMIT_BYTES' | 'AUTHORIZE_TOKENS' | 'ADMIN_TOKENS'
  >;
}

/** Registers routes on the app's router, behind the given scopes' credential checks. */
export type RouteMount = (router: Router<RequestState>, scopes: { authorize: Middleware; admin: Middleware }) => void;

/** Per-request state shared by the middleware and the routes. */
export interface RequestState {
  log: Logger;
  /** Fires when the request's budget runs out or the client goes away. */
  deadline(budgetMs: number): AbortSignal;
  /** For the metrics: the authorization answer, when the route is `POST /transactions`. */
  answer?: { code: string; reason: string };
}

/** Builds the Koa application. Tests drive `app.callback()` without opening a port. */
export function createApp(deps: AppDeps): Koa<RequestState> {
  const app = new Koa<RequestState>({ proxy: false });
  const { metrics, logger } = deps;
  app.silent = true;

  // The single error boundary: everything thrown below ends here. `POST /transactions` maps its own failures to 07
  // before they get here; what reaches this point is transport-level (401, 413) or an admin-route error.
  app.use(async (ctx, next) => {
    const started = performance.now();
    const requestId = (ctx.get('x-request-id') || randomUUID()).slice(0, 128);
    ctx.set('X-Request-Id', requestId);
    ctx.state.log = logger.child({ requestId });
    const gone = new AbortController();
    ctx.res.once('close', () => {
      if (!ctx.res.writableFinished) gone.abort(new Error('client closed the connection'));
    });
    ctx.state.deadline = (budgetMs) => AbortSignal.any([AbortSignal.timeout(budgetMs), gone.signal]);
    try {
      await next();
    } catch (error) {
      const status = (error as { status?: number }).status ?? 500;
      const expose = (error as { expose?: boolean }).expose ?? false;
      ctx.status = status;
      ctx.body = { error: status >= 500 ? 'internal_error' : 'request_error', message: expose ? (error as Error).message : undefined };
      if (status >= 500) ctx.state.log.error({ err: error, path: ctx.path }, 'request failed');
      else ctx.state.log.debug({ err: error, path: ctx.path, status }, 'request refused');
    } finally {
      const route = (ctx as { _matchedRoute?: string })._matchedRoute ?? 'unmatched';
      const answer = ctx.state.answer;
      metrics.httpDuration.observe(
        { method: ctx.method, route, status: String(ctx.status), code: answer?.code ?? '', reason: answer?.reason ?? '' },
        (performance.now() - started) / 1000,
      );
    }
  });

  const router = new Router<RequestState>();
  opsRoutes(router, deps);
  transactionRoutes(router, deps, requireScope('authorize', deps.config.AUTHORIZE_TOKENS));
  adminRoutes(router, deps, requireScope('admin', deps.config.ADMIN_TOKENS));
  for (const mount of deps.mounts ?? []) {
    mount(router, {
      authorize: requireScope('authorize', deps.config.AUTHORIZE_TOKENS),
      admin: requireScope('admin', deps.config.ADMIN_TOKENS),
    });
  }
  app.use(router.routes());
  app.use(router.allowedMethods({ throw: true }));
  return app;
}
