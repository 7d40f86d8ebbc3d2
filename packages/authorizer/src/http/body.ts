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
  const bytes = await readBody(ctx, limitBytes);
  let text: string;
  try {
    // Fatal: invalid UTF-8 is refused, not replaced by U+FFFD (which would store a merchant other than the one sent).
    text = UTF8.decode(bytes);
  } catch {
    return { ok: false, error: 'body must be UTF-8 JSON' };
  }
  if (text.trim() === '') return { ok: false, error: 'body is empty' };
  try {
    return { ok: true, value: parseJson(text) };
  } catch {
    return { ok: false, error: 'body is not valid JSON' };
  }
}

/**
 * Reads the raw request body once (a later call returns the same bytes: a signature check may read it before the
 * route). Over `limitBytes` it throws a 413 and asks for the connection to be closed.
 */
export async function readBody(ctx: Context, limitBytes: number): Promise<Buffer> {
  const state = ctx.state as { rawBody?: Buffer };
  if (state.rawBody !== undefined) return state.rawBody;
  try {
    state.rawBody = await getRawBody(ctx.req, { limit: limitBytes, length: ctx.get('content-length') || null });
    return state.rawBody;
  } catch (error) {
    const status = (error as { status?: number }).status;
    if (status === 413) {
      // Answer, then close: the client may still be sending a body that will never be read.
      ctx.set('Connection', 'close');
      throw createError(413, 'request body too large', { expose: true });
    }
    throw error;
  }
}

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

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

/** Keys whose JSON numbers must be integers as written: anything else is kept as text, for the field's parser to refuse. */
const INTEGER_KEYS = new Set(['mcc']);

/** A JSON integer as written: no fraction, no exponent (so `5411.0`, `5.411e3` and `4e-400` are not integers). */
const INTEGER_TEXT = /^-?(0|[1-9][0-9]*)$/;

function materialize(value: unknown, key: string | undefined): unknown {
  if (value instanceof NumberText) {
    if (key !== undefined && MONEY_KEYS.has(key)) return value.text;
    // `5810.9999999999999999` is the double 5811: judged on its source text, it is not an MCC.
    if (key !== undefined && INTEGER_KEYS.has(key) && !INTEGER_TEXT.test(value.text)) return value.text;
    return Number(value.text);
  }
  if (Array.isArray(value)) return value.map((item) => materialize(item, undefined));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, materialize(v, k)]));
  }
  return value;
}
