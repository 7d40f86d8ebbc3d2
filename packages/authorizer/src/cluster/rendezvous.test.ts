import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hash32, homeOf } from './rendezvous.js';

const keys = Array.from({ length: 20_000 }, (_, i) => `acc-${i}`);

function homes(members: string[]): Map<string, string | undefined> {
  return new Map(keys.map((k) => [k, homeOf(k, members)]));
}

describe('rendezvous hashing', () => {
  it('has no home without members, and the only member is home for everything', () => {
    expect(homeOf('acc-1', [])).toBeUndefined();
    expect(homeOf('acc-1', ['a'])).toBe('a');
  });

  it('does not depend on the order of the member list', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.string({ minLength: 1 }), { minLength: 1, maxLength: 8 }), fc.string(), (members, key) => {
        const reversed = [...members].reverse();
        expect(homeOf(key, reversed)).toBe(homeOf(key, members));
      }),
    );
  });

  it('spreads keys about evenly', () => {
    const members = ['r1', 'r2', 'r3', 'r4'];
    const count = new Map<string, number>();
    for (const home of homes(members).values()) count.set(home!, (count.get(home!) ?? 0) + 1);
    for (const member of members) {
      expect(count.get(member)).toBeGreaterThan(keys.length / 4 * 0.9);
      expect(count.get(member)).toBeLessThan(keys.length / 4 * 1.1);
    }
  });

  it('a joining member takes about 1/n of the keys, all of them from the others, and moves nothing else', () => {
    const before = homes(['r1', 'r2', 'r3']);
    const after = homes(['r1', 'r2', 'r3', 'r4']);
    let moved = 0;
    for (const key of keys) {
      if (before.get(key) === after.get(key)) continue;
      moved++;
      expect(after.get(key)).toBe('r4');
    }
    expect(moved / keys.length).toBeGreaterThan(0.25 * 0.9);
    expect(moved / keys.length).toBeLessThan(0.25 * 1.1);
  });

  it('a leaving member moves only its own keys, spread over the survivors', () => {
    const before = homes(['r1', 'r2', 'r3']);
    const after = homes(['r1', 'r3']);
    let moved = 0;
    for (const key of keys) {
      if (before.get(key) === after.get(key)) continue;
      moved++;
      expect(before.get(key)).toBe('r2');
    }
    expect(moved / keys.length).toBeGreaterThan(0.9 / 3);
    expect(moved / keys.length).toBeLessThan(1.1 / 3);
  });

  it('hash32 is a stable 32-bit unsigned value', () => {
    expect(hash32('')).toBe(hash32(''));
    expect(hash32('acc-1')).not.toBe(hash32('acc-2'));
    fc.assert(fc.property(fc.string(), (s) => Number.isInteger(hash32(s)) && hash32(s) >= 0 && hash32(s) < 2 ** 32));
  });
});
