import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 1, 2.5];

/** The service's Prometheus metrics, on a registry of its own (so tests can build several apps in one process). */
export class Metrics {
  readonly registry = new Registry();

  readonly httpDuration = new Histogram({
    name: 'catraca_http_request_duration_seconds',
    help: 'HTTP request duration by route, status, and for authorizations the answer code and reason',
    labelNames: ['method', 'route', 'status', 'code', 'reason'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  readonly decisions = new Counter({
    name: 'catraca_decisions_total',
    help: 'Authorization and credit answers by kind, code and reason',
    labelNames: ['kind', 'code', 'reason'] as const,
    registers: [this.registry],
  });

  readonly reversals = new Counter({
    name: 'catraca_reversals_total',
    help: 'Reversal answers by code and reason (reversed, nothing_to_reverse, original_unknown, exceeds_remaining, …)',
    labelNames: ['code', 'reason'] as const,
    registers: [this.registry],
  });

  readonly lockWait = new Histogram({
    name: 'catraca_lock_wait_seconds',
    help: 'Time spent waiting for a per-account lock (one acquisition may serve a batch)',
    labelNames: ['outcome'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  readonly lockHold = new Histogram({
    name: 'catraca_lock_hold_seconds',
    help: 'Time a per-account lock was held',
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  readonly batchSize = new Histogram({
    name: 'catraca_lock_batch_size',
    help: 'Transactions served per lock acquisition',
    buckets: [1, 2, 4, 8, 16, 32, 64, 128],
    registers: [this.registry],
  });

  readonly degraded = new Counter({
    name: 'catraca_degraded_decisions_total',
    help: 'Decisions made while a dependency was unavailable, by dependency and policy',
    labelNames: ['dependency', 'policy'] as const,
    registers: [this.registry],
  });

  readonly storeCommit = new Histogram({
    name: 'catraca_store_commit_seconds',
    help: 'Store commit latency by outcome',
    labelNames: ['outcome'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  readonly versionConflicts = new Counter({
    name: 'catraca_version_conflicts_total',
    help: 'Commits refused by the version compare-and-set (the fence), then retried',
    registers: [this.registry],
  });

  readonly cacheLookups = new Counter({
    name: 'catraca_cache_lookups_total',
    help: 'Result-cache lookups by outcome (hit, miss, bypass)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly forwards = new Counter({
    name: 'catraca_forwards_total',
    help: 'Requests forwarded to the home replica of their account, by outcome',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly forwardsServed = new Counter({
    name: 'catraca_forwards_served_total',
    help: 'Forwarded requests received from other replicas, by answer (served or not_owner)',
    labelNames: ['answer'] as const,
    registers: [this.registry],
  });

  readonly requestsByActor = new Counter({
    name: 'catraca_requests_by_actor_total',
    help: 'Authenticated requests by scope and credential name (anonymous on a scope without credentials)',
    labelNames: ['scope', 'actor', 'status'] as const,
    registers: [this.registry],
  });

  readonly cacheInvalidEntries = new Counter({
    name: 'catraca_cache_invalid_entries_total',
    help: 'Result-cache entries ignored because their signature did not verify (forged, corrupted or another key)',
    registers: [this.registry],
  });

  readonly rateLimited = new Counter({
    name: 'catraca_rate_limited_total',
    help: 'Requests refused by a rate limit, by scope and bucket kind (credential or address)',
    labelNames: ['scope', 'kind'] as const,
    registers: [this.registry],
  });

  readonly dependencyUp = new Gauge({
    name: 'catraca_dependency_up',
    help: 'Whether a dependency answered its last check (1) or not (0), by dependency (store, lock, cache)',
    labelNames: ['dependency'] as const,
    registers: [this.registry],
  });

  readonly coordinationState = new Gauge({
    name: 'catraca_coordination_state',
    help: 'Lock service connection state (1 for the current state)',
    labelNames: ['state'] as const,
    registers: [this.registry],
  });

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'catraca_' });
  }

  setCoordinationState(state: string): void {
    for (const s of ['connected', 'suspended', 'reconnected', 'lost', 'closed']) {
      this.coordinationState.set({ state: s }, s === state ? 1 : 0);
    }
  }
}
