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
