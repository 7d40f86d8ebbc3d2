/** `closed`: calls go through. `open`: calls are refused. `half-open`: one probe call may go through. */
export type BreakerState = 'closed' | 'open' | 'half-open';

export interface CircuitBreakerOptions {
  /** Consecutive failures that open the breaker. */
  failureThreshold: number;
  /** How long the breaker stays open before letting one probe through. */
  openMs: number;
  /** Called on every state change (for logs). */
  onTransition?: (from: BreakerState, to: BreakerState) => void;
  /** Clock; for tests. */
  now?: () => number;
}

/**
 * A consecutive-failure circuit breaker. Callers ask {@link tryAcquire} before touching the backend and report the
 * result with {@link success} / {@link failure}; a call that ended without a verdict (e.g. the caller gave up)
 * reports {@link release} so a half-open probe slot is not held forever.
 */
export class CircuitBreaker {
  readonly #failureThreshold: number;
  readonly #openMs: number;
  readonly #onTransition: (from: BreakerState, to: BreakerState) => void;
  readonly #now: () => number;
  #state: 'closed' | 'open' = 'closed';
  #consecutiveFailures = 0;
  #openedAt = 0;
  #probeInFlight = false;

  constructor(options: CircuitBreakerOptions) {
    this.#failureThreshold = options.failureThreshold;
    this.#openMs = options.openMs;
    this.#onTransition = options.onTransition ?? (() => {});
    this.#now = options.now ?? Date.now;
  }

  /** The state as seen now: an open breaker whose `openMs` has elapsed reports `half-open`. */
  state(): BreakerState {
    if (this.#state === 'closed') return 'closed';
    return this.#probeInFlight || this.#now() - this.#openedAt >= this.#openMs ? 'half-open' : 'open';
  }

  /**
   * Whether a call may go to the backend now. In half-open, only one caller gets `'probe'`; everyone else is
   * refused until that probe reports.
   */
  tryAcquire(): 'call' | 'probe' | 'refused' {
    if (this.#state === 'closed') return 'call';
    if (this.#probeInFlight || this.#now() - this.#openedAt < this.#openMs) return 'refused';
    this.#probeInFlight = true;
    this.#onTransition('open', 'half-open');
    return 'probe';
  }

  success(ticket: 'call' | 'probe'): void {
    this.#consecutiveFailures = 0;
    if (ticket === 'probe') this.#probeInFlight = false;
    if (this.#state === 'open') {
      this.#state = 'closed';
      this.#onTransition('half-open', 'closed');
    }
  }

  failure(ticket: 'call' | 'probe'): void {
    if (ticket === 'probe') {
      this.#probeInFlight = false;
      this.#open('half-open');
      return;
    }
    if (this.#state === 'open') return; // a straggler from before the breaker opened
    this.#consecutiveFailures++;
    if (this.#consecutiveFailures >= this.#failureThreshold) this.#open('closed');
  }

  /** The call ended without telling us anything about the backend. */
  release(ticket: 'call' | 'probe'): void {
    if (ticket === 'probe') this.#probeInFlight = false;
  }

  #open(from: BreakerState): void {
    this.#state = 'open';
    this.#openedAt = this.#now();
    this.#consecutiveFailures = 0;
    this.#onTransition(from, 'open');
  }
}
