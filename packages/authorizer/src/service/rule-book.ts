import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { MerchantRule } from '../domain/types.js';
import type { Store } from '../store/port.js';

/**
 * Change notification between replicas (cluster mode: a ZooKeeper data watch on a topic node). `healthy` says whether
 * notifications can be trusted right now (the coordination session is up).
 */
export interface RuleChangeNotifier {
  notify(options: { signal: AbortSignal }): Promise<void>;
  watch(listener: () => void): () => void;
  healthy(): boolean;
}

/** With a healthy notifier, the store is still read at least this often (a safety net for a lost notification). */
const SAFETY_REFRESH_MS = 10_000;

/**
 * The merchant rules every request decides with. Local changes apply at once. With a {@link RuleChangeNotifier}
 * (cluster mode), a change made through any replica is pushed: the replica that made it notifies after writing, and
 * every replica re-reads the rules when notified (well within 100 ms); while the notifier is unhealthy (ZooKeeper down),
 * and without one, the snapshot is refreshed from the store every `refreshMs` (default 500 ms; SPEC: within one
 * second). A failed refresh keeps the last good snapshot.
 */
export class RuleBook {
  #rules: readonly MerchantRule[] = [];
  readonly #stop = new AbortController();
  #loop: Promise<void> | undefined;
  #lastRefresh = 0;
  #refreshing: Promise<void> | undefined;
  #again = false;
  #unwatch: (() => void) | undefined;

  constructor(
    private readonly store: Store,
    private readonly logger: Logger,
    private readonly refreshMs: number,
    private readonly notifier?: RuleChangeNotifier,
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
    this.#lastRefresh = performance.now();
    this.#unwatch = this.notifier?.watch(() => void this.refresh());
    this.#loop = this.#refreshLoop();
  }

  async put(rule: MerchantRule): Promise<void> {
    await this.store.putMerchantRule(rule);
    this.#rules = Object.freeze([...this.#rules.filter((r) => r.match !== rule.match), rule]);
    await this.#notify();
  }

  async delete(match: string): Promise<boolean> {
    const existed = await this.store.deleteMerchantRule(match);
    this.#rules = Object.freeze(this.#rules.filter((r) => r.match !== match));
    if (existed) await this.#notify();
    return existed;
  }

  /** Re-reads the rules now (a notification); concurrent calls share one read, and one more follows if needed. */
  refresh(): Promise<void> {
    if (this.#refreshing) {
      this.#again = true;
      return this.#refreshing;
    }
    this.#refreshing = (async () => {
      do {
        this.#again = false;
        try {
          this.#rules = Object.freeze(await this.store.listMerchantRules({ signal: this.#stop.signal }));
          this.#lastRefresh = performance.now();
        } catch (error) {
          if (this.#stop.signal.aborted) return;
          this.logger.warn({ err: error }, 'merchant rules refresh failed; keeping the last snapshot');
        }
      } while (this.#again && !this.#stop.signal.aborted);
    })().finally(() => (this.#refreshing = undefined));
    return this.#refreshing;
  }

  async stop(): Promise<void> {
    this.#unwatch?.();
    this.#stop.abort();
    await this.#loop;
    await this.#refreshing;
  }

  /** Tells the other replicas (bounded: the change is stored; without a notification they see it by polling). */
  async #notify(): Promise<void> {
    if (!this.notifier) return;
    try {
      await this.notifier.notify({ signal: AbortSignal.timeout(1_000) });
    } catch (error) {
      this.logger.warn({ err: error }, 'merchant rules change not pushed; the other replicas will poll it');
    }
  }

  async #refreshLoop(): Promise<void> {
    const signal = this.#stop.signal;
    while (!signal.aborted) {
      try {
        await sleep(this.refreshMs, undefined, { signal });
      } catch {
        return;
      }
      const pushed = this.notifier?.healthy() ?? false;
      if (pushed && performance.now() - this.#lastRefresh < SAFETY_REFRESH_MS) continue;
      await this.refresh();
    }
  }
}
