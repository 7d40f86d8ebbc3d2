/** Options of {@link TokenBuckets}. */
export interface TokenBucketOptions {
  /** Tokens added per second to each bucket (the sustained rate). > 0. */
  ratePerSecond: number;
  /** Capacity of each bucket (the burst). >= 1. */
  burst: number;
  /** Most buckets kept; the least recently used is dropped first (it then starts full again). Default 10,000. */
  maxKeys?: number;
}

export const TOKEN_BUCKET_DEFAULTS = Object.freeze({ maxKeys: 10_000 });

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * One token bucket per key (a credential name, a client address), refilled continuously. Bounded in memory: an
 * attacker cycling through keys only evicts the oldest buckets, which is the same as a key being new.
 */
export class TokenBuckets {
  readonly #rate: number;
  readonly #burst: number;
  readonly #maxKeys: number;
  readonly #buckets = new Map<string, Bucket>();

  constructor(options: TokenBucketOptions) {
    if (!(options.ratePerSecond > 0) || !Number.isFinite(options.ratePerSecond)) {
      throw new RangeError(`ratePerSecond must be a finite number > 0, got ${String(options.ratePerSecond)}`);
    }
    if (!(options.burst >= 1) || !Number.isFinite(options.burst)) {
      throw new RangeError(`burst must be a finite number >= 1, got ${String(options.burst)}`);
    }
    this.#rate = options.ratePerSecond / 1000;
    this.#burst = options.burst;
    this.#maxKeys = options.maxKeys ?? TOKEN_BUCKET_DEFAULTS.maxKeys;
  }

  /** Takes one token from `key`'s bucket; false when it is empty (the caller is over its rate). */
  take(key: string, nowMs: number = performance.now()): boolean {
    const bucket = this.#buckets.get(key);
    let tokens: number;
    if (bucket === undefined) {
      tokens = this.#burst;
      if (this.#buckets.size >= this.#maxKeys) {
        const oldest = this.#buckets.keys().next();
        if (!oldest.done) this.#buckets.delete(oldest.value);
      }
    } else {
      tokens = Math.min(this.#burst, bucket.tokens + Math.max(0, nowMs - bucket.at) * this.#rate);
      this.#buckets.delete(key); // re-inserted below: Map order is recency order
    }
    const allowed = tokens >= 1;
    this.#buckets.set(key, { tokens: allowed ? tokens - 1 : tokens, at: nowMs });
    return allowed;
  }

  /** Buckets currently kept; for tests. */
  get size(): number {
    return this.#buckets.size;
  }
}
