import { describe, expect, test } from 'vitest';
import { LocalTurns } from './local-turns.js';

describe('LocalTurns', () => {
  test('one turn per key, handed over in FIFO order; other keys are independent', async () => {
    const turns = new LocalTurns();
    const never = new AbortController().signal;
    const first = await turns.enter('a', never);
    expect(turns.tryEnter('a')).toBeUndefined();
    const other = turns.tryEnter('b');
    expect(other).toBeDefined();
    const order: number[] = [];
    const second = turns.enter('a', never).then((leave) => (order.push(2), leave));
    const third = turns.enter('a', never).then((leave) => (order.push(3), leave));
    first();
    first(); // leaving twice hands over only once
    (await second)();
    (await third)();
    expect(order).toEqual([2, 3]);
    other?.();
    expect(turns.size).toBe(0);
  });

  test('an aborted waiter leaves the queue with the signal\'s reason and is skipped', async () => {
    const turns = new LocalTurns();
    const never = new AbortController().signal;
    const first = await turns.enter('a', never);
    const controller = new AbortController();
    const reason = new Error('gave up');
    const aborted = turns.enter('a', controller.signal);
    const next = turns.enter('a', never);
    controller.abort(reason);
    await expect(aborted).rejects.toBe(reason);
    await expect(turns.enter('a', AbortSignal.abort(reason))).rejects.toBe(reason);
    first();
    (await next)();
    expect(turns.size).toBe(0);
  });
});
