import { describe, expect, it } from 'vitest';
import { TokenBuckets } from './token-bucket.js';

describe('TokenBuckets', () => {
  it('lets a burst through, then the sustained rate', () => {
    const buckets = new TokenBuckets({ ratePerSecond: 10, burst: 3 });
    expect([0, 0, 0, 0].map(() => buckets.take('a', 1_000))).toEqual([true, true, true, false]);
    expect(buckets.take('a', 1_050)).toBe(false); // half a token
    expect(buckets.take('a', 1_100)).toBe(true);
    expect(buckets.take('b', 1_100)).toBe(true); // keys are independent
    expect(buckets.take('a', 100_000)).toBe(true);
  });

  it('never keeps more than maxKeys buckets', () => {
    const buckets = new TokenBuckets({ ratePerSecond: 1, burst: 1, maxKeys: 3 });
    for (let i = 0; i < 100; i++) buckets.take(`k${i}`, 0);
    expect(buckets.size).toBe(3);
  });

  it('refuses nonsense options', () => {
    expect(() => new TokenBuckets({ ratePerSecond: 0, burst: 1 })).toThrow(RangeError);
    expect(() => new TokenBuckets({ ratePerSecond: 1, burst: 0 })).toThrow(RangeError);
  });
});
