/**
 * `@catraca/coordination`: what every backend shares — the `LockManager` API, its errors, and the in-process
 * implementation. Each backend has its own entry, so a process loads only the client it uses:
 * `@catraca/coordination/zookeeper` (node-zookeeper-client), `@catraca/coordination/redis` (ioredis),
 * `@catraca/coordination/local` (nothing).
 */
export type {
  AcquireOptions,
  ConnectionState,
  Coordinator,
  GroupMembership,
  Lock,
  LockJson,
  LockManager,
  Logger,
  Participant,
  RevocableLockManager,
  TryAcquireManyOptions,
} from './types.js';
export { silentLogger } from './types.js';
export {
  ClosedError,
  CoordinationError,
  CoordinationUnavailableError,
  InvalidArgumentError,
  LockLostError,
  LockTimeoutError,
  ReentrantLockError,
} from './errors.js';
export type { CoordinationErrorCode, LockLostReason } from './errors.js';
export { LocalLockManager } from './local-lock-manager.js';
export { runWithLock } from './with-lock.js';
