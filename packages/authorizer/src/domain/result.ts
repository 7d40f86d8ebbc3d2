/**
 * The outcome of parsing an untrusted value: the parsed value, or a short human reason it was refused.
 * Parsers return this instead of throwing because an invalid request is an answer (`07`), not a fault.
 */
export type ParseResult<T> = { ok: true; value: T } | { ok: false; error: string };

/** Builds a successful {@link ParseResult}. */
export function ok<T>(value: T): ParseResult<T> {
  return { ok: true, value };
}

/** Builds a failed {@link ParseResult} with a short human reason. */
export function fail<T = never>(error: string): ParseResult<T> {
  return { ok: false, error };
}
