import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from './errors.js';
import { MEMORY_CACHE_DEFAULTS, MemoryCache } from './memory-cache.js';
import type { CacheOutcome } from './types.js';

/** Polls until `predicate` holds; bounded so a broken expiry fails instead of hanging. */
async function eventually(predicate: () => Promise<boolean>, maxTries = 200, stepMs = 10): Promise<boolean> {
  for (let i = 0; i < maxTries; i++) {
    if (await predicate()) return true;
    await sleep(stepMs);
  }
  return false;
}

describe('MemoryCache', () => {
  it('has frozen defaults', () => {
    expect(Object.isFrozen(MEMORY_CACHE_DEFAULTS)).toBe(true);
    expect(MEMORY_CACHE_DEFAULTS).toEqual({ maxEntries: 100_000, ttlMs: 86_400_000 });
  });

  it.each([0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])('rejects maxEntries %s', (maxEntries) => {
    expect(() => new MemoryCache({ maxEntries })).toThrow(InvalidArgumentError);
  });

  it.each([0, -5, 0.5, Number.NaN])('rejects ttlMs %s', (ttlMs) => {
    expect(() => new MemoryCache({ ttlMs })).toThrow(InvalidArgumentError);
  });

  it('rejects an invalid per-entry ttl', async () => {
    const cache = new MemoryCache();
    await expect(cache.set('k', 'v', { ttlMs: 0 })).rejects.toBeInstanceOf(InvalidArgumentError);
  });

  it('evicts the least recently used entry beyond maxEntries', async () => {
    const cache = new MemoryCache({ maxEntries: 2 });
    await cache.set('a', '1');
    await cache.set('b', '2');
    expect(await cache.get('a')).toBe('1'); // a is now more recent than b
    await cache.set('c', '3');
    expect(cache.size).toBe(2);
    expect(await cache.get('b')).toBeUndefined();
    expect(await cache.get('a')).toBe('1');
    expect(await cache.get('c')).toBe('3');
  });

  it('expires entries after the default ttl', async () => {
    const cache = new MemoryCache({ ttlMs: 20 });
    await cache.set('k', 'v');
    expect(await eventually(async () => (await cache.get('k')) === undefined)).toBe(true);
  });

  it('honours a per-entry ttl over the default', async () => {
    const cache = new MemoryCache({ ttlMs: 60_000 });
    await cache.set('short', 'v', { ttlMs: 20 });
    await cache.set('long', 'v');
    expect(await eventually(async () => (await cache.get('short')) === undefined)).toBe(true);
    expect(await cache.get('long')).toBe('v');
  });

  it('counts hits and misses and reports each outcome to listeners', async () => {
    const cache = new MemoryCache();
    const seen: CacheOutcome[] = [];
    const unsubscribe = cache.onOutcome((outcome) => seen.push(outcome));
    await cache.get('k');
    await cache.set('k', 'v');
    await cache.get('k');
    await cache.delete('k');
    await cache.get('k');
    unsubscribe();
    await cache.get('k');
    expect(seen).toEqual(['miss', 'hit', 'miss']);
    expect(cache.stats()).toEqual({ hits: 1, misses: 3, bypasses: 0 });
  });

  it('returns a copy of the stats', async () => {
    const cache = new MemoryCache();
    const before = cache.stats();
    await cache.get('k');
    expect(before.misses).toBe(0);
  });

  it('is always healthy and empties on close', async () => {
    const cache = new MemoryCache();
    await cache.set('k', 'v');
    expect(cache.healthy()).toBe(true);
    await cache.close();
    expect(cache.size).toBe(0);
  });
});

describe('MemoryCache option errors name the option and the value', () => {
  it('constructor and per-entry ttl', async () => {
    expect(() => new MemoryCache({ maxEntries: 0 })).toThrow('maxEntries must be a positive integer, got 0');
    expect(() => new MemoryCache({ ttlMs: 1.5 })).toThrow('ttlMs must be a positive integer, got 1.5');
    await expect(new MemoryCache().set('k', 'v', { ttlMs: -1 })).rejects.toThrow('ttlMs must be a positive integer, got -1');
  });
});
