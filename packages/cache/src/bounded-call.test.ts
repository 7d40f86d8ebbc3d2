import { describe, expect, it } from 'vitest';
import { boundedCall } from './bounded-call.js';

const never = (): Promise<never> => new Promise(() => {});

describe('boundedCall', () => {
  it('returns the value', async () => {
    expect(await boundedCall(async () => 42, 1000, undefined)).toEqual({ kind: 'ok', value: 42 });
  });

  it('turns a rejection or a synchronous throw into an error result', async () => {
    const boom = new Error('boom');
    expect(await boundedCall(() => Promise.reject(boom), 1000, undefined)).toEqual({ kind: 'error', error: boom });
    const thrown = await boundedCall(() => {
      throw boom;
    }, 1000, undefined);
    expect(thrown).toEqual({ kind: 'error', error: boom });
  });

  it('gives up after the timeout', async () => {
    expect(await boundedCall(never, 5, undefined)).toEqual({ kind: 'timeout' });
  });

  it('gives up when the signal fires', async () => {
    const controller = new AbortController();
    const pending = boundedCall(never, 60_000, controller.signal);
    controller.abort();
    expect(await pending).toEqual({ kind: 'aborted' });
  });

  it('does not start when the signal has already fired', async () => {
    let started = false;
    const result = await boundedCall(async () => (started = true), 1000, AbortSignal.abort());
    expect(result).toEqual({ kind: 'aborted' });
    expect(started).toBe(false);
  });

  it('swallows a late rejection of an abandoned call', async () => {
    let rejectLate: (error: Error) => void = () => {};
    const late = new Promise<never>((_, reject) => (rejectLate = reject));
    expect(await boundedCall(() => late, 1, undefined)).toEqual({ kind: 'timeout' });
    rejectLate(new Error('late')); // an unhandled rejection here would fail the run
    await new Promise((resolve) => setImmediate(resolve));
  });
});
