import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from './errors.js';
import { REDIS_CACHE_DEFAULTS, RedisCache, type RedisCacheOptions } from './redis-cache.js';

// Lazy clients never open a socket here; behaviour against a real server is in test/*.int.test.ts.
const lazy = { redis: { lazyConnect: true } } as const;

describe('RedisCache options', () => {
  it('has frozen defaults', () => {
    expect(Object.isFrozen(REDIS_CACHE_DEFAULTS)).toBe(true);
    expect(Object.isFrozen(REDIS_CACHE_DEFAULTS.breaker)).toBe(true);
    expect(REDIS_CACHE_DEFAULTS).toMatchObject({
      keyPrefix: 'catraca:',
      ttlMs: 86_400_000,
      callTimeoutMs: 20,
      breaker: { failureThreshold: 5, openMs: 1000 },
    });
  });

  it.each<[string, RedisCacheOptions]>([
    ['ttlMs 0', { ttlMs: 0 }],
    ['callTimeoutMs -1', { callTimeoutMs: -1 }],
    ['callTimeoutMs 1.5', { callTimeoutMs: 1.5 }],
    ['connectTimeoutMs NaN', { connectTimeoutMs: Number.NaN }],
    ['reconnectMaxDelayMs 0', { reconnectMaxDelayMs: 0 }],
    ['breaker.failureThreshold 0', { breaker: { failureThreshold: 0 } }],
    ['breaker.openMs -1', { breaker: { openMs: -1 } }],
    ['redis.keyPrefix', { redis: { keyPrefix: 'x:' } }],
    ['redis.enableOfflineQueue', { redis: { enableOfflineQueue: true } }],
    ['keyPrefix not a string', { keyPrefix: 7 as unknown as string }],
  ])('rejects %s', (_name, options) => {
    expect(() => new RedisCache({ ...lazy, ...options, redis: { ...lazy.redis, ...options.redis } })).toThrow(
      InvalidArgumentError,
    );
  });

  it('rejects a client together with url or redis options', () => {
    const client = new Redis({ lazyConnect: true, enableOfflineQueue: false });
    try {
      expect(() => new RedisCache({ client, url: 'redis://127.0.0.1:1' })).toThrow(InvalidArgumentError);
      expect(() => new RedisCache({ client, redis: {} })).toThrow(InvalidArgumentError);
    } finally {
      client.disconnect();
    }
  });

  it('accepts an empty key prefix and closes an unconnected client without hanging', async () => {
    const cache = new RedisCache({ ...lazy, keyPrefix: '' });
    expect(cache.healthy()).toBe(false);
    expect(cache.breakerState()).toBe('closed');
    await cache.close();
    await cache.close();
    expect(await cache.get('k')).toBeUndefined();
    expect(await cache.waitUntilReady()).toBe(false);
  });

  it('leaves an injected client open on close', async () => {
    const client = new Redis({ lazyConnect: true, enableOfflineQueue: false });
    const cache = new RedisCache({ client });
    await cache.close();
    expect(client.status).toBe('wait');
    client.disconnect();
  });

  it('rejects an invalid per-entry ttl', async () => {
    const cache = new RedisCache(lazy);
    await expect(cache.set('k', 'v', { ttlMs: 0 })).rejects.toBeInstanceOf(InvalidArgumentError);
    await cache.close();
  });
});
