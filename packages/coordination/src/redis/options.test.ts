import { describe, expect, test } from 'vitest';
import { InvalidArgumentError } from '../errors.js';
import { REDIS_LOCK_DEFAULTS, resolveRedisOptions, type RedisLockManagerOptions } from './options.js';

const url = 'redis://127.0.0.1:1';

describe('resolveRedisOptions', () => {
  test('applies the frozen defaults', () => {
    expect(Object.isFrozen(REDIS_LOCK_DEFAULTS)).toBe(true);
    const resolved = resolveRedisOptions({ url });
    expect(resolved).toMatchObject({ url, ...REDIS_LOCK_DEFAULTS });
    expect(Object.isFrozen(resolved)).toBe(true);
  });

  test('keeps explicit values, including an empty key prefix', () => {
    const resolved = resolveRedisOptions({ url, keyPrefix: '', leaseMs: 900, retryMinMs: 1, retryMaxMs: 1, commandTimeoutMs: 50 });
    expect(resolved).toMatchObject({ keyPrefix: '', leaseMs: 900, retryMinMs: 1, retryMaxMs: 1, commandTimeoutMs: 50 });
  });

  test.each<[string, RedisLockManagerOptions]>([
    ['neither url nor client', {}],
    ['both url and client', { url, client: {} as never }],
    ['a url of another scheme', { url: 'http://127.0.0.1:6379' }],
    ['a url that does not parse', { url: 'localhost:6379' }],
    ['a client that is not ioredis', { client: {} as never }],
    ['leaseMs 0', { url, leaseMs: 0 }],
    ['leaseMs NaN', { url, leaseMs: Number.NaN }],
    ['retryMinMs 0', { url, retryMinMs: 0 }],
    ['retryMaxMs below retryMinMs', { url, retryMinMs: 5, retryMaxMs: 4 }],
    ['commandTimeoutMs Infinity', { url, commandTimeoutMs: Number.POSITIVE_INFINITY }],
    ['a key prefix that is not a string', { url, keyPrefix: 3 as never }],
  ])('rejects %s', (_, options) => {
    expect(() => resolveRedisOptions(options)).toThrow(InvalidArgumentError);
  });
});
