import type { Middleware } from 'koa';
import createError from 'http-errors';
import type { Metrics } from '../metrics.js';
import { TokenBuckets } from '../security/token-bucket.js';
import { ANONYMOUS } from './auth.js';

export interface RateLimitOptions {
  scope: 'authorize' | 'admin';
  /** Sustained requests per second per caller; 0 turns the limit off. */
  ratePerSecond: number;
  /** Seconds of the sustained rate a caller may spend at once (the bucket's size). */
  burstSeconds: number;
  metrics: Metrics;
  /**
   * `caller` (default): the credential's name, or the address on a scope without credentials — runs after the scope
   * check. `address`: the client address whoever it claims to be — runs before the scope check, so that a flood of
   * unauthenticated or unsigned requests from one address is cut off before it costs a digest or a body read.
   */
  by?: 'caller' | 'address';
}

/**
 * Per-caller token buckets (SPEC §6): the caller is its credential's name, or its address on a scope without
 * credentials. Runs after the scope check (which names the caller). Over the limit, an authorization (`POST` on the
 * authorize scope) is answered like every other refusal on that route — HTTP 200 `{"code":"07"}` with reason
 * `rate_limited` — and anything else gets 429 with `Retry-After`. Nothing is processed either way.
 */
export function rateLimit(options: RateLimitOptions): Middleware {
  if (options.ratePerSecond <= 0) return (_ctx, next) => next();
  const buckets = new TokenBuckets({
    ratePerSecond: options.ratePerSecond,
    burst: Math.max(1, options.ratePerSecond * options.burstSeconds),
  });
  const retryAfter = String(Math.max(1, Math.ceil(1 / options.ratePerSecond)));
  return async (ctx, next) => {
    const actor = options.by === 'address' ? ANONYMOUS : ((ctx.state as { actor?: string }).actor ?? ANONYMOUS);
    const anonymous = actor === ANONYMOUS;
    if (buckets.take(anonymous ? `address:${ctx.ip}` : `credential:${actor}`)) {
      await next();
      return;
    }
    options.metrics.rateLimited.inc({ scope: options.scope, kind: anonymous ? 'address' : 'credential' });
    if (options.scope === 'authorize' && ctx.method === 'POST') {
      options.metrics.decisions.inc({ kind: 'debit', code: '07', reason: 'rate_limited' });
      (ctx.state as { answer?: { code: string; reason: string } }).answer = { code: '07', reason: 'rate_limited' };
      ctx.status = 200;
      ctx.set('Catraca-Reason', 'rate_limited');
      ctx.set('Retry-After', retryAfter);
      ctx.body = { code: '07' };
      return;
    }
    ctx.set('Retry-After', retryAfter);
    throw createError(429, 'rate limit exceeded', { expose: true });
  };
}
