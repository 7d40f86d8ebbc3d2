import type { LockLostError } from '../errors.js';
import { lockJson } from '../lock-json.js';
import type { Lock, LockJson } from '../types.js';

/** A lock held in DynamoDB: the item `pk` names `owner` as its holder, with a lease the manager renews. */
export class DynamoDbLock implements Lock {
  readonly #controller = new AbortController();
  #held = true;
  #revocationAsked = false;
  #renewTimer: NodeJS.Timeout | undefined;
  #lossTimer: NodeJS.Timeout | undefined;
  /**
   * `performance.now()` when the last write that set or extended the lease was *sent*: no waiter can take the lock
   * before `leaseMs` after that instant, whatever its own clock reads.
   */
  renewedAt: number;

  constructor(
    readonly key: string,
    readonly fencingToken: bigint,
    readonly pk: string,
    /** Id of this acquisition, the item's `owner` while held. */
    readonly owner: string,
    renewedAt: number,
    private readonly onRelease: (lock: DynamoDbLock) => Promise<void>,
    private readonly onRevocationRequested?: (lock: DynamoDbLock) => void,
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

  /**
   * Someone asked the holder to let go: calls `onRevocationRequested` at most once per acquisition, while held.
   * Returns what the callback threw (the caller logs it), never throws.
   */
  revocationRequested(): unknown {
    if (!this.#held || this.#revocationAsked || !this.onRevocationRequested) return undefined;
    this.#revocationAsked = true;
    try {
      this.onRevocationRequested(this);
    } catch (error) {
      return error ?? new Error('revocation callback threw');
    }
    return undefined;
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
