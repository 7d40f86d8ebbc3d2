import { StoreUnavailableError } from '../../errors.js';

/**
 * Settles like `work` unless `signal` fires first; then rejects at once with {@link StoreUnavailableError}. The
 * driver only takes a signal on reads and commands (writes have none, and driver 7's `timeoutMS` has no effect), so
 * every call is raced against its signal here: the caller never waits past its bound, whatever the socket does.
 * A late rejection of `work` is swallowed (it has no one left to tell).
 */
export function bounded<T>(work: Promise<T>, signal: AbortSignal, what: string): Promise<T> {
  work.catch(() => {});
  if (signal.aborted) return Promise.reject(abandoned(what, signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(abandoned(what, signal));
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

function abandoned(what: string, signal: AbortSignal): StoreUnavailableError {
  return new StoreUnavailableError(`mongodb ${what} abandoned: deadline reached or call aborted`, {
    cause: signal.reason,
  });
}

/** The caller's signal, if any, bounded by `timeoutMs` as well. */
export function withTimeout(signal: AbortSignal | undefined, timeoutMs: number): AbortSignal {
  const timeout = AbortSignal.timeout(timeoutMs);
  return signal === undefined ? timeout : AbortSignal.any([signal, timeout]);
}
