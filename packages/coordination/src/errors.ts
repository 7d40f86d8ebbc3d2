/** Every error code this package throws. */
export type CoordinationErrorCode =
  | 'LOCK_TIMEOUT'
  | 'LOCK_LOST'
  | 'COORDINATION_UNAVAILABLE'
  | 'CLOSED'
  | 'INVALID_ARGUMENT'
  | 'LOCK_REENTRANT';

/** Base class of every error thrown by `@catraca/coordination`. Check `code`, not the class name. */
export abstract class CoordinationError extends Error {
  abstract readonly code: CoordinationErrorCode;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * The lock is busy: the wait ended (its `timeoutMs` elapsed or its `signal` fired) before the lock was acquired.
 * Not an outage: the coordination service answered, another holder simply kept the key for too long.
 * `cause` is the signal's reason when a signal ended the wait.
 */
export class LockTimeoutError extends CoordinationError {
  readonly code = 'LOCK_TIMEOUT' as const;
  constructor(readonly key: string, options?: { cause?: unknown }) {
    super(`timed out waiting for the lock on "${key}"`, options);
  }
}

/** Why a held lock was lost. */
export type LockLostReason =
  /** The session that owned the lock expired, or was unreachable for the whole session timeout. */
  | 'session-lost'
  /** The lock's node was deleted by someone else. */
  | 'node-deleted'
  /** The lock manager was closed while the lock was held. */
  | 'closed';

/**
 * A lock that was held is no longer held (or can no longer be trusted to be held). A held lock's `signal` is aborted
 * with this error as its reason; stop before committing anything.
 */
export class LockLostError extends CoordinationError {
  readonly code = 'LOCK_LOST' as const;
  constructor(readonly key: string, readonly reason: LockLostReason, options?: { cause?: unknown }) {
    super(`lock on "${key}" lost (${reason})`, options);
  }
}

/**
 * The coordination service cannot be reached or has no quorum, so no answer about the lock can be had. Distinct from
 * a busy lock ({@link LockTimeoutError}).
 */
export class CoordinationUnavailableError extends CoordinationError {
  readonly code = 'COORDINATION_UNAVAILABLE' as const;
  constructor(message = 'coordination service unavailable', options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The lock manager was closed. */
export class ClosedError extends CoordinationError {
  readonly code = 'CLOSED' as const;
  constructor(options?: { cause?: unknown }) {
    super('lock manager is closed', options);
  }
}

/**
 * An option or argument is invalid. Thrown by constructors; every method that returns a promise reports it as a
 * rejection (never a synchronous throw), in every implementation.
 */
export class InvalidArgumentError extends CoordinationError {
  readonly code = 'INVALID_ARGUMENT' as const;
}

/**
 * Locks are not reentrant: the caller asked for a key it already holds through the same manager, inside `withLock`
 * on that key (waiting would deadlock on itself). Detected through the async context of `withLock`; a bare
 * `acquire()` of a key held by a `Lock` object the caller kept cannot be told apart from another caller of the same
 * manager, and simply waits its turn (use `timeoutMs`).
 */
export class ReentrantLockError extends CoordinationError {
  readonly code = 'LOCK_REENTRANT' as const;
  constructor(readonly key: string) {
    super(`the lock on "${key}" is already held by this caller (locks are not reentrant)`);
  }
}
