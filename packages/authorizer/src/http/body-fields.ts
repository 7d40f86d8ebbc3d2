import type { z } from 'zod';
import type { ParseResult } from '../domain/index.js';

/**
 * The body of a route that answers `07 invalid_request` rather than 400 (purchases, reversals): a JSON object of
 * `schema`'s shape, or the first thing wrong with it.
 */
export function bodyShape<S extends z.ZodType>(schema: S, body: unknown): ParseResult<z.output<S>> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { ok: false, error: 'body must be a JSON object' };
  }
  const shape = schema.safeParse(body);
  if (!shape.success) {
    const issue = shape.error.issues[0]!;
    return { ok: false, error: `${issue.path.join('.') || 'body'}: ${issue.message}` };
  }
  return { ok: true, value: shape.data };
}

/** The value of a field that may be spelled two ways; both spellings must agree when both are sent. */
export function either<T>(name: string, a: T | undefined, alias: string, b: T | undefined): ParseResult<T | undefined> {
  if (a !== undefined && b !== undefined && a !== b) {
    return { ok: false, error: `${name} and ${alias} differ; send one of them` };
  }
  return { ok: true, value: a ?? b };
}
