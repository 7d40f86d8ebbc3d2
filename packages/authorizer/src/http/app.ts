import { randomUUID } from 'node:crypto';
import Router from '@koa/router';
import Koa, { type Middleware } from 'koa';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { Metrics } from '../metrics.js';
import type { Authorizer } from '../service/authorizer.js';
import type { RuleBook } from '../service/rule-book.js';
import type { AuditLog } from '../audit/port.js';
import { StoreUnavailableError } from '../errors.js';
import type { Store } from '../store/port.js';
import { auditRoutes } from './audit-trail.js';
import { parseCredentials } from '../security/credentials.js';
import { requireScope } from './auth.js';
import { jsonBodiesOnly, loopbackGuard } from './loopback-guard.js';
import { rateLimit } from './rate-limit.js';
import { requireSignature } from './request-signing.js';
import { adminRoutes } from './routes-admin.js';
import { opsRoutes, type ReadinessCheck } from './routes-ops.js';
import { reversalRoutes } from './routes-reversals.js';
import { transactionRoutes } from './routes-transactions.js';

export interface AppDeps {
  authorizer: Authorizer;
  store: Store;
  audit: AuditLog;
  rules: RuleBook;
  metrics: Metrics;
  logger: Logger;
  readiness: ReadinessCheck;
  /** Routes of other rooms mounted by the runtime (the async path), with the two client scopes' middleware. */
  mounts?: readonly RouteMount[];
  config: Pick<
    Config,
    | 'DEADLINE_MS'
    | 'ADMIN_DEADLINE_MS'
    | 'BODY_LIMIT_BYTES'
    | 'AUTHORIZE_TOKENS'
    | 'ADMIN_TOKENS'
    | 'RATE_LIMIT_AUTHORIZE_RPS'
    | 'RATE_LIMIT_ADMIN_RPS'
    | 'RATE_LIMIT_BURST_SECONDS'
    | 'RATE_LIMIT_ADDRESS_RPS'
    | 'MERCHANT_RULES_MAX'
    | 'HOST'
    | 'REQUEST_SIGNING_SECRETS'
    | 'REQUEST_SIGNING_WINDOW_S'
  >;
}

/** Registers routes on the app's router, behind the given scopes' credential checks. */
export type RouteMount = (router: Router<RequestState>, scopes: { authorize: Middleware; admin: Middleware }) => void;

/** Per-request state shared by the middleware and the routes. */
export interface RequestState {
  log: Logger;
  /** The request's id (`X-Request-Id`, or one made here). */
  requestId?: string;
  /** The caller: its credential's name, or `anonymous` on a scope without credentials. Set by the scope check. */
  actor?: string;
  /** The client scope the route belongs to. Set by the scope check. */
  scope?: 'authorize' | 'admin';
  /** Fires when the request's budget runs out or the client goes away. */
  deadline(budgetMs: number): AbortSignal;
  /** For the metrics: the answer, when the route is `POST /transactions` or `POST /reversals`. */
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
    ctx.state.requestId = requestId;
    ctx.state.log = logger.child({ requestId });
    const gone = new AbortController();
    ctx.res.once('close', () => {
      if (!ctx.res.writableFinished) gone.abort(new Error('client closed the connection'));
    });
    ctx.state.deadline = (budgetMs) => AbortSignal.any([AbortSignal.timeout(budgetMs), gone.signal]);
    try {
      await next();
    } catch (error) {
      // The store down on an admin route (a read before a credit, say) is a passing condition, like SPEC §3's 07 on
      // /transactions: 503, retry with the same id; never a 500 that reads as a server defect.
      const unavailable = error instanceof StoreUnavailableError;
      const status = (error as { status?: number }).status ?? (unavailable ? 503 : 500);
      const expose = (error as { expose?: boolean }).expose ?? unavailable;
      ctx.status = status;
      const message = unavailable ? 'store unavailable' : (error as Error).message;
      ctx.body = { error: status >= 500 ? 'internal_error' : 'request_error', message: expose ? message : undefined };
      if (status >= 500) ctx.state.log.error({ err: error, path: ctx.path }, 'request failed');
      else ctx.state.log.debug({ err: error, path: ctx.path, status }, 'request refused');
    } finally {
      const route = (ctx as { _matchedRoute?: string })._matchedRoute ?? 'unmatched';
      const answer = ctx.state.answer;
      if (ctx.state.actor !== undefined && ctx.state.scope !== undefined) {
        metrics.requestsByActor.inc({ scope: ctx.state.scope, actor: ctx.state.actor, status: String(ctx.status) });
      }
      metrics.httpDuration.observe(
        { method: ctx.method, route, status: String(ctx.status), code: answer?.code ?? '', reason: answer?.reason ?? '' },
        (performance.now() - started) / 1000,
      );
    }
  });

  const { config } = deps;
  const open = config.AUTHORIZE_TOKENS.length === 0 || config.ADMIN_TOKENS.length === 0;
  if (open && isLoopbackAddress(config.HOST)) app.use(loopbackGuard());

  const router = new Router<RequestState>();
  opsRoutes(router, deps);
  // Optional request signing runs first: an unsigned request is refused before anything else looks at it.
  const signed: Middleware =
    config.REQUEST_SIGNING_SECRETS.length === 0
      ? (_ctx, next) => next()
      : requireSignature({
          secrets: config.REQUEST_SIGNING_SECRETS,
          windowSeconds: config.REQUEST_SIGNING_WINDOW_S,
          limitBytes: config.BODY_LIMIT_BYTES,
        });
  const burstSeconds = config.RATE_LIMIT_BURST_SECONDS;
  const perAddress = (scope: 'authorize' | 'admin') =>
    rateLimit({ scope, ratePerSecond: config.RATE_LIMIT_ADDRESS_RPS, burstSeconds, metrics, by: 'address' });
  const authorizeScope = chain(
    perAddress('authorize'),
    signed,
    requireScope('authorize', parseCredentials('authorize', config.AUTHORIZE_TOKENS)),
    rateLimit({ scope: 'authorize', ratePerSecond: config.RATE_LIMIT_AUTHORIZE_RPS, burstSeconds, metrics }),
  );
  const adminScope = chain(
    perAddress('admin'),
    jsonBodiesOnly(),
    signed,
    requireScope('admin', parseCredentials('admin', config.ADMIN_TOKENS)),
    rateLimit({ scope: 'admin', ratePerSecond: config.RATE_LIMIT_ADMIN_RPS, burstSeconds, metrics }),
  );
  transactionRoutes(router, deps, authorizeScope);
  reversalRoutes(router, deps, authorizeScope);
  adminRoutes(router, deps, adminScope);
  auditRoutes(router, deps, adminScope);
  for (const mount of deps.mounts ?? []) mount(router, { authorize: authorizeScope, admin: adminScope });
  app.use(router.routes());
  app.use(router.allowedMethods({ throw: true }));
  return app;
}

/** The middlewares in order, as one (a route takes one scope guard). */
function chain(...middlewares: Middleware[]): Middleware {
  return (ctx, next) => {
    const run = (i: number): Promise<unknown> =>
      i === middlewares.length ? next() : Promise.resolve(middlewares[i]!(ctx, () => run(i + 1)));
    return run(0);
  };
}

/** Whether the listener's address only accepts local connections. */
export function isLoopbackAddress(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127(\.[0-9]{1,3}){3}$/.test(host);
}
