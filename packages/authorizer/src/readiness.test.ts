import type { ResultCache } from '@catraca/cache';
import type { LockManager } from '@catraca/coordination';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { StoreUnavailableError } from './errors.js';
import { Metrics } from './metrics.js';
import { createReadiness, type Readiness } from './readiness.js';
import type { Store } from './store/port.js';

const storeDown = { ping: () => Promise.reject(new StoreUnavailableError('down')) } as unknown as Store;
const storeUp = { ping: () => Promise.resolve() } as unknown as Store;
const cache = { healthy: () => true } as unknown as ResultCache;
const lockLost = { state: 'lost' } as unknown as LockManager;

let readiness: Readiness | undefined;
afterEach(() => readiness?.stop());

async function gauge(metrics: Metrics, dependency: string): Promise<number | undefined> {
  const metric = await metrics.dependencyUp.get();
  return metric.values.find((v) => v.labels['dependency'] === dependency)?.value;
}

describe('readiness', () => {
  it('stays ready while the shared store is down, and reports it in checks and the dependency gauge', async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    const config = loadConfig({});
    const deps = { config, store: storeDown, locks: undefined, cache, metrics };
    readiness = createReadiness({ ...deps, draining: () => false });
    const report = await readiness.check();
    expect(report).toEqual({ ready: true, checks: { store: 'down', lock: 'none', cache: 'up' } });
    expect(await gauge(metrics, 'store')).toBe(0);
  });

  it('is not ready while draining, nor with a lost lock session under fail-closed (the replica’s own)', async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    let draining = true;
    const fenceOnly = loadConfig({});
    const deps = { store: storeUp, locks: lockLost, cache, metrics };
    readiness = createReadiness({ ...deps, config: fenceOnly, draining: () => draining });
    expect(await readiness.check()).toMatchObject({ ready: false, checks: { server: 'draining', lock: 'lost' } });
    draining = false;
    expect(await readiness.check()).toMatchObject({ ready: true });
    expect(await gauge(metrics, 'lock')).toBe(0);
    readiness.stop();
    const failClosed = loadConfig({ LOCK_UNAVAILABLE: 'fail-closed' });
    readiness = createReadiness({ ...deps, config: failClosed, draining: () => false });
    expect(await readiness.check()).toMatchObject({ ready: false, checks: { store: 'up', lock: 'lost' } });
  });
});
