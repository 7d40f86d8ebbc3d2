/**
 * `@catraca/coordination/redis`: the Redis lease lock. Needs `ioredis` (an optional peer dependency: install it to use
 * this entry); never loads node-zookeeper-client.
 */
export { RedisLockManager } from './redis-lock-manager.js';
export { REDIS_LOCK_DEFAULTS } from './options.js';
export type { RedisLockManagerOptions } from './options.js';
