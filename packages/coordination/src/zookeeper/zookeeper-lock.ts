import { LockLostError, type LockLostReason } from '../errors.js';
import { lockJson } from '../lock-json.js';
import type { Lock, LockJson } from '../types.js';

/** A lock held on ZooKeeper: its ephemeral sequential node `path`, created in session generation `generation`. */
export class ZooKeeperLock implements Lock {
  readonly #controller = new AbortController();
  #held = true;
  #revocationAsked = false;

  constructor(
    readonly key: string,
    readonly fencingToken: bigint,
    readonly path: string,
    readonly generation: number,
    private readonly onRelease: (lock: ZooKeeperLock) => Promise<void>,
    readonly onRevocation: ((lock: Lock) => void) | undefined,
  ) {}

  get fencingTokenString(): string {
    return this.fencingToken.toString();
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
    await this.onRelease(this);
  }

  /** Marks the lock released without running the release (a batch release deletes the node); false if not held. */
  markReleased(): boolean {
    if (!this.#held) return false;
    this.#held = false;
    return true;
  }

  toJSON(): LockJson {
    return lockJson(this);
  }

  /** Fires the signal with `LockLostError(reason)`; false when the lock was no longer held. */
  lose(reason: LockLostReason): boolean {
    if (!this.#held) return false;
    this.#held = false;
    this.#controller.abort(new LockLostError(this.key, reason));
    return true;
  }

  /** Fires the signal of a lock whose release found its node already gone (held is already false then). */
  lostDuringRelease(reason: LockLostReason): void {
    if (!this.#controller.signal.aborted) this.#controller.abort(new LockLostError(this.key, reason));
  }

  /** Calls the holder's revocation callback, at most once; what it throws goes to `onError`, never up the stack. */
  askToRevoke(onError: (error: unknown) => void): void {
    if (this.#revocationAsked || !this.#held || !this.onRevocation) return;
    this.#revocationAsked = true;
    try {
      this.onRevocation(this);
    } catch (error) {
      onError(error);
    }
  }
}
