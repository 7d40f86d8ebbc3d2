import { Redis } from 'ioredis';
import { describe, expect, it, vi } from 'vitest';
import { RedisCache, reconnectDelayMs } from './redis-cache.js';
import type { Logger } from './types.js';

// A real ioredis client against a loopback port where nothing listens: every call fails at once (the offline queue is
// off), which is what the cache must turn into a bypass, a breaker transition and a log line. No server is needed.
const DEAD = 'redis://127.0.0.1:1';

interface Line {
  level: keyof Logger;
  msg: string | undefined;
  obj: object;
}

function recorder(): { logger: Logger; lines: Line[] } {
  const lines: Line[] = [];
  const at =
    (level: keyof Logger) =>
    (obj: object, msg?: string): void => {
      lines.push({ level, msg, obj });
    };
  return { logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }, lines };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('RedisCache option errors name the option and the value', () => {
  it.each([
    [{ ttlMs: 0 }, 'ttlMs must be a positive integer, got 0'],
    [{ callTimeoutMs: -1 }, 'callTimeoutMs must be a positive integer, got -1'],
    [{ connectTimeoutMs: 1.5 }, 'connectTimeoutMs must be a positive integer, got 1.5'],
    [{ reconnectMaxDelayMs: 0 }, 'reconnectMaxDelayMs must be a positive integer, got 0'],
    [{ breaker: { failureThreshold: 0 } }, 'breaker.failureThreshold must be a positive integer, got 0'],
    [{ breaker: { openMs: 0 } }, 'breaker.openMs must be a positive integer, got 0'],
    [{ keyPrefix: 1 as unknown as string }, 'keyPrefix must be a string'],
    [{ redis: { lazyConnect: true, keyPrefix: 'x' } }, 'redis.keyPrefix is not supported; use the keyPrefix option'],
    [{ redis: { lazyConnect: true, enableOfflineQueue: true } }, 'redis.enableOfflineQueue must stay false'],
  ])('%j', (options, message) => {
    expect(() => new RedisCache({ redis: { lazyConnect: true }, ...options })).toThrow(message);
  });

  it('a client together with url or redis options', () => {
    const client = new Redis({ lazyConnect: true, enableOfflineQueue: false });
    try {
      expect(() => new RedisCache({ client, url: DEAD })).toThrow('pass either client, or url/redis options, not both');
    } finally {
      client.disconnect();
    }
  });
});

describe('reconnectDelayMs', () => {
  it('doubles from 100 ms and stops at the cap', () => {
    expect([1, 2, 3, 4].map((times) => reconnectDelayMs(times, 10_000))).toEqual([100, 200, 400, 800]);
    expect(reconnectDelayMs(5, 1000)).toBe(1000);
    // The exponent is bounded, so a long outage never computes Infinity.
    expect(reconnectDelayMs(10_000, Number.MAX_SAFE_INTEGER)).toBe(50 * 2 ** 16);
  });
});

