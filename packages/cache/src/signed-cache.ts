import { createHmac, timingSafeEqual } from 'node:crypto';
import { InvalidArgumentError } from './errors.js';
import { silentLogger } from './types.js';
import type { CacheOutcome, CacheStats, CallOptions, Logger, ResultCache, SetOptions } from './types.js';

/** Options of {@link SignedCache}. */
export interface SignedCacheOptions {
  /** The HMAC-SHA256 key; at least 32 bytes. Every process that shares the backend must use the same key. */
  key: Uint8Array | string;
  /** Called for each entry whose signature does not verify (it is then treated as a miss). */
  onInvalid?: (key: string) => void;
  /** The first invalid entry is logged at `warn`; later ones only counted (an attacker must not flood the logs). */
  logger?: Logger;
}

/** Shortest accepted signing key, in bytes. */
export const MIN_SIGNING_KEY_BYTES = 32;

const VERSION = 'v1';
const MAC_CHARS = 43; // base64url of 32 bytes, without padding

/**
 * A {@link ResultCache} whose entries are signed: `set` stores `v1.<mac>.<value>`, where `mac` is an HMAC-SHA256 over
 * the entry's key and value; `get` returns the value only when the mac verifies (constant-time), and treats anything
 * else — a value written by someone without the key, an entry copied under another key, a truncated or corrupted
 * entry — as a miss, counted in {@link invalidEntries}. A shared cache (Redis) is then an accelerator that anyone who
 * can write to it cannot use to forge answers.
 */
export class SignedCache implements ResultCache {
  readonly #inner: ResultCache;
  readonly #key: Buffer;
  readonly #onInvalid: ((key: string) => void) | undefined;
  readonly #logger: Logger;
  #invalid = 0;

  constructor(inner: ResultCache, options: SignedCacheOptions) {
    // Stryker disable next-line ConditionalExpression,EqualityOperator,StringLiteral: equivalent — Buffer.from reads a string as UTF-8 and copies a Uint8Array either way
    const key = typeof options.key === 'string' ? Buffer.from(options.key, 'utf8') : Buffer.from(options.key);
    if (key.length < MIN_SIGNING_KEY_BYTES) {
      throw new InvalidArgumentError(`key must be at least ${String(MIN_SIGNING_KEY_BYTES)} bytes, got ${String(key.length)}`);
    }
    this.#inner = inner;
    this.#key = key;
    this.#onInvalid = options.onInvalid;
    this.#logger = options.logger ?? silentLogger;
  }

  #mac(key: string, value: string): Buffer {
    // Length-prefixed key: no (key, value) pair can be re-split into another pair with the same input.
    return createHmac('sha256', this.#key).update(`${String(key.length)}:${key}\n`).update(value).digest();
  }

  async get(key: string, options?: CallOptions): Promise<string | undefined> {
    const stored = await this.#inner.get(key, options);
    if (stored === undefined) return undefined;
    const value = this.#verify(key, stored);
    if (value === undefined) {
      this.#invalid += 1;
      if (this.#invalid === 1) {
        this.#logger.warn({ key }, 'cache entry with an invalid signature ignored (further ones are only counted)');
      }
      this.#onInvalid?.(key);
    }
    return value;
  }

  #verify(key: string, stored: string): string | undefined {
    const prefix = `${VERSION}.`;
    // Stryker disable next-line ArithmeticOperator: equivalent — a shorter entry fails the separator check below
    if (!stored.startsWith(prefix) || stored.length < prefix.length + MAC_CHARS + 1) return undefined;
    const macText = stored.slice(prefix.length, prefix.length + MAC_CHARS);
    if (stored[prefix.length + MAC_CHARS] !== '.') return undefined;
    const presented = Buffer.from(macText, 'base64url');
    const value = stored.slice(prefix.length + MAC_CHARS + 1);
    const expected = this.#mac(key, value);
    if (presented.length !== expected.length || !timingSafeEqual(presented, expected)) return undefined;
    return value;
  }

  async set(key: string, value: string, options?: SetOptions): Promise<void> {
    const mac = this.#mac(key, value).toString('base64url');
    await this.#inner.set(key, `${VERSION}.${mac}.${value}`, options);
  }

  delete(key: string, options?: CallOptions): Promise<void> {
    return this.#inner.delete(key, options);
  }

  /** Entries ignored because their signature did not verify, since construction. */
  invalidEntries(): number {
    return this.#invalid;
  }

  stats(): CacheStats {
    return this.#inner.stats();
  }

  onOutcome(listener: (outcome: CacheOutcome) => void): () => void {
    return this.#inner.onOutcome(listener);
  }

  healthy(): boolean {
    return this.#inner.healthy();
  }

  close(): Promise<void> {
    return this.#inner.close();
  }
}
