import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import { Samples, Tally } from './stats.js';

/** One request the generator sends: a JSON body for `POST /transactions`. */
export type NextRequest = (client: number, sequence: number) => string;

export interface RunResult {
  label: string;
  mode: 'closed' | 'open';
  durationS: number;
  requests: number;
  throughput: number;
  latency: Samples;
  codes: Tally;
  reasons: Tally;
  errors: number;
}

interface Target {
  base: string;
  connections: number;
  headers?: Record<string, string>;
}

async function send(pool: Pool, body: string, headers: Record<string, string>) {
  const response = await pool.request({
    path: '/transactions',
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json', ...headers },
  });
  const text = await response.body.text();
  const code = response.statusCode === 200 ? ((JSON.parse(text) as { code: string }).code ?? '?') : `HTTP ${response.statusCode}`;
  const reason = String(response.headers['catraca-reason'] ?? '');
  return { code, reason };
}

/**
 * Closed loop: `clients` workers, each sending its next request when the previous answer arrives. Measures service
 * time under a fixed concurrency; it cannot show queueing delay (see {@link openLoop}).
 */
export async function closedLoop(
  label: string,
  target: Target,
  options: { clients: number; durationMs: number; warmupMs: number; next: NextRequest },
): Promise<RunResult> {
  const pool = new Pool(target.base, { connections: Math.max(target.connections, options.clients), pipelining: 1 });
  const latency = new Samples();
  const codes = new Tally();
  const reasons = new Tally();
  let errors = 0;
  let requests = 0;
  const start = performance.now();
  const measureFrom = start + options.warmupMs;
  const end = measureFrom + options.durationMs;
  const headers = target.headers ?? {};
  await Promise.all(
    Array.from({ length: options.clients }, async (_, client) => {
      for (let sequence = 0; performance.now() < end; sequence++) {
        const body = options.next(client, sequence);
        const sent = performance.now();
        try {
          const answer = await send(pool, body, headers);
          const done = performance.now();
          if (sent >= measureFrom && done <= end) {
            latency.add(done - sent);
            codes.add(answer.code);
            reasons.add(answer.reason);
            requests++;
          }
        } catch {
          errors++;
          await sleep(5);
        }
      }
    }),
  );
  await pool.close();
  const durationS = options.durationMs / 1000;
  return { label, mode: 'closed', durationS, requests, throughput: requests / durationS, latency, codes, reasons, errors };
}

/**
 * Open loop: requests start at a constant arrival rate whatever the answers do, and each latency is measured from
 * the moment the request was due, so a stall shows up as the queueing delay a real client would see (no coordinated
 * omission). At most `maxInFlight` requests are outstanding; requests that could not start count as errors.
 */
export async function openLoop(
  label: string,
  target: Target,
  options: { ratePerS: number; durationMs: number; warmupMs: number; maxInFlight: number; next: NextRequest },
): Promise<RunResult> {
  const pool = new Pool(target.base, { connections: target.connections, pipelining: 1 });
  const latency = new Samples();
  const codes = new Tally();
  const reasons = new Tally();
  const headers = target.headers ?? {};
  let errors = 0;
  let requests = 0;
  let inFlight = 0;
  const intervalMs = 1000 / options.ratePerS;
  const start = performance.now();
  const measureFrom = start + options.warmupMs;
  const end = measureFrom + options.durationMs;
  const pending = new Set<Promise<void>>();
  for (let i = 0; ; i++) {
    const due = start + i * intervalMs;
    if (due >= end) break;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    if (inFlight >= options.maxInFlight) {
      if (due >= measureFrom) errors++;
      continue;
    }
    inFlight++;
    const body = options.next(0, i);
    const p = send(pool, body, headers)
      .then((answer) => {
        const done = performance.now();
        if (due >= measureFrom) {
          latency.add(done - due);
          codes.add(answer.code);
          reasons.add(answer.reason);
          requests++;
        }
      })
      .catch(() => {
        if (due >= measureFrom) errors++;
      })
      .finally(() => {
        inFlight--;
        pending.delete(p);
      });
    pending.add(p);
  }
  await Promise.all(pending);
  await pool.close();
  const durationS = options.durationMs / 1000;
  return { label, mode: 'open', durationS, requests, throughput: requests / durationS, latency, codes, reasons, errors };
}

export function formatRow(r: RunResult): string {
  const f = (n: number) => n.toFixed(2);
  return `| ${r.label} | ${r.mode} | ${Math.round(r.throughput)} | ${f(r.latency.percentile(50))} | ${f(r.latency.percentile(90))} | ${f(
    r.latency.percentile(99),
  )} | ${f(r.latency.percentile(99.9))} | ${f(r.latency.max())} | ${r.codes.format()} | ${r.reasons.format()} | ${r.errors} |`;
}

export const TABLE_HEADER =
  '| scenario | loop | req/s | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | codes | reasons | errors |\n' +
  '|---|---|---:|---:|---:|---:|---:|---:|---|---|---:|';
