import type { CoordinationErrorCode } from './errors.js';

/** Minimal structured logger; pino's and console-like loggers fit. The library never logs to the console itself. */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** A logger that drops everything; the default. */
export const silentLogger: Logger = Object.freeze({
  debug() {},
  info() {},
  warn() {},
  error() {},
});

/**
 * Connection state of a lock manager, after Apache Curator:
 * - `connected`: the service answers; held locks are trustworthy.
 * - `suspended`: no answer for a while (or a disconnect); held locks may be lost. Stop starting new critical work.
 * - `reconnected`: the same session came back; locks held before the suspension are still held.
 * - `lost`: the session is gone; every lock it held is lost. A new session is made automatically.
 * - `closed`: `close()` was called.
 */
export type ConnectionState = 'connected' | 'suspended' | 'reconnected' | 'lost' | 'closed';

export interface AcquireOptions {
  /** Gives up the wait when this signal fires (e.g. a request deadline). */
  signal?: AbortSignal;
  /**
   * Gives up the wait after this many milliseconds. Default: wait until `signal` fires (or forever without one).
   * `0` tries once (a try-lock): a free key is acquired, a busy key fails at once with `LockTimeoutError`.
   * `Infinity` waits forever; finite values above 2^31-1 ms (~24.8 days, the largest timer Node can arm) are clamped
   * to it. Negative numbers and NaN are rejected with `InvalidArgumentError`.
   */
  timeoutMs?: number;
  /**
   * Makes the lock revocable (Apache Curator's `makeRevocable`): called, at most once per acquisition, when another
   * party asks the holder to let go (`requestRevocation(key)`). A request, not a release: the holder decides whether
   * and when to release. Implementations without revocation support never call it.
   */
  onRevocationRequested?: (lock: Lock) => void;
}

/** A held lock. Release it exactly when the critical section ends; releasing twice is harmless. */
export interface Lock {
  /** The key this lock guards. */
  readonly key: string;
  /**
   * A token that strictly increases across successive holders of the same key. Hand it to the resource you write to
   * so it can refuse a write from a holder older than one it has already seen.
   */
  readonly fencingToken: bigint;
  /**
   * `fencingToken` as a decimal string, for JSON and for stores without 64-bit integers (`JSON.stringify` cannot
   * encode a bigint). `BigInt(lock.fencingTokenString) === lock.fencingToken`. Compare tokens as bigints, never as
   * strings.
   */
  readonly fencingTokenString: string;
  /** Fires (with a {@link LockLostError} reason) when the lock is lost, or can no longer be trusted, while held. */
  readonly signal: AbortSignal;
  /** True until `release()` is called or the lock is lost. */
  readonly held: boolean;
  /**
   * Releases the lock. Idempotent; never throws for a lock that is already released or lost. A lock found lost while
   * releasing (e.g. its ZooKeeper node deleted by someone else) has its `signal` fired with `LockLostError` before
   * the returned promise resolves: check `lock.signal.aborted` after a critical section if that matters.
   */
  release(): Promise<void>;
  /** `{ key, fencingToken: <decimal string>, held }`: makes `JSON.stringify(lock)` work. */
  toJSON(): LockJson;
}

/** The JSON form of a {@link Lock}. */
export interface LockJson {
  readonly key: string;
  readonly fencingToken: string;
  readonly held: boolean;
}

/** One party on a key: the holder or a waiter (see {@link RevocableLockManager.participants}). */
export interface Participant {
  /** The party's node name (ZooKeeper: the lock node; in-process: a synthetic name). */
  readonly node: string;
  /** The owning session (ZooKeeper: the node's `ephemeralOwner`, 16 hex digits; in-process: `local`). */
  readonly sessionId: string;
  /** True for the current holder (always the first entry). */
  readonly isHolder: boolean;
}

