import type { LockLostError } from '../errors.js';
import { lockJson } from '../lock-json.js';
import type { Lock, LockJson } from '../types.js';

/** A lock held in Redis: the key `redisKey` holds `token`, with a lease the manager renews. */
export class RedisLock implements Lock {
  readonly #controller = new AbortController();
  #held = true;
  #renewTimer: NodeJS.Timeout | undefined;
  #lossTimer: NodeJS.Timeout | undefined;
  /** `performance.now()` when the last command that set or extended the lease was sent: the lease runs at least
   * `leaseMs` from there. */
  renewedAt: number;

  constructor(
    readonly key: string,
    readonly fencingToken: bigint,
    readonly redisKey: string,
    readonly token: string,
    renewedAt: number,
    private readonly onRelease: (lock: RedisLock) => Promise<void>,
  ) {
    this.renewedAt = renewedAt;
  }

  get fencingTokenString(): string {
    return this.fencingToken.toString();
  }

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
    await this.onRelease(this);
  }

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
