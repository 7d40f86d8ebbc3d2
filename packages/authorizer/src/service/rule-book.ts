import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { MerchantRule } from '../domain/types.js';
import type { Store } from '../store/port.js';

/**
 * The merchant rules every request decides with: a snapshot refreshed from the store every `refreshMs`, so that a
 * change made through any replica is visible on every replica within about `refreshMs` (default 500 ms, SPEC: within
 * one second). Local changes apply at once. A failed refresh keeps the last good snapshot.
 */
export class RuleBook {
  #rules: readonly MerchantRule[] = [];
  readonly #stop = new AbortController();
  #loop: Promise<void> | undefined;

  constructor(
    private readonly store: Store,
    private readonly logger: Logger,
    private readonly refreshMs: number,
  ) {}

  get rules(): readonly MerchantRule[] {
    return this.#rules;
  }

  /**
   * Seeds `seed` if this store was never seeded (once per store, ever: rules an operator deleted stay deleted), loads
   * the rules and starts the refresh loop.
   */
  async start(seed: readonly MerchantRule[] | undefined): Promise<void> {
    if (seed && seed.length > 0 && (await this.store.seedMerchantRules(seed))) {
      this.logger.info({ rules: seed.length }, 'seeded default merchant rules');
    }
    this.#rules = Object.freeze([...(await this.store.listMerchantRules())]);
    this.#loop = this.#refreshLoop();
  }

  async put(rule: MerchantRule): Promise<void> {
    await this.store.putMerchantRule(rule);
    this.#rules = Object.freeze([...this.#rules.filter((r) => r.match !== rule.match), rule]);
  }

  async delete(match: string): Promise<boolean> {
    const existed = await this.store.deleteMerchantRule(match);
    this.#rules = Object.freeze(this.#rules.filter((r) => r.match !== match));
    return existed;
  }

  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#loop;
  }

  async #refreshLoop(): Promise<void> {
    const signal = this.#stop.signal;
    while (!signal.aborted) {
      try {
        await sleep(this.refreshMs, undefined, { signal });
        this.#rules = Object.freeze(await this.store.listMerchantRules({ signal }));
      } catch (error) {
        if (signal.aborted) return;
        this.logger.warn({ err: error }, 'merchant rules refresh failed; keeping the last snapshot');
      }
    }
  }
}
