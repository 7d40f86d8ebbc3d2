import { Redis, type RedisOptions } from 'ioredis';
import { boundedCall, type BoundedResult } from './bounded-call.js';
import { CircuitBreaker, type BreakerState } from './circuit-breaker.js';
import { InvalidArgumentError } from './errors.js';
import { OutcomeCounter } from './outcome-counter.js';
import { silentLogger } from './types.js';
import type { CacheOutcome, CacheStats, CallOptions, Logger, ResultCache, SetOptions } from './types.js';

export interface RedisBreakerOptions {
  /** Consecutive failed or timed-out calls that open the breaker. Default 5. */
  failureThreshold?: number;
  /** How long the breaker stays open before one probe call is let through (half-open). Default 1000 ms. */
  openMs?: number;
}

export interface RedisCacheOptions {
  /** Connection URL for the client this cache creates, e.g. `redis://10.0.0.5:6379/0`. Default: ioredis's default. */
  url?: string;
  /**
   * Extra ioredis options for the client this cache creates. `enableOfflineQueue` is always `false` (a cache must
   * never queue while disconnected) and `keyPrefix` is refused (use this cache's `keyPrefix`).
   */
  redis?: RedisOptions;
  /**
   * A client you own. The cache uses it as is and never closes it; it should have `enableOfflineQueue: false`.
   * Mutually exclusive with `url` and `redis`.
   */
  client?: Redis;
  /** Prepended to every key. Default `'catraca:'`. */
  keyPrefix?: string;
  /** Default time to live of an entry. Default 24 hours. */
  ttlMs?: number;
  /** Upper bound of each Redis call, on top of the caller's signal. Default 20 ms. */
  callTimeoutMs?: number;
  /** Connect timeout of the created client; also bounds a graceful QUIT in `close()`. Default 1000 ms. */
  connectTimeoutMs?: number;
  /** Cap of the created client's exponential reconnect backoff. Default 1000 ms. */
  reconnectMaxDelayMs?: number;
  breaker?: RedisBreakerOptions;
  logger?: Logger;
}

export const REDIS_CACHE_DEFAULTS = Object.freeze({
  keyPrefix: 'catraca:',
  ttlMs: 24 * 60 * 60 * 1000,
  callTimeoutMs: 20,
  connectTimeoutMs: 1000,
  reconnectMaxDelayMs: 1000,
  breaker: Object.freeze({ failureThreshold: 5, openMs: 1000 }),
});

function positiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new InvalidArgumentError(`${name} must be a positive integer, got ${value}`);
  }
  return value;
}

/**
 * The created client's reconnect backoff: 100 ms, 200 ms, 400 ms … doubling per attempt, capped at `maxDelayMs` (the
 * exponent stops at 16, so a long outage never computes Infinity).
 */
export function reconnectDelayMs(times: number, maxDelayMs: number): number {
  return Math.min(50 * 2 ** Math.min(times, 16), maxDelayMs);
}

type CallResult<T> = BoundedResult<T> | { readonly kind: 'refused' };

/**
 * A {@link ResultCache} on Redis (ioredis). Every call is bounded by `callTimeoutMs` and the caller's signal; a
 * failed or timed-out call is a bypass and counts toward a circuit breaker. While the breaker is open, calls bypass
 * at once without touching Redis; after `openMs` one probe call decides whether it closes again. The client
 * reconnects by itself, so the cache recovers without help when Redis returns.
 */
