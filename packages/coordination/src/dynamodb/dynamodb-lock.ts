import { LeaseLock } from '../lease-lock.js';

/** A lock held in DynamoDB: the item `pk` names `owner` as its holder, with a lease the manager renews. */
export class DynamoDbLock extends LeaseLock {
  #revocationAsked = false;

  constructor(
    key: string,
    fencingToken: bigint,
    readonly pk: string,
    /** Id of this acquisition, the item's `owner` while held. */
    readonly owner: string,
    renewedAt: number,
    private readonly onRelease: (lock: DynamoDbLock) => Promise<void>,
    private readonly onRevocationRequested?: (lock: DynamoDbLock) => void,
  ) {
    super(key, fencingToken, renewedAt);
  }

  protected override releaseLease(): Promise<void> {
    return this.onRelease(this);
  }

  /**
   * Someone asked the holder to let go: calls `onRevocationRequested` at most once per acquisition, while held.
   * Returns what the callback threw (the caller logs it), never throws.
   */
  revocationRequested(): unknown {
    if (!this.held || this.#revocationAsked || !this.onRevocationRequested) return undefined;
    this.#revocationAsked = true;
    try {
      this.onRevocationRequested(this);
    } catch (error) {
      return error ?? new Error('revocation callback threw');
    }
    return undefined;
  }
}
