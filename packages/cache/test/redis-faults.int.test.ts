/**
 * RedisCache against a private redis-server that is killed, restarted on the same port, paused and resumed. Nothing
 * here asserts a duration: "bounded" means every call settles before a generous safety bound, far below the test
 * timeout, so a hang fails with a clear message instead of a test timeout.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { startRedis, type RedisServer } from '../../../test-support/redis.js';
import { RedisCache, type RedisCacheOptions } from '../src/index.js';

const SAFETY_MS = 10_000;
const threshold = 3;

let server: RedisServer;
const caches: RedisCache[] = [];

beforeEach(async () => {
  server = await startRedis();
});
afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(caches.splice(0).map((cache) => cache.close()));
  await server?.stop();
});

function newCache(options: RedisCacheOptions = {}): RedisCache {
  const cache = new RedisCache({
    url: server.url,
    keyPrefix: `faults:${randomUUID()}:`,
    callTimeoutMs: 500,
    connectTimeoutMs: 500,
    reconnectMaxDelayMs: 100,
    ...options,
    breaker: { failureThreshold: threshold, openMs: 200, ...options.breaker },
  });
  caches.push(cache);
  return cache;
}

async function readyCache(options: RedisCacheOptions = {}): Promise<RedisCache> {
  const cache = newCache(options);
  expect(await cache.waitUntilReady({ signal: AbortSignal.timeout(SAFETY_MS) })).toBe(true);
  return cache;
}

/** Resolves with the promise's value, or fails the test if it has not settled within the safety bound. */
async function settles<T>(promise: Promise<T>): Promise<T> {
  const timer = new AbortController();
  const bound = sleep(SAFETY_MS, undefined, { signal: timer.signal }).then(() => {
    throw new Error(`did not settle within the ${SAFETY_MS} ms safety bound`);
  });
  bound.catch(() => {});
  try {
    return await Promise.race([promise, bound]);
  } finally {
    timer.abort();
  }
}

/** Polls until a set/get round-trips through Redis; bounded. */
async function roundTrips(cache: RedisCache, maxTries = 200): Promise<boolean> {
  for (let i = 0; i < maxTries; i++) {
    const value = `v${i}`;
    await settles(cache.set('probe', value));
    if ((await settles(cache.get('probe'))) === value) return true;
    await sleep(50);
  }
  return false;
}

/** Calls get until the breaker opens; bounded. Returns how many calls it took. */
async function failUntilOpen(cache: RedisCache, maxCalls = 50): Promise<number> {
  for (let calls = 1; calls <= maxCalls; calls++) {
    expect(await settles(cache.get('k'))).toBeUndefined();
    if (cache.breakerState() === 'open') return calls;
  }
  throw new Error('breaker never opened');
}

describe('RedisCache when Redis dies', () => {
  it('bypasses without throwing, opens the breaker, then stops touching Redis', async () => {
    const cache = await readyCache({ breaker: { openMs: 60_000 } });
    await cache.set('k', 'v');
    expect(await cache.get('k')).toBe('v');

    await server.kill();
    await settles(cache.set('k', 'other'));
    await settles(cache.delete('k'));
    expect(await settles(cache.get('k'))).toBeUndefined();
    expect(cache.breakerState()).toBe('open'); // set + delete + get = the threshold of 3 consecutive failures
    expect(cache.healthy()).toBe(false);

    const sendCommand = vi.spyOn(Redis.prototype, 'sendCommand');
    const before = cache.stats().bypasses;
    for (let i = 0; i < 10; i++) {
      expect(await settles(cache.get('k'))).toBeUndefined();
      await settles(cache.set('k', 'v'));
    }
    expect(sendCommand).not.toHaveBeenCalled();
    expect(cache.stats().bypasses).toBe(before + 10);
  });

  it('recovers by itself when Redis restarts on the same port', async () => {
    const cache = await readyCache();
    const outcomes: string[] = [];
    cache.onOutcome((outcome) => outcomes.push(outcome));

    await server.kill();
    expect(await failUntilOpen(cache)).toBeLessThanOrEqual(threshold);

    await server.restart();
    expect(await roundTrips(cache)).toBe(true);
    expect(cache.breakerState()).toBe('closed');
    expect(cache.healthy()).toBe(true);
    expect(outcomes).toContain('bypass');
    expect(outcomes.at(-1)).toBe('hit');
  });

  it('starts while Redis is down, bypasses, and connects once Redis is up', async () => {
    await server.kill();
    const cache = newCache();
    expect(await settles(cache.get('k'))).toBeUndefined();
    await settles(cache.set('k', 'v'));
    expect(cache.healthy()).toBe(false);
    await server.restart();
    expect(await roundTrips(cache)).toBe(true);
  });

  it('closes without hanging while Redis is down', async () => {
    const cache = await readyCache();
    await server.kill();
    await settles(cache.close());
    expect(await cache.get('k')).toBeUndefined();
  });
});

describe('RedisCache when Redis hangs (SIGSTOP)', () => {
  it('bypasses instead of hanging, opens the breaker, and recovers after SIGCONT', async () => {
    const cache = await readyCache();
    await cache.set('k', 'v');

    server.pause();
    try {
      expect(await failUntilOpen(cache)).toBeLessThanOrEqual(threshold);
      expect(cache.healthy()).toBe(false);
      await settles(cache.set('k', 'other'));
      expect(cache.stats().bypasses).toBeGreaterThanOrEqual(threshold);
    } finally {
      server.resume();
    }

    expect(await roundTrips(cache)).toBe(true);
    expect(cache.breakerState()).toBe('closed');
    expect(cache.healthy()).toBe(true);
  });

  it("is bounded by the caller's signal, which does not count against Redis", async () => {
    const cache = await readyCache({ callTimeoutMs: 60_000 });
    server.pause();
    try {
      for (let i = 0; i < threshold + 2; i++) {
        expect(await settles(cache.get('k', { signal: AbortSignal.timeout(20) }))).toBeUndefined();
      }
      expect(cache.stats().bypasses).toBe(threshold + 2);
      expect(cache.breakerState()).toBe('closed');
    } finally {
      server.resume();
    }
  });

  it('closes without hanging while Redis is paused', async () => {
    const cache = await readyCache();
    server.pause();
    try {
      await settles(cache.close());
      expect(cache.healthy()).toBe(false);
    } finally {
      server.resume();
    }
  });
});
