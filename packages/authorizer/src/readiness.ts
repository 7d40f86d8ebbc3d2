import type { ResultCache } from '@catraca/cache';
import type { LockManager } from '@catraca/coordination';
import type { Config } from './config.js';
import type { ReadinessReport } from './http/routes-ops.js';
import type { Metrics } from './metrics.js';
import type { Store } from './store/port.js';

/** How often dependencies are checked for the `catraca_dependency_up` gauge when no probe asks. */
const CHECK_INTERVAL_MS = 5_000;
const STORE_PING_TIMEOUT_MS = 1_000;

export interface Readiness {
  /** The report behind `/readyz`; also refreshes the dependency gauge. */
  check(): Promise<ReadinessReport>;
  /** Stops the periodic dependency check. */
  stop(): void;
}

/**
 * Readiness says whether THIS replica should get traffic: not while draining, and not while its own lock session is
 * unusable under `LOCK_UNAVAILABLE=fail-closed` (it would refuse everything while others may hold a session). The
 * shared store is reported (`checks.store`, gauge `catraca_dependency_up{dependency="store"}`) but does not decide
 * readiness: a store blip would take every replica out of the Service at once, and callers would get connection
 * errors instead of `{"code":"07"}`. Store, lock and cache health go to metrics and alerts (deploy/monitoring).
 */
export function createReadiness(deps: {
  config: Config;
  store: Store;
  locks: LockManager | undefined;
  cache: ResultCache;
  metrics: Metrics;
  draining: () => boolean;
}): Readiness {
  const { config, store, locks, cache, metrics } = deps;
  const check = async (): Promise<ReadinessReport> => {
    const checks: Record<string, string> = {};
    let ready = !deps.draining();
    if (!ready) checks['server'] = 'draining';
    try {
      await store.ping({ signal: AbortSignal.timeout(STORE_PING_TIMEOUT_MS) });
      checks['store'] = 'up';
    } catch {
      checks['store'] = 'down';
    }
    metrics.dependencyUp.set({ dependency: 'store' }, checks['store'] === 'up' ? 1 : 0);
    if (locks) {
      const state = locks.state;
      checks['lock'] = state;
      const usable = state === 'connected' || state === 'reconnected';
      metrics.dependencyUp.set({ dependency: 'lock' }, usable ? 1 : 0);
      if (!usable && config.LOCK_UNAVAILABLE === 'fail-closed') ready = false;
    } else {
      checks['lock'] = 'none';
    }
    checks['cache'] = cache.healthy() ? 'up' : 'bypassed';
    metrics.dependencyUp.set({ dependency: 'cache' }, checks['cache'] === 'up' ? 1 : 0);
    return { ready, checks };
  };
  const timer = setInterval(() => void check().catch(() => {}), CHECK_INTERVAL_MS);
  timer.unref();
  return { check, stop: () => clearInterval(timer) };
}
