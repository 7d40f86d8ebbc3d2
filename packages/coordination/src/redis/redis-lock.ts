import { LeaseLock } from '../lease-lock.js';

/** A lock held in Redis: the key `redisKey` holds `token`, with a lease the manager renews. */
export class RedisLock extends LeaseLock {
  constructor(
    key: string,
    fencingToken: bigint,
    readonly redisKey: string,
    readonly token: string,
    renewedAt: number,
    private readonly onRelease: (lock: RedisLock) => Promise<void>,
  ) {
    super(key, fencingToken, renewedAt);
  }

  protected override releaseLease(): Promise<void> {
    return this.onRelease(this);
  }
}
