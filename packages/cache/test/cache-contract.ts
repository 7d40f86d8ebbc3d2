/**
 * The contract every {@link ResultCache} adapter passes. Call it from an adapter's test file with a factory; each
 * test gets a fresh cache (and a fresh key space) and closes it afterwards.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidArgumentError, type CacheOutcome, type ResultCache } from '../src/index.js';

export interface ContractOptions {
  /** A ready cache whose keys do not collide with other tests' keys. */
  create(): Promise<ResultCache>;
}

/** Polls until `predicate` holds; bounded, so a broken expiry fails rather than hangs. */
async function eventually(predicate: () => Promise<boolean>, maxTries = 300, stepMs = 20): Promise<boolean> {
  for (let i = 0; i < maxTries; i++) {
    if (await predicate()) return true;
    await sleep(stepMs);
  }
  return false;
}

export function cacheContract(name: string, options: ContractOptions): void {
  describe(`ResultCache contract: ${name}`, () => {
    const open: ResultCache[] = [];
    const create = async (): Promise<ResultCache> => {
      const cache = await options.create();
      open.push(cache);
      return cache;
    };
    afterEach(async () => {
      await Promise.all(open.splice(0).map((cache) => cache.close()));
    });

    it('misses an unknown key', async () => {
      const cache = await create();
      expect(await cache.get('unknown')).toBeUndefined();
      expect(cache.stats()).toEqual({ hits: 0, misses: 1, bypasses: 0 });
    });

    it('returns what was set, and the latest value after an overwrite', async () => {
      const cache = await create();
      await cache.set('k', 'first');
      expect(await cache.get('k')).toBe('first');
      await cache.set('k', 'second');
      expect(await cache.get('k')).toBe('second');
      expect(cache.stats()).toEqual({ hits: 2, misses: 0, bypasses: 0 });
    });

    it('keeps values byte for byte, including empty and non-ASCII strings', async () => {
      const cache = await create();
      const values = ['', ' ', 'açaí — 😀', '{"code":"00","amount":1050}', 'x'.repeat(10_000)];
      for (const [i, value] of values.entries()) await cache.set(`v${i}`, value);
      for (const [i, value] of values.entries()) expect(await cache.get(`v${i}`)).toBe(value);
    });

    it('keeps keys independent', async () => {
      const cache = await create();
      await cache.set('a', '1');
      await cache.set('b', '2');
      await cache.delete('a');
      expect(await cache.get('a')).toBeUndefined();
      expect(await cache.get('b')).toBe('2');
    });

    it('deletes, and deleting an unknown key is fine', async () => {
      const cache = await create();
      await cache.set('k', 'v');
      await cache.delete('k');
      await cache.delete('never-set');
      expect(await cache.get('k')).toBeUndefined();
    });

    it('expires an entry after its ttl', async () => {
      const cache = await create();
      await cache.set('short', 'v', { ttlMs: 30 });
      await cache.set('long', 'v', { ttlMs: 60_000 });
      expect(await eventually(async () => (await cache.get('short')) === undefined)).toBe(true);
      expect(await cache.get('long')).toBe('v');
    });

    it('rejects an invalid ttl as misuse', async () => {
      const cache = await create();
      await expect(cache.set('k', 'v', { ttlMs: 0 })).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(cache.set('k', 'v', { ttlMs: 1.5 })).rejects.toBeInstanceOf(InvalidArgumentError);
    });

    it('reports each lookup outcome to listeners until unsubscribed', async () => {
      const cache = await create();
      const seen: CacheOutcome[] = [];
      const unsubscribe = cache.onOutcome((outcome) => seen.push(outcome));
      await cache.get('k');
      await cache.set('k', 'v');
      await cache.get('k');
      unsubscribe();
      await cache.get('k');
      expect(seen).toEqual(['miss', 'hit']);
    });

    it('resolves, never rejects, when the caller has already given up', async () => {
      const cache = await create();
      const signal = AbortSignal.abort();
      await cache.set('k', 'v', { signal });
      await cache.delete('k', { signal });
      const value = await cache.get('k', { signal });
      expect(value === undefined || value === 'v').toBe(true);
    });

    it('is healthy while its backend is up, and closes idempotently', async () => {
      const cache = await create();
      expect(cache.healthy()).toBe(true);
      await cache.close();
      await cache.close();
    });
  });
}
