import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Middleware } from 'koa';
import createError from 'http-errors';
import { readBody } from './body.js';

export interface RequestSigningOptions {
  /** Shared secrets; a signature made with any of them is accepted (two during a rotation). */
  secrets: readonly string[];
  /** How far a request's timestamp may be from the server's clock, in seconds, either way. */
  windowSeconds: number;
  /** Body size limit (the body is read here, to be verified, and handed to the route). */
  limitBytes: number;
  /** Most signatures remembered to refuse an exact replay inside the window. Default 100,000. */
  maxRemembered?: number;
  now?: () => number;
}

export const TIMESTAMP_HEADER = 'catraca-timestamp';
export const SIGNATURE_HEADER = 'catraca-signature';

/**
 * The signed text: `<timestamp>.<body>`, the body as the raw bytes sent (issuer-webhook style). Exported for clients
 * and tests.
 */
export function signRequest(secret: string, timestamp: string, body: Buffer | string): string {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex');
}

/**
 * Optional request signing (SPEC §6): every request on the client scopes carries `Catraca-Timestamp` (Unix seconds)
 * and `Catraca-Signature: v1=<hex HMAC-SHA256 of "<timestamp>.<body>">`. The timestamp must be inside the window and
 * the signature is compared in constant time; an exact replay of a signature inside the window is refused too (per
 * process). Anything else is 401 and nothing is processed.
 */
export function requireSignature(options: RequestSigningOptions): Middleware {
  const now = options.now ?? (() => Date.now() / 1000);
  const maxRemembered = options.maxRemembered ?? 100_000;
  const seen = new Map<string, number>(); // signature -> timestamp
  const refuse = (why: string): never => {
    throw createError(401, `request signature: ${why}`, { expose: true });
  };
  return async (ctx, next) => {
    const timestamp = ctx.get(TIMESTAMP_HEADER);
    const header = ctx.get(SIGNATURE_HEADER);
    if (!/^[0-9]{1,12}$/.test(timestamp)) refuse(`missing or invalid ${TIMESTAMP_HEADER}`);
    const skew = Math.abs(now() - Number(timestamp));
    if (skew > options.windowSeconds) refuse('timestamp outside the replay window');
    const presented = header
      .split(',')
      .map((part) => /^\s*v1=([0-9a-f]{64})\s*$/.exec(part)?.[1])
      .filter((hex): hex is string => hex !== undefined);
    if (presented.length === 0) refuse(`missing or invalid ${SIGNATURE_HEADER} (v1=<hex>)`);
    const body = await readBody(ctx, options.limitBytes);
    let valid: string | undefined;
    for (const secret of options.secrets) {
      const expected = Buffer.from(signRequest(secret, timestamp, body), 'hex');
      for (const hex of presented) {
        // Every comparison runs: the time taken does not say which secret or which signature matched.
        if (timingSafeEqual(expected, Buffer.from(hex, 'hex')) && valid === undefined) valid = hex;
      }
    }
    if (valid === undefined) refuse('signature does not match');
    if (seen.has(valid!)) refuse('replayed signature');
    if (seen.size >= maxRemembered) {
      const horizon = now() - options.windowSeconds;
      for (const [signature, at] of seen) if (at < horizon) seen.delete(signature);
      if (seen.size >= maxRemembered) seen.delete(seen.keys().next().value!);
    }
    seen.set(valid!, Number(timestamp));
    await next();
  };
}
