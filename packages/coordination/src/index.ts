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
export { ZooKeeperLockManager } from './zookeeper/zookeeper-lock-manager.js';
export { REVOKE_MESSAGE } from './zookeeper/queue-inspection.js';
export { ZOOKEEPER_DEFAULTS } from './zookeeper/options.js';
export type { DigestAuth, ZooKeeperLockManagerOptions } from './zookeeper/options.js';
export { RedisLockManager } from './redis/redis-lock-manager.js';
export { REDIS_LOCK_DEFAULTS } from './redis/options.js';
export type { RedisLockManagerOptions } from './redis/options.js';
