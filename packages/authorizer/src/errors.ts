export type CatracaErrorCode = 'ACCOUNT_EXISTS' | 'STORE_UNAVAILABLE' | 'INVALID_DOCUMENT' | 'CONFIG_INVALID';

/** Base class of the authorizer's errors. Declines are values, not errors: these mean no decision could be made. */
export abstract class CatracaError extends Error {
  abstract readonly code: CatracaErrorCode;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class AccountExistsError extends CatracaError {
  readonly code = 'ACCOUNT_EXISTS' as const;
  constructor(readonly accountId: string) {
    super(`account "${accountId}" already exists`);
  }
}

/**
 * The store could not answer (down, timed out, aborted). Nothing was half-applied. `outcomeUnknown` says that a commit
 * was sent and its reply lost: it was applied whole or not at all, and a retry with the same ids tells which.
 */
export class StoreUnavailableError extends CatracaError {
  readonly code = 'STORE_UNAVAILABLE' as const;
  readonly outcomeUnknown: boolean;
  constructor(message = 'store unavailable', options?: { cause?: unknown; outcomeUnknown?: boolean }) {
    super(message, options);
    this.outcomeUnknown = options?.outcomeUnknown ?? false;
  }
}

/** A document read back from the store does not have the expected shape. */
export class InvalidDocumentError extends CatracaError {
  readonly code = 'INVALID_DOCUMENT' as const;
}

/** The configuration (environment) is invalid; the process must not start. */
export class ConfigError extends CatracaError {
  readonly code = 'CONFIG_INVALID' as const;
}
