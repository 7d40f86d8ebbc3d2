import { describe, expect, test } from 'vitest';
import { InvalidArgumentError } from './errors.js';
import { assertDistinctKeys, assertKey, MAX_TIMEOUT_MS, resolveWait } from './wait.js';

describe('resolveWait', () => {
  test('0 is a single try without a timer; undefined and Infinity have no deadline', () => {
    expect(resolveWait({ timeoutMs: 0 })).toEqual({ signal: undefined, tryOnce: true });
    expect(resolveWait(undefined)).toEqual({ signal: undefined, tryOnce: false });
    expect(resolveWait({ timeoutMs: Infinity })).toEqual({ signal: undefined, tryOnce: false });
  });

  test('a timeout above 2^31-1 is clamped, not turned into a 1 ms timer', async () => {
    const { signal } = resolveWait({ timeoutMs: 2 ** 31 });
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(signal?.aborted).toBe(false);
    expect(MAX_TIMEOUT_MS).toBe(2 ** 31 - 1);
  });

  test('negative, NaN and non-numbers are refused; so are a non-function callback and a non-signal', () => {
    for (const timeoutMs of [-1, Number.NaN, '5' as unknown as number]) {
      expect(() => resolveWait({ timeoutMs })).toThrow(InvalidArgumentError);
    }
    expect(() => resolveWait({ onRevocationRequested: 1 as unknown as () => void })).toThrow(InvalidArgumentError);
    expect(() => resolveWait({ signal: {} as AbortSignal })).toThrow(InvalidArgumentError);
  });
});

describe('assertKey', () => {
  test('accepts BMP text, refuses what ZooKeeper cannot store', () => {
    for (const ok of ['a', 'accounts:42', 'conta-ação', 'ключ', '键', 'x'.repeat(512)]) expect(() => assertKey(ok)).not.toThrow();
    for (const bad of ['', '.', '..', 'a/b', 'x'.repeat(513), '\u{1F4B3}', 'a\u0000', 'a\n', 'a\u0085', 'a\ue000', 'a\uffff']) {
      expect(() => assertKey(bad)).toThrow(InvalidArgumentError);
    }
  });

  test('batches: an array of distinct valid keys', () => {
    expect(() => assertDistinctKeys(['a', 'b'])).not.toThrow();
    expect(() => assertDistinctKeys(['a', 'a'])).toThrow(InvalidArgumentError);
    expect(() => assertDistinctKeys('ab' as unknown as string[])).toThrow(InvalidArgumentError);
  });
});