/** Per-key mutual exclusion. Implemented in-process ({@link LocalLockManager}) and on ZooKeeper. */
export interface LockManager {
  /**
   * Waits until the lock on `key` is held by the caller, and returns it.
   * @throws {LockTimeoutError} the wait ended (timeout or signal) before the lock was acquired.
   * @throws {CoordinationUnavailableError} the coordination service cannot answer.
   * @throws {ClosedError} the manager is closed.
   */
  acquire(key: string, options?: AcquireOptions): Promise<Lock>;
  /**
   * Runs `fn` while holding the lock on `key`, then releases it, also when `fn` throws. A failed release never hides
   * an error thrown by `fn`. `fn` should watch `lock.signal` and stop when it fires.
   */
  withLock<T>(key: string, fn: (lock: Lock) => Promise<T>, options?: AcquireOptions): Promise<T>;
  /** Current connection state. The in-process implementation is always `connected` until closed. */
  readonly state: ConnectionState;
  /** Subscribes to state changes; returns an unsubscribe function. */
  onStateChange(listener: (state: ConnectionState) => void): () => void;
  /** Releases every held lock (their signals fire with reason `closed`), fails every waiter, and frees resources. */
  close(): Promise<void>;
}

/**
 * A {@link LockManager} that can show who holds and waits on a key and ask a holder to let go (after Apache Curator's
 * `getParticipantNodes` and `Revoker`). Implemented by `ZooKeeperLockManager`, `LocalLockManager` and
 * `DynamoDbLockManager` (`@catraca/coordination/dynamodb`).
 */
export interface RevocableLockManager extends LockManager {
  /** Who holds and who waits on `key`: holder first, then waiters in queue order; empty when nobody does. */
  participants(key: string, options?: { signal?: AbortSignal }): Promise<Participant[]>;
  /**
   * Asks the current holder of `key` to let go: its `onRevocationRequested` (if it gave one) is called. Resolves
   * `true` when a holder was asked, `false` when nobody holds the key.
   */
  requestRevocation(key: string, options?: { signal?: AbortSignal }): Promise<boolean>;
}

export type { CoordinationErrorCode };

/** Options of a batched acquisition ({@link Coordinator.tryAcquireMany}). */
export interface TryAcquireManyOptions {
  signal?: AbortSignal;
  /** As {@link AcquireOptions.onRevocationRequested}, for every lock of the batch. */
  onRevocationRequested?: (lock: Lock) => void;
}

/** A live membership in a group ({@link Coordinator.joinGroup}). */
export interface GroupMembership {
  /** The group joined. */
  readonly group: string;
  /** This member's id. */
  readonly memberId: string;
  /** Live members, memberId → data, as last seen (this member included once registered). */
  members(): ReadonlyMap<string, string>;
  /** Called with the new list on every change; returns an unsubscribe function. */
  onChange(listener: (members: ReadonlyMap<string, string>) => void): () => void;
  /** Leaves the group (removes this member) and stops watching. Idempotent. */
  leave(): Promise<void>;
}

/**
 * Everything a cluster of processes needs to share work by key: revocable locks with inspection, batched try-locks,
 * group membership and change notification. Implemented on ZooKeeper (`ZooKeeperLockManager`) and in-process
 * (`LocalLockManager`, for single-process deployments and tests).
 */
export interface Coordinator extends RevocableLockManager {
  /**
   * Try-locks several keys at once and returns the locks of the keys that were free (busy keys are omitted, never
   * waited for). ZooKeeper: one `multi()` creates every lock node (chunked above 500 keys), and the nodes of the keys
   * that turned out busy are deleted in one more. Keys must be distinct.
   */
  tryAcquireMany(keys: readonly string[], options?: TryAcquireManyOptions): Promise<Map<string, Lock>>;
  /** Releases many locks (ZooKeeper: in one `multi()`, chunked above 500). Never throws for released or lost locks. */
  releaseMany(locks: readonly Lock[]): Promise<void>;
  /**
   * Joins `group` as `memberId` with `data`; resolves once registered and the member list is loaded. The membership
   * survives connection losses: a new session registers again.
   */
  joinGroup(group: string, memberId: string, data: string, options?: { signal?: AbortSignal }): Promise<GroupMembership>;
  /** Tells every watcher of `topic` that something changed. */
  notify(topic: string, options?: { signal?: AbortSignal }): Promise<void>;
  /**
   * Calls `listener` after every `notify(topic)` by anyone (changes in quick succession may be coalesced into one
   * call), and after a reconnection (a change may have been missed). Returns an unsubscribe function.
   * @throws {InvalidArgumentError} synchronously, for an invalid topic (it returns no promise).
   */
  watch(topic: string, listener: () => void): () => void;
}
