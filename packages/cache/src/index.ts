export type { CacheOutcome, CacheStats, CallOptions, Logger, ResultCache, SetOptions } from './types.js';
export { silentLogger } from './types.js';
export { CacheError, InvalidArgumentError } from './errors.js';
export type { CacheErrorCode } from './errors.js';
export { MemoryCache, MEMORY_CACHE_DEFAULTS } from './memory-cache.js';
export type { MemoryCacheOptions } from './memory-cache.js';
export { RedisCache, REDIS_CACHE_DEFAULTS } from './redis-cache.js';
export type { RedisBreakerOptions, RedisCacheOptions } from './redis-cache.js';
export type { BreakerState } from './circuit-breaker.js';
