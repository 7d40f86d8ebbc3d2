import type { LockLostError } from './errors.js';
import { lockJson } from './lock-json.js';
import type { Lock, LockJson } from './types.js';

/**
 * A lock held as a lease that its manager renews (Redis, DynamoDB): the signal, the held flag, the renewal and loss
 * timers, and the lease's send-time bookkeeping. Each backend adds what names its lease in the service.
 */
export abstract class LeaseLock implements Lock {
  readonly #controller = new AbortController();
  #held = true;
  #renewTimer: NodeJS.Timeout | undefined;
  #lossTimer: NodeJS.Timeout | undefined;
  /**
   * `performance.now()` when the last write that set or extended the lease was *sent*: no waiter can take the lock
   * before the lease runs out after that instant, whatever its own clock reads.
   */
  renewedAt: number;

  constructor(
    readonly key: string,
    readonly fencingToken: bigint,
    renewedAt: number,
  ) {
    this.renewedAt = renewedAt;
  }

  /** `fencingToken` as a decimal string, for JSON and stores without 64-bit integers. */
  get fencingTokenString(): string {
    return this.fencingToken.toString();
  }

  /** `{ key, fencingToken: <decimal string>, held }`: `JSON.stringify` cannot encode a bigint. */
  toJSON(): LockJson {
    return lockJson(this);
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  get held(): boolean {
    return this.#held;
  }

  async release(): Promise<void> {
    if (!this.#held) return;
    this.#held = false;
    this.#stopTimers();
    await this.releaseLease();
  }

  /** Gives the lease back in the service; called once, by the first `release()` of a held lock. */
  protected abstract releaseLease(): Promise<void>;

  /** Arms the next renewal and the loss deadline (either may be left as is with `undefined`). */
  setTimers(renew: NodeJS.Timeout | undefined, loss: NodeJS.Timeout | undefined): void {
    if (renew !== undefined) {
      clearTimeout(this.#renewTimer);
      this.#renewTimer = renew;
    }
    if (loss !== undefined) {
      clearTimeout(this.#lossTimer);
      this.#lossTimer = loss;
    }
    if (!this.#held) this.#stopTimers();
  }

  /** Marks the lock lost and fires its signal; false when it was no longer held. */
  lose(error: LockLostError): boolean {
    if (!this.#held) return false;
    this.#held = false;
    this.#stopTimers();
    this.#controller.abort(error);
    return true;
  }

  #stopTimers(): void {
    clearTimeout(this.#renewTimer);
    clearTimeout(this.#lossTimer);
    this.#renewTimer = undefined;
    this.#lossTimer = undefined;
  }
}
