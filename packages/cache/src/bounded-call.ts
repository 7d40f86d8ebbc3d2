/** How a bounded call ended. Never an exception: the cache turns every non-`ok` into a bypass. */
export type BoundedResult<T> =
  | { readonly kind: 'ok'; readonly value: T }
  /** Our own per-call timeout fired first: the backend is slow. */
  | { readonly kind: 'timeout' }
  /** The caller's signal fired first: says nothing about the backend. */
  | { readonly kind: 'aborted' }
  | { readonly kind: 'error'; readonly error: unknown };

/**
 * Runs `start()` and settles with whichever comes first: its result, `timeoutMs`, or `signal`. A call that loses the
 * race is abandoned, not cancelled (ioredis cannot cancel a sent command); its late result or rejection is swallowed.
 */
export function boundedCall<T>(
  start: () => Promise<T>,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<BoundedResult<T>> {
  if (signal?.aborted === true) return Promise.resolve({ kind: 'aborted' });
  return new Promise((resolve) => {
    let settled = false;
    const finish = (result: BoundedResult<T>): void => {
      // Stryker disable next-line ConditionalExpression: equivalent — a second finish clears a cleared timer and resolves a settled promise
      if (settled) return;
      // Stryker disable next-line BooleanLiteral: equivalent — as above, a second finish has no effect
      settled = true;
      clearTimeout(timer);
      // Stryker disable next-line StringLiteral: equivalent — a listener left behind only calls finish again, which has no effect
      signal?.removeEventListener('abort', onAbort);
      resolve(result);
    };
    const onAbort = (): void => finish({ kind: 'aborted' });
    const timer = setTimeout(() => finish({ kind: 'timeout' }), timeoutMs);
    // Stryker disable next-line ObjectLiteral,BooleanLiteral: equivalent — an AbortSignal fires at most once
    signal?.addEventListener('abort', onAbort, { once: true });
    let pending: Promise<T>;
    try {
      pending = start();
    } catch (error) {
      finish({ kind: 'error', error });
      return;
    }
    pending.then(
      (value) => finish({ kind: 'ok', value }),
      (error: unknown) => finish({ kind: 'error', error }),
    );
  });
}
