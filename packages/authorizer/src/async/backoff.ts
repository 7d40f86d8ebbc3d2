/** Exponential backoff with full jitter. */
export interface BackoffOptions {
  /** First delay's upper bound. */
  baseMs: number;
  /** Largest delay. */
  maxMs: number;
}

/**
 * The delay before retry number `attempt` (1 for the first retry): a uniform draw in [ceiling/2, ceiling] where
 * ceiling = min(maxMs, baseMs · 2^(attempt-1)). Half the ceiling is kept so that retries still spread out when many
 * deliveries fail together (a receiver that is down), and never collapse to zero.
 */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  const exponent = Math.min(Math.max(attempt - 1, 0), 30);
  const ceiling = Math.min(options.maxMs, options.baseMs * 2 ** exponent);
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}
