import type { Redis } from 'ioredis';
import { InvalidArgumentError } from '../errors.js';
import { silentLogger, type Logger } from '../types.js';

/**
 * Options of {@link RedisLockManager}. Give exactly one of `url` and `client`. Every optional field has its default in
 * {@link REDIS_LOCK_DEFAULTS}.
 */
export interface RedisLockManagerOptions {
  /**
   * `redis://[[user]:password@]host:port[/db]` (or `rediss://`). The manager makes its own ioredis client (no offline
   * queue, no automatic resend of commands cut by a disconnect) and quits it on `close()`.
   */
  url?: string;
  /**
   * An ioredis client owned by the caller: the manager uses it but never quits it. Create it with
   * `enableOfflineQueue: false` and `maxRetriesPerRequest: 0`; the manager bounds every command itself either way.
   */
  client?: Redis;
  /** Prefix of every key the manager writes: `<prefix><key>` (the lock) and `<prefix>fence:<key>` (the counter). */
  keyPrefix?: string;
  /**
   * Lease of a held lock, renewed every `leaseMs / 3` while held. The holder's `signal` fires when no renewal has
   * succeeded for `2/3 · leaseMs`, before the lease can expire in Redis. Default 5 000 ms.
   */
  leaseMs?: number;
  /** Shortest pause between two attempts on a busy key. Default 2 ms. */
  retryMinMs?: number;
  /** Longest pause between two attempts on a busy key (the pause doubles from `retryMinMs`, with jitter). Default 10 ms. */
  retryMaxMs?: number;
  /**
   * Upper bound of one Redis command, including the wait for a ready connection. A command that exceeds it fails with
   * `CoordinationUnavailableError`. Default 1 000 ms.
   */
  commandTimeoutMs?: number;
  /** Structured logger. Default: silent. */
  logger?: Logger;
}

/** Defaults of {@link RedisLockManagerOptions}. */
export const REDIS_LOCK_DEFAULTS = Object.freeze({
  keyPrefix: 'coordination:lock:',
  leaseMs: 5_000,
  retryMinMs: 2,
  retryMaxMs: 10,
  commandTimeoutMs: 1_000,
});

export interface ResolvedRedisOptions {
  readonly url: string | undefined;
  readonly client: Redis | undefined;
  readonly keyPrefix: string;
  readonly leaseMs: number;
  readonly retryMinMs: number;
  readonly retryMaxMs: number;
  readonly commandTimeoutMs: number;
  readonly logger: Logger;
}

function duration(name: string, value: number, min: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
    throw new InvalidArgumentError(`${name} must be a finite number >= ${min}, got ${value}`);
  }
  return value;
}

/** Applies the defaults and validates; throws {@link InvalidArgumentError} with a clear message. */
export function resolveRedisOptions(options: RedisLockManagerOptions): ResolvedRedisOptions {
  const { url, client } = options ?? {};
  if ((url === undefined) === (client === undefined)) {
    throw new InvalidArgumentError('give exactly one of "url" and "client"');
  }
  if (url !== undefined) {
    let protocol: string | undefined;
    try {
      protocol = new URL(url).protocol;
    } catch {
      protocol = undefined;
    }
    if (protocol !== 'redis:' && protocol !== 'rediss:') {
      throw new InvalidArgumentError(`url must look like "redis://host:port", got ${JSON.stringify(url)}`);
    }
  }
  if (client !== undefined && (typeof client !== 'object' || client === null || typeof client.eval !== 'function')) {
    throw new InvalidArgumentError('client must be an ioredis client');
  }
  const keyPrefix = options.keyPrefix ?? REDIS_LOCK_DEFAULTS.keyPrefix;
  if (typeof keyPrefix !== 'string' || keyPrefix.length > 256) {
    throw new InvalidArgumentError(`keyPrefix must be a string of at most 256 characters, got ${JSON.stringify(keyPrefix)}`);
  }
  const retryMinMs = duration('retryMinMs', options.retryMinMs ?? REDIS_LOCK_DEFAULTS.retryMinMs, 1);
  const retryMaxMs = duration('retryMaxMs', options.retryMaxMs ?? REDIS_LOCK_DEFAULTS.retryMaxMs, retryMinMs);
  return Object.freeze({
    url,
    client,
    keyPrefix,
    // 30 ms keeps the renewal period (leaseMs / 3) at 10 ms or more.
    leaseMs: Math.round(duration('leaseMs', options.leaseMs ?? REDIS_LOCK_DEFAULTS.leaseMs, 30)),
    retryMinMs,
    retryMaxMs,
    commandTimeoutMs: duration('commandTimeoutMs', options.commandTimeoutMs ?? REDIS_LOCK_DEFAULTS.commandTimeoutMs, 1),
    logger: options.logger ?? silentLogger,
  });
}
