export type CacheErrorCode = 'INVALID_ARGUMENT';

/** Base class of errors thrown by `@catraca/cache`. Only misuse throws: backend trouble is a bypass, not an error. */
export abstract class CacheError extends Error {
  abstract readonly code: CacheErrorCode;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** An option or argument is invalid; thrown at construction or call time. */
export class InvalidArgumentError extends CacheError {
  readonly code = 'INVALID_ARGUMENT' as const;
}
