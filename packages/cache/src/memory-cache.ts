import { LRUCache } from 'lru-cache';
import { InvalidArgumentError } from './errors.js';
import { OutcomeCounter } from './outcome-counter.js';
import type { CacheOutcome, CacheStats, CallOptions, ResultCache, SetOptions } from './types.js';

export interface MemoryCacheOptions {
  /** Maximum number of entries; the least recently used is evicted first. Default 100,000. */
  maxEntries?: number;
  /** Default time to live in milliseconds. Default 24 hours. */
  ttlMs?: number;
}

export const MEMORY_CACHE_DEFAULTS = Object.freeze({ maxEntries: 100_000, ttlMs: 24 * 60 * 60 * 1000 });

function positiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new InvalidArgumentError(`${name} must be a positive integer, got ${value}`);
  }
  return value;
}

/** A bounded in-process LRU cache with per-entry TTL (lru-cache underneath). */
export class MemoryCache implements ResultCache {
  readonly #lru: LRUCache<string, string>;
  readonly #counter = new OutcomeCounter();
  readonly #ttlMs: number;

  constructor(options: MemoryCacheOptions = {}) {
    const maxEntries = positiveInteger('maxEntries', options.maxEntries ?? MEMORY_CACHE_DEFAULTS.maxEntries);
    this.#ttlMs = positiveInteger('ttlMs', options.ttlMs ?? MEMORY_CACHE_DEFAULTS.ttlMs);
    // Stryker disable next-line BooleanLiteral: equivalent — lru-cache checks the TTL on every get; autopurge only frees memory sooner
    this.#lru = new LRUCache({ max: maxEntries, ttl: this.#ttlMs, ttlAutopurge: false });
  }

  async get(key: string, _options?: CallOptions): Promise<string | undefined> {
    const value = this.#lru.get(key);
    this.#counter.record(value === undefined ? 'miss' : 'hit');
    return value;
  }

  async set(key: string, value: string, options?: SetOptions): Promise<void> {
    const ttl = options?.ttlMs === undefined ? this.#ttlMs : positiveInteger('ttlMs', options.ttlMs);
    this.#lru.set(key, value, { ttl });
  }

  async delete(key: string, _options?: CallOptions): Promise<void> {
    this.#lru.delete(key);
  }

  /** Number of live entries; for tests. */
  get size(): number {
    return this.#lru.size;
  }

  stats(): CacheStats {
    return this.#counter.stats();
  }

  onOutcome(listener: (outcome: CacheOutcome) => void): () => void {
    return this.#counter.subscribe(listener);
  }

  healthy(): boolean {
    return true;
  }

  async close(): Promise<void> {
    this.#lru.clear();
  }
}