export class RedisCache implements ResultCache {
  readonly #client: Redis;
  readonly #ownsClient: boolean;
  readonly #keyPrefix: string;
  readonly #ttlMs: number;
  readonly #callTimeoutMs: number;
  readonly #connectTimeoutMs: number;
  readonly #breaker: CircuitBreaker;
  readonly #logger: Logger;
  readonly #counter = new OutcomeCounter();
  readonly #readyWaiters = new Set<(ready: boolean) => void>();
  readonly #onError = (error: Error): void => {
    this.#logger.debug({ err: error.message }, 'redis client error');
  };
  readonly #onReady = (): void => {
    this.#logger.info({}, 'redis client ready');
    this.#settleReadyWaiters(true);
  };
  #closed = false;

  constructor(options: RedisCacheOptions = {}) {
    const d = REDIS_CACHE_DEFAULTS;
    if (typeof (options.keyPrefix ?? d.keyPrefix) !== 'string') {
      throw new InvalidArgumentError('keyPrefix must be a string');
    }
    this.#keyPrefix = options.keyPrefix ?? d.keyPrefix;
    this.#ttlMs = positiveInteger('ttlMs', options.ttlMs ?? d.ttlMs);
    this.#callTimeoutMs = positiveInteger('callTimeoutMs', options.callTimeoutMs ?? d.callTimeoutMs);
    this.#connectTimeoutMs = positiveInteger('connectTimeoutMs', options.connectTimeoutMs ?? d.connectTimeoutMs);
    const reconnectMaxDelayMs = positiveInteger(
      'reconnectMaxDelayMs',
      options.reconnectMaxDelayMs ?? d.reconnectMaxDelayMs,
    );
    const failureThreshold = positiveInteger(
      'breaker.failureThreshold',
      options.breaker?.failureThreshold ?? d.breaker.failureThreshold,
    );
    const openMs = positiveInteger('breaker.openMs', options.breaker?.openMs ?? d.breaker.openMs);
    this.#logger = options.logger ?? silentLogger;

    if (options.client !== undefined) {
      if (options.url !== undefined || options.redis !== undefined) {
        throw new InvalidArgumentError('pass either client, or url/redis options, not both');
      }
      this.#client = options.client;
      this.#ownsClient = false;
      if (this.#client.options.enableOfflineQueue !== false) {
        this.#logger.warn({}, 'injected redis client has enableOfflineQueue on; commands may queue while disconnected');
      }
    } else {
      if (options.redis?.keyPrefix !== undefined) {
        throw new InvalidArgumentError('redis.keyPrefix is not supported; use the keyPrefix option');
      }
      if (options.redis?.enableOfflineQueue === true) {
        throw new InvalidArgumentError('redis.enableOfflineQueue must stay false: a cache never queues offline');
      }
      const redisOptions: RedisOptions = {
        connectTimeout: this.#connectTimeoutMs,
        // A command in flight when the connection drops fails at once instead of being retried after reconnect.
        maxRetriesPerRequest: 0,
        retryStrategy: (times) => reconnectDelayMs(times, reconnectMaxDelayMs),
        ...options.redis,
        enableOfflineQueue: false,
      };
      this.#client = options.url === undefined ? new Redis(redisOptions) : new Redis(options.url, redisOptions);
      this.#ownsClient = true;
    }

    this.#breaker = new CircuitBreaker({
      failureThreshold,
      openMs,
      onTransition: (from, to) => {
        const entry = { from, to };
        if (to === 'open') this.#logger.warn(entry, 'redis cache breaker opened; bypassing redis');
        else if (to === 'closed') this.#logger.info(entry, 'redis cache breaker closed');
        else this.#logger.debug(entry, 'redis cache breaker half-open; probing');
      },
    });
    this.#client.on('error', this.#onError);
    this.#client.on('ready', this.#onReady);
  }

  async get(key: string, options?: CallOptions): Promise<string | undefined> {
    const result = await this.#call('get', (c) => c.get(this.#keyPrefix + key), options?.signal);
    if (result.kind !== 'ok') {
      this.#counter.record('bypass');
      return undefined;
    }
    this.#counter.record(result.value === null ? 'miss' : 'hit');
    return result.value ?? undefined;
  }

  async set(key: string, value: string, options?: SetOptions): Promise<void> {
    const ttlMs = options?.ttlMs === undefined ? this.#ttlMs : positiveInteger('ttlMs', options.ttlMs);
    await this.#call('set', (c) => c.set(this.#keyPrefix + key, value, 'PX', ttlMs), options?.signal);
  }

  async delete(key: string, options?: CallOptions): Promise<void> {
    await this.#call('delete', (c) => c.del(this.#keyPrefix + key), options?.signal);
  }

  stats(): CacheStats {
    return this.#counter.stats();
  }

  onOutcome(listener: (outcome: CacheOutcome) => void): () => void {
    return this.#counter.subscribe(listener);
  }

  /** Usable now: not closed, the client is connected and ready, and the breaker is closed. */
  healthy(): boolean {
    return !this.#closed && this.#client.status === 'ready' && this.#breaker.state() === 'closed';
  }

  /** The breaker's state, for metrics. `half-open` once `openMs` has elapsed and a probe may go (or is in flight). */
  breakerState(): BreakerState {
    return this.#breaker.state();
  }

  /**
   * Resolves `true` once the client is ready (connecting a lazy client), or `false` if the signal fires or the cache
   * is closed first. For start-up and readiness checks; get/set never need it.
   */
  waitUntilReady(options?: CallOptions): Promise<boolean> {
    if (this.#closed) return Promise.resolve(false);
    if (this.#client.status === 'ready') return Promise.resolve(true);
    if (this.#client.status === 'wait') {
      this.#client.connect().catch((error: unknown) => {
        this.#logger.debug({ err: String(error) }, 'redis connect failed; the client keeps retrying');
      });
    }
    const signal = options?.signal;
    if (signal?.aborted === true) return Promise.resolve(false);
    return new Promise((resolve) => {
      const waiter = (ready: boolean): void => {
        signal?.removeEventListener('abort', onAbort);
        this.#readyWaiters.delete(waiter);
        resolve(ready);
      };
      const onAbort = (): void => waiter(false);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#readyWaiters.add(waiter);
    });
  }

  /**
   * Stops using Redis; later calls bypass. A client the cache created gets a QUIT bounded by `connectTimeoutMs`,
   * then a hard disconnect, so this never hangs when Redis is gone or paused. An injected client is left open.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#settleReadyWaiters(false);
    this.#client.off('ready', this.#onReady);
    if (!this.#ownsClient) {
      this.#client.off('error', this.#onError);
      return;
    }
    if (this.#client.status === 'ready') {
      const quit = await boundedCall(() => this.#client.quit(), this.#connectTimeoutMs, undefined);
      if (quit.kind !== 'ok') this.#client.disconnect();
    } else {
      this.#client.disconnect();
    }
    // The error listener stays on our own client: a late socket error must not surface as an unhandled event.
  }

  #settleReadyWaiters(ready: boolean): void {
    for (const waiter of [...this.#readyWaiters]) waiter(ready);
  }

  async #call<T>(op: string, run: (client: Redis) => Promise<T>, signal: AbortSignal | undefined): Promise<CallResult<T>> {
    if (this.#closed || signal?.aborted === true) return { kind: 'refused' };
    const ticket = this.#breaker.tryAcquire();
    if (ticket === 'refused') return { kind: 'refused' };
    const result = await boundedCall(() => run(this.#client), this.#callTimeoutMs, signal);
    switch (result.kind) {
      case 'ok':
        this.#breaker.success(ticket);
        break;
      case 'aborted':
        this.#breaker.release(ticket);
        break;
      case 'timeout':
        this.#breaker.failure(ticket);
        this.#logger.debug({ op, timeoutMs: this.#callTimeoutMs }, 'redis call timed out; bypassing');
        break;
      case 'error':
        this.#breaker.failure(ticket);
        this.#logger.debug({ op, err: String(result.error) }, 'redis call failed; bypassing');
        break;
    }
    return result;
  }
}
