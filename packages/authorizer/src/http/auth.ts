import { createHash, timingSafeEqual } from 'node:crypto';
import type { Middleware } from 'koa';
import createError from 'http-errors';
import type { Credential } from '../security/credentials.js';

const digest = (token: string): Buffer => createHash('sha256').update(token).digest();

/** Who acts when a scope has no credentials (the embedded default, on loopback). */
export const ANONYMOUS = 'anonymous';

/**
 * Requires `Authorization: Bearer <secret>` with one of `credentials`, and names the caller in `ctx.state.actor` (and
 * its logger) for the logs, metrics and audit trail. With no credentials configured every request passes as
 * {@link ANONYMOUS} (the embedded default, which binds to loopback). Compares digests in constant time, against every
 * credential (no early exit that would tell which one matched by timing).
 */
export function requireScope(scope: 'authorize' | 'admin', credentials: readonly Credential[]): Middleware {
  if (credentials.length === 0) {
    return (ctx, next) => {
      ctx.state.scope = scope;
      ctx.state.actor = ANONYMOUS;
      return next();
    };
  }
  const accepted = credentials.map((c) => ({ name: c.name, digest: digest(c.secret) }));
  return async (ctx, next) => {
    const header = ctx.get('authorization');
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    const presented = match ? digest(match[1]!) : undefined;
    let actor: string | undefined;
    if (presented) {
      for (const candidate of accepted) {
        if (timingSafeEqual(candidate.digest, presented) && actor === undefined) actor = candidate.name;
      }
    }
    if (actor === undefined) {
      ctx.set('WWW-Authenticate', `Bearer realm="catraca", scope="${scope}"`);
      throw createError(401, `missing or invalid credentials for scope ${scope}`, { expose: true });
    }
    ctx.state.scope = scope;
    ctx.state.actor = actor;
    ctx.state.log = ctx.state.log.child({ actor });
    await next();
  };
}
