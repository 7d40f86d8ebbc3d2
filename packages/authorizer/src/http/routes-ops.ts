import type Router from '@koa/router';
import type { AppDeps, RequestState } from './app.js';
import { openApiDocument } from './openapi.js';

export interface ReadinessReport {
  ready: boolean;
  checks: Record<string, string>;
}

export type ReadinessCheck = () => Promise<ReadinessReport>;

/** Liveness, readiness, metrics and the OpenAPI document; unauthenticated, for probes and scrapers. */
export function opsRoutes(router: Router<RequestState>, deps: AppDeps): void {
  let document: object | undefined;

  router.get('/healthz', (ctx) => {
    ctx.body = { status: 'alive' };
  });

  router.get('/readyz', async (ctx) => {
    const report = await deps.readiness();
    ctx.status = report.ready ? 200 : 503;
    ctx.body = { status: report.ready ? 'ready' : 'not_ready', checks: report.checks };
  });

  router.get('/metrics', async (ctx) => {
    ctx.type = deps.metrics.registry.contentType;
    ctx.body = await deps.metrics.registry.metrics();
  });

  router.get('/openapi.json', (ctx) => {
    document ??= openApiDocument();
    ctx.body = document;
  });
}
