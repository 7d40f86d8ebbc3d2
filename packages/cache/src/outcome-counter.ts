import type { CacheOutcome, CacheStats } from './types.js';

/** Counts lookup outcomes and fans them out to listeners; shared by every cache implementation. */
export class OutcomeCounter {
  readonly #stats: CacheStats = { hits: 0, misses: 0, bypasses: 0 };
  readonly #listeners = new Set<(outcome: CacheOutcome) => void>();

  record(outcome: CacheOutcome): void {
    if (outcome === 'hit') this.#stats.hits++;
    else if (outcome === 'miss') this.#stats.misses++;
    else this.#stats.bypasses++;
    for (const listener of this.#listeners) listener(outcome);
  }

  stats(): CacheStats {
    return { ...this.#stats };
  }

  subscribe(listener: (outcome: CacheOutcome) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
