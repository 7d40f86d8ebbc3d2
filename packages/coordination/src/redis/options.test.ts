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

describe('resolveRedisOptions messages and edges', () => {
  test.each<[RedisLockManagerOptions, string]>([
    [{}, 'give exactly one of "url" and "client"'],
    [{ url: 'http://x' }, 'url must look like "redis://host:port", got "http://x"'],
    [{ client: null as never }, 'client must be an ioredis client'],
    [{ client: 'redis' as never }, 'client must be an ioredis client'],
    [{ client: { eval: 1 } as never }, 'client must be an ioredis client'],
    [{ url, keyPrefix: 'k'.repeat(257) }, 'keyPrefix must be a string of at most 256 characters, got "' + 'k'.repeat(257) + '"'],
    [{ url, leaseMs: 29 }, 'leaseMs must be a finite number >= 30, got 29'],
    [{ url, retryMinMs: 5, retryMaxMs: 4 }, 'retryMaxMs must be a finite number >= 5, got 4'],
    [{ url, commandTimeoutMs: '5' as never }, 'commandTimeoutMs must be a finite number >= 1, got 5'],
  ])('%j', (options, message) => {
    expect(() => resolveRedisOptions(options)).toThrow(message);
  });

  test('accepts rediss:, an ioredis-like client, a 256-character prefix; keeps the logger; rounds the lease', () => {
    expect(resolveRedisOptions({ url: 'rediss://h:6380' }).url).toBe('rediss://h:6380');
    const client = { eval: () => undefined } as never;
    expect(resolveRedisOptions({ client }).client).toBe(client);
    expect(resolveRedisOptions({ url, keyPrefix: 'k'.repeat(256) }).keyPrefix).toHaveLength(256);
    const logger = { debug() {}, info() {}, warn() {}, error() {} };
    expect(resolveRedisOptions({ url, logger }).logger).toBe(logger);
    expect(resolveRedisOptions({ url }).logger).toBeDefined();
    expect(resolveRedisOptions({ url, leaseMs: 100.6 }).leaseMs).toBe(101);
  });
});