describe('RedisCache against a port where nothing listens', () => {
  it('warns about an injected client that queues offline, and not about one that does not', async () => {
    const queuing = new Redis({ lazyConnect: true });
    const quiet = new Redis({ lazyConnect: true, enableOfflineQueue: false });
    const { logger, lines } = recorder();
    const a = new RedisCache({ client: queuing, logger });
    expect(lines.map((l) => [l.level, l.msg])).toEqual([
      ['warn', 'injected redis client has enableOfflineQueue on; commands may queue while disconnected'],
    ]);
    const b = new RedisCache({ client: quiet, logger });
    expect(lines).toHaveLength(1);
    await a.close();
    await b.close();
    queuing.disconnect();
    quiet.disconnect();
  });

  it('fails fast instead of queueing, logs each failure, and opens then half-opens the breaker', async () => {
    const { logger, lines } = recorder();
    const cache = new RedisCache({
      url: DEAD,
      redis: { lazyConnect: true },
      callTimeoutMs: 5_000,
      breaker: { failureThreshold: 2, openMs: 1 },
      logger,
    });
    try {
      expect(await cache.get('k')).toBeUndefined();
      await cache.set('k', 'v');
      // An error, not a 5 s timeout: the offline queue is off even though the options did not say so.
      expect(lines.filter((l) => l.level === 'debug').map((l) => [l.msg, (l.obj as { op: string }).op])).toEqual([
        ['redis call failed; bypassing', 'get'],
        ['redis call failed; bypassing', 'set'],
      ]);
      expect(lines.find((l) => l.level === 'warn')).toEqual({
        level: 'warn',
        msg: 'redis cache breaker opened; bypassing redis',
        obj: { from: 'closed', to: 'open' },
      });
      expect(cache.breakerState()).not.toBe('closed');
      await sleep(5);
      await cache.delete('k');
      expect(lines.map((l) => l.msg)).toContain('redis cache breaker half-open; probing');
      expect(lines.find((l) => l.msg === 'redis cache breaker half-open; probing')?.obj).toEqual({ from: 'open', to: 'half-open' });
      expect(lines.filter((l) => l.msg === 'redis call failed; bypassing').at(-1)?.obj).toMatchObject({ op: 'delete' });
      expect(lines.some((l) => l.level === 'info')).toBe(false);
      expect(cache.stats()).toEqual({ hits: 0, misses: 0, bypasses: 1 });
    } finally {
      await cache.close();
    }
  });

  it('does not call Redis for an aborted signal: no failure, no breaker step', async () => {
    const { logger, lines } = recorder();
    const cache = new RedisCache({ url: DEAD, redis: { lazyConnect: true }, breaker: { failureThreshold: 1 }, logger });
    try {
      expect(await cache.get('k', { signal: AbortSignal.abort() })).toBeUndefined();
      await cache.set('k', 'v', { signal: AbortSignal.abort() });
      expect(lines).toEqual([]);
      expect(cache.breakerState()).toBe('closed');
    } finally {
      await cache.close();
    }
  });

  it('waitUntilReady: false for an already-fired signal, for a signal that fires, and for a close while waiting', async () => {
    const { logger, lines } = recorder();
    const cache = new RedisCache({ url: DEAD, redis: { lazyConnect: true }, reconnectMaxDelayMs: 50, logger });
    try {
      expect(await cache.waitUntilReady({ signal: AbortSignal.abort() })).toBe(false);
      const controller = new AbortController();
      const waiting = cache.waitUntilReady({ signal: controller.signal });
      const untilClose = cache.waitUntilReady();
      await sleep(20);
      controller.abort();
      expect(await waiting).toBe(false);
      await vi.waitFor(() => expect(lines.map((l) => l.msg)).toContain('redis client error'));
      await vi.waitFor(() => expect(lines.map((l) => l.msg)).toContain('redis connect failed; the client keeps retrying'));
      expect(lines.find((l) => l.msg === 'redis client error')?.obj).toEqual({ err: expect.stringContaining('ECONNREFUSED') });
      await cache.close();
      expect(await untilClose).toBe(false);
      expect(cache.healthy()).toBe(false);
    } finally {
      await cache.close();
    }
  });
});

describe('RedisCache after close', () => {
  it('bypasses without calling Redis: no failure logged, no breaker step', async () => {
    const { logger, lines } = recorder();
    const cache = new RedisCache({ url: DEAD, redis: { lazyConnect: true }, breaker: { failureThreshold: 1 }, logger });
    await cache.close();
    expect(await cache.get('k')).toBeUndefined();
    await cache.set('k', 'v');
    await cache.delete('k');
    expect(lines.filter((l) => l.msg === 'redis call failed; bypassing')).toEqual([]);
    expect(cache.breakerState()).toBe('closed');
    expect(cache.stats()).toEqual({ hits: 0, misses: 0, bypasses: 1 });
  });
});
