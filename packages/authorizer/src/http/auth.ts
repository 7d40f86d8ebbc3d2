import { createHash, timingSafeEqual } from 'node:crypto';
import type { Middleware } from 'koa';
import createError from 'http-errors';

const digest = (token: string): Buffer => createHash('sha256').update(token).digest();

/**
 * Requires `Authorization: Bearer <token>` with one of `tokens`; with no tokens configured every request passes (the
 * embedded default, which binds to loopback). Compares digests in constant time.
 */
export function requireScope(scope: 'authorize' | 'admin', tokens: readonly string[]): Middleware {
  if (tokens.length === 0) return (_ctx, next) => next();
  const accepted = tokens.map(digest);
  return async (ctx, next) => {
    const header = ctx.get('authorization');
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    const presented = match ? digest(match[1]!) : undefined;
    if (!presented || !accepted.some((token) => timingSafeEqual(token, presented))) {
      ctx.set('WWW-Authenticate', `Bearer realm="catraca", scope="${scope}"`);
      throw createError(401, `missing or invalid credentials for scope ${scope}`, { expose: true });
    }
    await next();
  };
}
