import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OffsetTracker } from './offset-tracker.js';

describe('OffsetTracker', () => {
  it('commits only past the oldest record not done', () => {
    const t = new OffsetTracker();
    for (const o of [5n, 6n, 7n]) t.take(o);
    expect(t.done(6n)).toBeUndefined();
    expect(t.done(5n)).toBe(7n);
    expect(t.done(7n)).toBe(8n);
    expect(t.inFlight).toBe(0);
  });

  it('skips gaps between offsets', () => {
    const t = new OffsetTracker();
    t.take(1n);
    t.take(10n);
    expect(t.done(10n)).toBeUndefined();
    expect(t.done(1n)).toBe(11n);
  });

  it('refuses offsets taken out of order and ignores unknown or repeated completions', () => {
    const t = new OffsetTracker();
    t.take(3n);
    expect(() => t.take(2n)).toThrow(RangeError);
    expect(t.done(9n)).toBeUndefined();
    expect(t.done(3n)).toBe(4n);
    expect(t.done(3n)).toBeUndefined();
  });

  it('never passes a record that is not done, whatever the completion order', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 40 }), fc.infiniteStream(fc.nat()), (gaps, picks) => {
        const t = new OffsetTracker();
        let offset = 0n;
        const offsets = gaps.map((g) => (offset += BigInt(g)));
        offsets.forEach((o) => t.take(o));
        const open = [...offsets];
        let last = 0n;
        const it = picks[Symbol.iterator]();
        while (open.length > 0) {
          const [o] = open.splice(it.next().value % open.length, 1);
          const moved = t.done(o!);
          if (moved !== undefined) {
            expect(moved).toBeGreaterThan(last);
            last = moved;
            for (const p of open) expect(p).toBeGreaterThanOrEqual(moved);
          }
        }
        expect(last).toBe(offsets.at(-1)! + 1n);
      }),
    );
  });
});
