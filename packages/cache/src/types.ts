/** Minimal structured logger; pino fits. The library never logs to the console itself. */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export const silentLogger: Logger = Object.freeze({ debug() {}, info() {}, warn() {}, error() {} });

export interface CallOptions {
  /** Gives up the call when this fires; the call then behaves as a bypass (miss / no-op). */
  signal?: AbortSignal;
}

export interface SetOptions extends CallOptions {
  /** Time to live of this entry in milliseconds. Default: the cache's `ttlMs`. */
  ttlMs?: number;
}

/** What a lookup saw; counted in {@link CacheStats}. */
export type CacheOutcome = 'hit' | 'miss' | 'bypass';

export interface CacheStats {
  hits: number;
  misses: number;
  /** Calls that skipped the backend because it was slow, down, or its breaker open. */
  bypasses: number;
}

/**
 * A best-effort cache of string values. It is an accelerator, never a source of truth: backend trouble never throws
 * from `get`/`set`/`delete` — a lookup then resolves `undefined` and counts a bypass, so callers fall back to their
 * durable store.
 */
export interface ResultCache {
  get(key: string, options?: CallOptions): Promise<string | undefined>;
  set(key: string, value: string, options?: SetOptions): Promise<void>;
  delete(key: string, options?: CallOptions): Promise<void>;
  /** Running counters since construction. */
  stats(): CacheStats;
  /** Subscribe to each lookup's outcome (for metrics). Returns an unsubscribe function. */
  onOutcome(listener: (outcome: CacheOutcome) => void): () => void;
  /** Whether the backend is currently usable (for readiness); the in-memory cache always is. */
  healthy(): boolean;
  close(): Promise<void>;
}
