import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type RedisServer } from '../../../test-support/redis.js';
import { RedisCache } from '../src/index.js';
import { cacheContract } from './cache-contract.js';

let server: RedisServer;
beforeAll(async () => {
  server = await startRedis();
});
afterAll(async () => {
  await server?.stop();
});

// A generous call timeout: this file checks semantics, and the shared test machine is noisy. Timeouts and the
// breaker are exercised in redis-faults.int.test.ts.
const callTimeoutMs = 2000;

async function readyCache(keyPrefix?: string): Promise<RedisCache> {
  const cache = new RedisCache({ url: server.url, callTimeoutMs, ...(keyPrefix === undefined ? {} : { keyPrefix }) });
  if (!(await cache.waitUntilReady({ signal: AbortSignal.timeout(10_000) }))) {
    throw new Error('redis cache did not become ready');
  }
  return cache;
}

cacheContract('RedisCache', { create: () => readyCache(`contract:${randomUUID()}:`) });

describe('RedisCache specifics', () => {
  it('stores under the key prefix with a PX ttl', async () => {
    const prefix = `spec:${randomUUID()}:`;
    const cache = await readyCache(prefix);
    const raw = new Redis(server.url);
    try {
      await cache.set('k', 'v', { ttlMs: 60_000 });
      expect(await raw.get(`${prefix}k`)).toBe('v');
      const pttl = await raw.pttl(`${prefix}k`);
      expect(pttl).toBeGreaterThan(0);
      expect(pttl).toBeLessThanOrEqual(60_000);
      await cache.set('d', 'v');
      expect(await raw.pttl(`${prefix}d`)).toBeGreaterThan(60_000); // the 24 h default
    } finally {
      await cache.close();
      raw.disconnect();
    }
  });

  it('uses the catraca: prefix by default', async () => {
    const cache = await readyCache();
    const raw = new Redis(server.url);
    const key = `default-${randomUUID()}`;
    try {
      await cache.set(key, 'v');
      expect(await raw.get(`catraca:${key}`)).toBe('v');
    } finally {
      await cache.close();
      raw.disconnect();
    }
  });

  it('connects a lazy client on waitUntilReady', async () => {
    const cache = new RedisCache({ url: server.url, redis: { lazyConnect: true }, callTimeoutMs });
    try {
      expect(cache.healthy()).toBe(false);
      expect(await cache.waitUntilReady({ signal: AbortSignal.timeout(10_000) })).toBe(true);
      expect(cache.healthy()).toBe(true);
    } finally {
      await cache.close();
    }
  });

  it('works with an injected client and leaves it open', async () => {
    const client = new Redis(server.url, { enableOfflineQueue: false });
    await new Promise<void>((resolve) => client.once('ready', () => resolve()));
    const cache = new RedisCache({ client, keyPrefix: `inj:${randomUUID()}:`, callTimeoutMs });
    try {
      await cache.set('k', 'v');
      expect(await cache.get('k')).toBe('v');
      await cache.close();
      expect(await client.ping()).toBe('PONG');
    } finally {
      client.disconnect();
    }
  });
});
