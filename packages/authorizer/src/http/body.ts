import type { Context } from 'koa';
import { parse as parseLossless } from 'lossless-json';
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
    return { ok: true, value: parseJson(text) };
  } catch {
    return { ok: false, error: 'body is not valid JSON' };
  }
}

/** Keys whose JSON numbers are money: they keep their source text, so no amount ever passes through a double. */
const MONEY_KEYS = new Set(['totalAmount', 'amount', 'FOOD', 'MEAL', 'CASH']);

/** A JSON number as written, until its key is known. */
class NumberText {
  constructor(readonly text: string) {}
}

/**
 * `JSON.parse`, except that a number under a money key becomes its exact source text (`100.10`, `1.999999999999999999`)
 * for the decimal parser to judge, instead of the nearest binary double. Other numbers become ordinary numbers. A
 * duplicate key with another value is refused as ambiguous.
 */
export function parseJson(text: string): unknown {
  const raw = parseLossless(text, null, (digits) => new NumberText(digits));
  return materialize(raw, undefined);
}

function materialize(value: unknown, key: string | undefined): unknown {
  if (value instanceof NumberText) return key !== undefined && MONEY_KEYS.has(key) ? value.text : Number(value.text);
  if (Array.isArray(value)) return value.map((item) => materialize(item, undefined));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, materialize(v, k)]));
  }
  return value;
}
