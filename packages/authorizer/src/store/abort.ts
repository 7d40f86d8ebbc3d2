import { StoreUnavailableError } from '../errors.js';

/** Throws {@link StoreUnavailableError} when the call was abandoned before it started. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) {
    throw new StoreUnavailableError('store call aborted', { cause: signal.reason });
  }
}
