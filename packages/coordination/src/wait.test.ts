import { describe, expect, test } from 'vitest';
import { InvalidArgumentError } from './errors.js';
import { assertDistinctKeys, assertKey, assertName, MAX_TIMEOUT_MS, resolveWait, waitSignal } from './wait.js';

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

describe('resolveWait with a signal and a timeout', () => {
  test('the deadline still fires when the caller also passes a signal', async () => {
    const caller = new AbortController();
    const { signal, tryOnce } = resolveWait({ signal: caller.signal, timeoutMs: 5 });
    expect(tryOnce).toBe(false);
    expect(signal).not.toBe(caller.signal);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(signal?.aborted).toBe(true);
    expect(caller.signal.aborted).toBe(false);
  });

  test("the caller's signal still fires when a long timeout is set; alone, each is used as is", () => {
    const caller = new AbortController();
    const { signal } = resolveWait({ signal: caller.signal, timeoutMs: 60_000 });
    expect(signal?.aborted).toBe(false);
    caller.abort(new Error('gone'));
    expect(signal?.aborted).toBe(true);
    expect(signal?.reason).toEqual(new Error('gone'));
    const only = new AbortController();
    expect(resolveWait({ signal: only.signal }).signal).toBe(only.signal);
    const timed = resolveWait({ timeoutMs: 60_000 }).signal;
    expect(timed).toBeInstanceOf(AbortSignal);
    expect(timed?.aborted).toBe(false);
  });

  test('a try-lock keeps the caller signal; the error message names the bad value', () => {
    const caller = new AbortController();
    expect(resolveWait({ signal: caller.signal, timeoutMs: 0 })).toEqual({ signal: caller.signal, tryOnce: true });
    expect(() => resolveWait({ timeoutMs: -5 })).toThrow('timeoutMs must be a number >= 0 (or Infinity), got -5');
    expect(() => resolveWait({ onRevocationRequested: () => {} })).not.toThrow();
  });
});

describe('waitSignal', () => {
  test('a try-lock becomes an already-fired signal (or the caller\'s); otherwise the resolved signal', async () => {
    const zero = waitSignal({ timeoutMs: 0 });
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(zero?.aborted).toBe(true);
    const caller = new AbortController();
    expect(waitSignal({ signal: caller.signal, timeoutMs: 0 })).toBe(caller.signal);
    expect(waitSignal(undefined)).toBeUndefined();
    expect(waitSignal({ signal: caller.signal })).toBe(caller.signal);
  });
});

describe('assertName', () => {
  test('names the kind and the value in the message', () => {
    expect(() => assertName('group', 'a/b')).toThrow('invalid group "a/b": 1-512 characters, no "/"');
    expect(() => assertName('topic', 'a\u0001')).toThrow(/^invalid topic "a\\u0001": control characters/);
    expect(() => assertName('group', 7 as unknown as string)).toThrow(InvalidArgumentError);
    expect(() => assertName('group', 'x'.repeat(512))).not.toThrow();
  });

  test('every forbidden range is refused at its edges, and the characters just outside are allowed', () => {
    for (const bad of ['\u001f', '\u007f', '\u009f', '\ud800', '\uf8ff', '\ufff0']) {
      expect(() => assertKey(`a${bad}`)).toThrow(InvalidArgumentError);
    }
    for (const ok of ['\u0020', '\u007e', '\u00a0', '\ud7ff', '\uf900', '\uffef']) {
      expect(() => assertKey(`a${ok}`)).not.toThrow();
    }
  });

  test('a batch names what is wrong', () => {
    expect(() => assertDistinctKeys(['a', 'a'])).toThrow('keys must be distinct');
    expect(() => assertDistinctKeys('ab' as unknown as string[])).toThrow('keys must be an array');
    expect(() => assertDistinctKeys(['a', 'b/c'])).toThrow(/invalid lock key/);
    expect(() => assertDistinctKeys([])).not.toThrow();
  });
});
