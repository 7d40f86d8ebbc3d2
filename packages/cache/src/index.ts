export type { CacheOutcome, CacheStats, CallOptions, Logger, ResultCache, SetOptions } from './types.js';
export { silentLogger } from './types.js';
export { CacheError, InvalidArgumentError } from './errors.js';
export type { CacheErrorCode } from './errors.js';
export { MemoryCache, MEMORY_CACHE_DEFAULTS } from './memory-cache.js';
export type { MemoryCacheOptions } from './memory-cache.js';
