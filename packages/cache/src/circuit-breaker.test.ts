import { describe, expect, it } from 'vitest';
import { CircuitBreaker, type BreakerState } from './circuit-breaker.js';

function setup(failureThreshold = 3, openMs = 1000) {
  let now = 0;
  const transitions: Array<[BreakerState, BreakerState]> = [];
  const breaker = new CircuitBreaker({
    failureThreshold,
    openMs,
    now: () => now,
    onTransition: (from, to) => transitions.push([from, to]),
  });
  return { breaker, transitions, advance: (ms: number) => (now += ms) };
}

describe('CircuitBreaker', () => {
  it('opens after the threshold of consecutive failures', () => {
    const { breaker, transitions } = setup(3);
    breaker.failure(breaker.tryAcquire() as 'call');
    breaker.failure(breaker.tryAcquire() as 'call');
    expect(breaker.state()).toBe('closed');
    breaker.failure(breaker.tryAcquire() as 'call');
    expect(breaker.state()).toBe('open');
    expect(breaker.tryAcquire()).toBe('refused');
    expect(transitions).toEqual([['closed', 'open']]);
  });

  it('resets the count on success', () => {
    const { breaker } = setup(2);
    breaker.failure('call');
    breaker.success('call');
    breaker.failure('call');
    expect(breaker.state()).toBe('closed');
  });

  it('lets exactly one probe through after openMs; success closes', () => {
    const { breaker, advance, transitions } = setup(1, 100);
    breaker.failure('call');
    advance(99);
    expect(breaker.state()).toBe('open');
    expect(breaker.tryAcquire()).toBe('refused');
    advance(1);
    expect(breaker.state()).toBe('half-open');
    expect(breaker.tryAcquire()).toBe('probe');
    expect(breaker.tryAcquire()).toBe('refused');
    expect(breaker.state()).toBe('half-open');
    breaker.success('probe');
    expect(breaker.state()).toBe('closed');
    expect(breaker.tryAcquire()).toBe('call');
    expect(transitions).toEqual([
      ['closed', 'open'],
      ['open', 'half-open'],
      ['half-open', 'closed'],
    ]);
  });

  it('re-opens for another openMs when the probe fails', () => {
    const { breaker, advance } = setup(1, 100);
    breaker.failure('call');
    advance(100);
    breaker.failure(breaker.tryAcquire() as 'probe');
    expect(breaker.state()).toBe('open');
    advance(50);
    expect(breaker.tryAcquire()).toBe('refused');
    advance(50);
    expect(breaker.tryAcquire()).toBe('probe');
  });

  it('frees the probe slot when a probe ends without a verdict', () => {
    const { breaker, advance } = setup(1, 100);
    breaker.failure('call');
    advance(100);
    breaker.release(breaker.tryAcquire() as 'probe');
    expect(breaker.tryAcquire()).toBe('probe');
  });

  it('ignores failures of calls that were in flight when it opened', () => {
    const { breaker, advance } = setup(1, 100);
    breaker.failure('call');
    advance(60);
    breaker.failure('call');
    advance(40);
    expect(breaker.state()).toBe('half-open');
  });

  it('frees the probe slot after a successful probe, so it can probe again the next time it opens', () => {
    const { breaker, advance } = setup(1, 100);
    breaker.failure('call');
    advance(100);
    breaker.success(breaker.tryAcquire() as 'probe');
    breaker.failure(breaker.tryAcquire() as 'call');
    expect(breaker.state()).toBe('open');
    advance(100);
    expect(breaker.tryAcquire()).toBe('probe');
  });

  it('reports a failed probe as half-open → open, and a success while closed as no transition', () => {
    const { breaker, advance, transitions } = setup(1, 100);
    breaker.success(breaker.tryAcquire() as 'call');
    expect(transitions).toEqual([]);
    breaker.failure('call');
    advance(100);
    breaker.failure(breaker.tryAcquire() as 'probe');
    expect(transitions).toEqual([
      ['closed', 'open'],
      ['open', 'half-open'],
      ['half-open', 'open'],
    ]);
  });

  it('never lets a second probe through while one is in flight, whatever other calls report', () => {
    const { breaker, advance } = setup(1, 100);
    breaker.failure('call');
    advance(100);
    expect(breaker.tryAcquire()).toBe('probe');
    breaker.release('call'); // a call from before the breaker opened ends without a verdict
    breaker.failure('call');
    expect(breaker.tryAcquire()).toBe('refused');
    advance(1000);
    expect(breaker.tryAcquire()).toBe('refused');
  });
});
