/**
 * Reads the service's Prometheus histograms before and after a run and turns the difference into means: where a
 * request spent its time (lock wait, store commit, whole HTTP request) and how many purchases one lock served.
 */
import { request } from 'undici';

/** Sum of every sample of `name` (all label sets) whose labels contain each of `labels`. */
export function sumSamples(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const match = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!match || match[1] !== name) continue;
    const labelText = match[2] ?? '';
    if (Object.entries(labels).every(([k, v]) => labelText.includes(`${k}="${v}"`))) sum += Number(match[3]);
  }
  return sum;
}

/** The counters a report needs, summed over every replica. */
export interface Snapshot {
  lockWaitSum: number;
  lockWaitCount: number;
  lockHoldSum: number;
  lockHoldCount: number;
  batchSum: number;
  batchCount: number;
  commitSum: number;
  commitCount: number;
  httpSum: number;
  httpCount: number;
  versionConflicts: number;
  degraded: number;
  cacheHits: number;
}

const EMPTY: Snapshot = Object.freeze({
  lockWaitSum: 0,
  lockWaitCount: 0,
  lockHoldSum: 0,
  lockHoldCount: 0,
  batchSum: 0,
  batchCount: 0,
  commitSum: 0,
  commitCount: 0,
  httpSum: 0,
  httpCount: 0,
  versionConflicts: 0,
  degraded: 0,
  cacheHits: 0,
});

function parse(text: string): Snapshot {
  const tx = { route: '/transactions' };
  return {
    lockWaitSum: sumSamples(text, 'catraca_lock_wait_seconds_sum'),
    lockWaitCount: sumSamples(text, 'catraca_lock_wait_seconds_count'),
    lockHoldSum: sumSamples(text, 'catraca_lock_hold_seconds_sum'),
    lockHoldCount: sumSamples(text, 'catraca_lock_hold_seconds_count'),
    batchSum: sumSamples(text, 'catraca_lock_batch_size_sum'),
    batchCount: sumSamples(text, 'catraca_lock_batch_size_count'),
    commitSum: sumSamples(text, 'catraca_store_commit_seconds_sum'),
    commitCount: sumSamples(text, 'catraca_store_commit_seconds_count'),
    httpSum: sumSamples(text, 'catraca_http_request_duration_seconds_sum', tx),
    httpCount: sumSamples(text, 'catraca_http_request_duration_seconds_count', tx),
    versionConflicts: sumSamples(text, 'catraca_version_conflicts_total'),
    degraded: sumSamples(text, 'catraca_degraded_decisions_total'),
    cacheHits: sumSamples(text, 'catraca_cache_lookups_total', { outcome: 'hit' }),
  };
}

/** Scrapes `/metrics` of every URL and adds them up; a replica that does not answer counts as zero. */
export async function scrape(urls: readonly string[]): Promise<Snapshot> {
  const parts = await Promise.all(
    urls.map(async (url) => {
      try {
        const response = await request(`${url}/metrics`, { headersTimeout: 5_000, bodyTimeout: 5_000 });
        const text = await response.body.text();
        return response.statusCode === 200 ? parse(text) : EMPTY;
      } catch {
        return EMPTY;
      }
    }),
  );
  const total: Snapshot = { ...EMPTY };
  for (const part of parts) for (const key of Object.keys(total) as (keyof Snapshot)[]) total[key] += part[key];
  return total;
}

/** What happened between two snapshots, as means in milliseconds (NaN when nothing was observed). */
export interface ServerSide {
  /** Mean server time of one `POST /transactions`. */
  httpMs: number;
  /** Mean wait for a per-account lock (one acquisition may serve a batch). */
  lockWaitMs: number;
  lockAcquisitions: number;
  lockHoldMs: number;
  /** Mean purchases decided per lock acquisition. */
  batchSize: number;
  /** Mean store commit (one commit may carry a batch). */
  commitMs: number;
  commits: number;
  versionConflicts: number;
  degraded: number;
  cacheHits: number;
}

export function difference(before: Snapshot, after: Snapshot): ServerSide {
  const mean = (sum: keyof Snapshot, count: keyof Snapshot, scale: number) => {
    const n = after[count] - before[count];
    return n > 0 ? ((after[sum] - before[sum]) / n) * scale : Number.NaN;
  };
  return {
    httpMs: mean('httpSum', 'httpCount', 1000),
    lockWaitMs: mean('lockWaitSum', 'lockWaitCount', 1000),
    lockAcquisitions: after.lockWaitCount - before.lockWaitCount,
    lockHoldMs: mean('lockHoldSum', 'lockHoldCount', 1000),
    batchSize: mean('batchSum', 'batchCount', 1),
    commitMs: mean('commitSum', 'commitCount', 1000),
    commits: after.commitCount - before.commitCount,
    versionConflicts: after.versionConflicts - before.versionConflicts,
    degraded: after.degraded - before.degraded,
    cacheHits: after.cacheHits - before.cacheHits,
  };
}
