import type { Context } from 'koa';
import getRawBody from 'raw-body';
import createError from 'http-errors';

/** Parsed JSON, or the reason it could not be parsed. */
export type JsonBody = { ok: true; value: unknown } | { ok: false; error: string };

/**
 * Reads the request body as UTF-8 JSON. A body over `limitBytes` throws a 413 (transport-level, SPEC §1); anything
 * else unreadable as JSON is returned as a reason so the route can answer in its own terms.
 */
export async function readJson(ctx: Context, limitBytes: number): Promise<JsonBody> {
  let text: string;
  try {
    text = await getRawBody(ctx.req, {
      limit: limitBytes,
      length: ctx.get('content-length') || null,
      encoding: 'utf8',
    });
  } catch (error) {
    const status = (error as { status?: number }).status;
    if (status === 413) throw createError(413, 'request body too large', { expose: true });
    if (status === 415) return { ok: false, error: 'body must be UTF-8 JSON' };
    throw error;
  }
  if (text.trim() === '') return { ok: false, error: 'body is empty' };
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false, error: 'body is not valid JSON' };
  }
}
