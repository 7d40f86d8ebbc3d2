import { describe, expect, test } from 'vitest';
import { baseName, lockNodePrefix, newAttemptId, parseLockNodeName, sortLockNodes } from './lock-node-name.js';
import { resolveOptions, ZOOKEEPER_DEFAULTS } from './options.js';

describe('lock node names', () => {
  test('sort by sequence suffix, never by the random guid prefix', () => {
    const a = `_c_${'f'.repeat(8)}-0000-0000-0000-000000000000-lock-0000000002`;
    const b = `_c_${'0'.repeat(8)}-0000-0000-0000-000000000000-lock-0000000010`;
    const c = `_c_${'a'.repeat(8)}-0000-0000-0000-000000000000-lock-0000000001`;
    expect(sortLockNodes([b, 'unrelated', a, c]).map((n) => n.sequence)).toEqual([1, 2, 10]);
  });

  test('a prefix carries the attempt id, recovered by parsing', () => {
    const id = newAttemptId();
    const name = `${lockNodePrefix('/ns/locks/k', id).split('/').pop()}0000000007`;
    expect(parseLockNodeName(name)).toEqual({ name, attemptId: id, sequence: 7 });
  });
});

describe('ZooKeeperLockManager options', () => {
  test('defaults are frozen and applied with ??', () => {
    expect(Object.isFrozen(ZOOKEEPER_DEFAULTS)).toBe(true);
    const resolved = resolveOptions({ connectionString: '127.0.0.1:2181', reapDelayMs: 0 });
    expect(resolved.reapDelayMs).toBe(0);
    expect(resolved.sessionTimeoutMs).toBe(ZOOKEEPER_DEFAULTS.sessionTimeoutMs);
  });

  test.each([
    [{ connectionString: '' }],
    [{ connectionString: 'a:1,,b:2' }],
    [{ connectionString: 'a:1', sessionTimeoutMs: Number.NaN }],
    [{ connectionString: 'a:1', namespace: 'a/b' }],
    [{ connectionString: 'a:1', auth: { user: 'a:b', password: 'x' } }],
  ])('invalid options throw at construction: %j', (options) => {
    expect(() => resolveOptions(options)).toThrow(/must|needs/);
  });
});

describe('baseName', () => {
  test('is the last path segment', () => {
    expect(baseName('/catraca/locks/k/_c_x-lock-0000000001')).toBe('_c_x-lock-0000000001');
    expect(baseName('plain')).toBe('plain');
  });
});
