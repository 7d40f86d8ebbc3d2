import type { Middleware } from 'koa';
import createError from 'http-errors';

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);

/** The host part of a `Host` header or of an origin's authority, lower-cased, without the port. */
function hostOf(authority: string): string {
  const text = authority.trim().toLowerCase();
  if (text.startsWith('[')) {
    const end = text.indexOf(']');
    return end < 0 ? text : text.slice(0, end + 1);
  }
  const colon = text.indexOf(':');
  return colon < 0 ? text : text.slice(0, colon);
}

function isLoopbackName(host: string): boolean {
  return LOOPBACK_NAMES.has(host) || host.endsWith('.localhost') || /^127(\.[0-9]{1,3}){3}$/.test(host);
}

/**
 * For the embedded default — on loopback with no client credentials, where every local process is trusted — refuses
 * what a web page could make a browser send (SPEC §6): a `Host` that is not a loopback name (DNS rebinding: a
 * hostile name resolving to 127.0.0.1), and an `Origin` that is not a loopback origin (a cross-site request).
 */
export function loopbackGuard(): Middleware {
  return async (ctx, next) => {
    const host = ctx.get('host');
    if (!host || !isLoopbackName(hostOf(host))) {
      throw createError(403, 'Host must be a loopback name (localhost, 127.0.0.1, [::1]) on an unauthenticated loopback server', {
        expose: true,
      });
    }
    const origin = ctx.get('origin');
    if (origin && origin !== 'null') {
      let originHost: string;
      try {
        originHost = hostOf(new URL(origin).host);
      } catch {
        originHost = '';
      }
      if (!isLoopbackName(originHost)) throw createError(403, 'cross-origin requests are refused', { expose: true });
    } else if (origin === 'null') {
      throw createError(403, 'cross-origin requests are refused', { expose: true });
    }
    await next();
  };
}

/** Admin bodies must be JSON (SPEC §6): a form or `text/plain` post is what a cross-site page can send without CORS. */
export function jsonBodiesOnly(): Middleware {
  return async (ctx, next) => {
    if (ctx.is('application/json', '+json') === false) {
      throw createError(415, 'request body must be application/json', { expose: true });
    }
    await next();
  };
}
