import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from './errors.js';
import { MemoryCache } from './memory-cache.js';
import { SignedCache } from './signed-cache.js';

const KEY = 'k'.repeat(32);

describe('SignedCache', () => {
  it('round-trips its own entries', async () => {
    const cache = new SignedCache(new MemoryCache(), { key: KEY });
    await cache.set('tx:1', '{"c":"00"}');
    expect(await cache.get('tx:1')).toBe('{"c":"00"}');
    expect(await cache.get('tx:2')).toBeUndefined();
    expect(cache.invalidEntries()).toBe(0);
  });

  it('ignores and counts forged, copied, truncated and other-key entries; logs the first only', async () => {
    const inner = new MemoryCache();
    const invalid: string[] = [];
    const warnings: unknown[] = [];
    const logger = { debug() {}, info() {}, error() {}, warn: (o: object) => void warnings.push(o) };
    const cache = new SignedCache(inner, { key: KEY, onInvalid: (k) => invalid.push(k), logger });
    await cache.set('tx:real', '{"c":"00"}');
    const good = (await inner.get('tx:real'))!;
    await inner.set('tx:plain', '{"h":"x","c":"00","r":"approved"}');
    await inner.set('tx:copied', good);
    await inner.set('tx:cut', good.slice(0, -1));
    await inner.set('tx:flipped', good.replace('00', '51'));
    await inner.set('tx:short', 'v1.abc');
    const other = new SignedCache(inner, { key: 'o'.repeat(32) });
    await other.set('tx:other', '{"c":"00"}');
    for (const key of ['tx:plain', 'tx:copied', 'tx:cut', 'tx:flipped', 'tx:short', 'tx:other']) {
      expect(await cache.get(key), key).toBeUndefined();
    }
    expect(invalid).toEqual(['tx:plain', 'tx:copied', 'tx:cut', 'tx:flipped', 'tx:short', 'tx:other']);
    expect(cache.invalidEntries()).toBe(6);
    expect(warnings).toHaveLength(1);
    expect(await cache.get('tx:real')).toBe('{"c":"00"}');
  });

  it('refuses a short key', () => {
    expect(() => new SignedCache(new MemoryCache(), { key: 'short' })).toThrow(InvalidArgumentError);
  });
});

describe('SignedCache edges', () => {
  const MAC = 43;

  it('an empty value round-trips; an entry of another version, without its separator or with a malformed mac is a miss', async () => {
    const inner = new MemoryCache();
    const cache = new SignedCache(inner, { key: KEY });
    await cache.set('e', '');
    expect(await cache.get('e')).toBe('');
    await cache.set('tx', 'value');
    const good = (await inner.get('tx'))!;
    await inner.set('tx', good.replace(/^v1\./, 'v2.'));
    expect(await cache.get('tx')).toBeUndefined();
    await inner.set('tx', `${good.slice(0, 3 + MAC)}X${good.slice(3 + MAC + 1)}`);
    expect(await cache.get('tx')).toBeUndefined();
    // Characters outside base64url decode to fewer than 32 bytes: a miss, never a RangeError from the comparison.
    await inner.set('tx', `v1.${'!'.repeat(MAC)}.value`);
    expect(await cache.get('tx')).toBeUndefined();
    expect(cache.invalidEntries()).toBe(3);
  });

  it('logs the first invalid entry with its key; works without onInvalid; the error names the key length', async () => {
    const inner = new MemoryCache();
    const warnings: Array<[object, string | undefined]> = [];
    const logger = { debug() {}, info() {}, error() {}, warn: (o: object, m?: string) => void warnings.push([o, m]) };
    const cache = new SignedCache(inner, { key: new Uint8Array(32).fill(7), logger });
    await inner.set('forged', 'v1.x');
    expect(await cache.get('forged')).toBeUndefined();
    expect(warnings).toEqual([[{ key: 'forged' }, 'cache entry with an invalid signature ignored (further ones are only counted)']]);
    expect(() => new SignedCache(inner, { key: 'short' })).toThrow('key must be at least 32 bytes, got 5');
  });

  it('delegates delete, stats, outcomes, health and close to the inner cache', async () => {
    const inner = new MemoryCache();
    const cache = new SignedCache(inner, { key: KEY });
    const outcomes: string[] = [];
    const off = cache.onOutcome((o) => outcomes.push(o));
    await cache.set('a', '1');
    expect(await cache.get('a')).toBe('1');
    await cache.delete('a');
    expect(await inner.get('a')).toBeUndefined();
    expect(cache.stats()).toEqual(inner.stats());
    expect(outcomes).toEqual(['hit', 'miss']);
    off();
    expect(cache.healthy()).toBe(inner.healthy());
    await expect(cache.close()).resolves.toBeUndefined();
  });
});
