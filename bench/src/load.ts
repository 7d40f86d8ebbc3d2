/**
 * The load generator: keep-alive connections (an undici Pool), unique ids chosen by the caller, optional retries
 * that reuse the id, and two modes — closed loop (N clients) and open loop (a constant arrival rate, latency from
 * the intended start so that queueing delay is measured, not hidden).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import { Samples, Tally } from './stats.js';

/**
 * One request the generator sends: a JSON body for `POST /transactions`, or the body and how many copies of it to
 * send at once (a retry storm: the same id and payload, concurrently), and where (a reversal: `POST /reversals`).
 */
export type NextRequest = (client: number, sequence: number) => string | Outgoing;

export interface Outgoing {
  body: string;
  /** Copies sent concurrently, each measured and counted as one request. Default 1. */
  copies: number;
  /** Default `/transactions`. */
  path?: string;
}

/**
 * What a client does with a `07` or a transport failure (connection refused or reset, a non-200 from the load
 * balancer): send the same body — the same id — again after `backoffMs × attempt`, at most `maxRetries` times.
 */
export interface RetryPolicy {
  maxRetries: number;
  backoffMs: number;
}

export interface RunResult {
  label: string;
  mode: 'closed' | 'open';
  durationS: number;
  /** Answered requests in the measured window (a request retried counts once, with its final answer). */
  requests: number;
  throughput: number;
  /** From the first send (closed loop) or the intended start (open loop) to the final answer. */
  latency: Samples;
  /** Final answers. */
  codes: Tally;
  reasons: Tally;
  /** Requests that got no answer at all (every attempt failed at the transport level). */
  errors: number;
  /** Extra attempts sent by the retry policy. */
  retries: number;
  /** `07` answers seen on any attempt (retried or final), by reason: the spurious-07 count. */
  sevens: Tally;
  /** Answers marked `Catraca-Replayed: true` (the first answer of an id, served again). */
  replayed: number;
  /** Groups of concurrent copies (same id) whose final decisions differed, `00` for one and `51` for another (must be 0). */
  mismatches: number;
  /** Open loop: arrivals not sent because `maxInFlight` requests were outstanding. */
  dropped: number;
}

export interface Target {
  base: string;
  connections: number;
  headers?: Record<string, string>;
}

interface Answer {
  code: string;
  reason: string;
  replayed: boolean;
}

class Recorder {
  readonly latency = new Samples();
  readonly codes = new Tally();
  readonly reasons = new Tally();
  readonly sevens = new Tally();
  requests = 0;
  errors = 0;
  retries = 0;
  replayed = 0;
  mismatches = 0;
  dropped = 0;

  result(label: string, mode: 'closed' | 'open', durationMs: number): RunResult {
    const durationS = durationMs / 1000;
    return {
      label,
      mode,
      durationS,
      requests: this.requests,
      throughput: this.requests / durationS,
      latency: this.latency,
      codes: this.codes,
      reasons: this.reasons,
      errors: this.errors,
      retries: this.retries,
      sevens: this.sevens,
      replayed: this.replayed,
      mismatches: this.mismatches,
      dropped: this.dropped,
    };
  }
}

async function sendOnce(pool: Pool, path: string, body: string, headers: Record<string, string>): Promise<Answer> {
  const response = await pool.request({
    path,
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json', ...headers },
  });
  const text = await response.body.text();
  const code = response.statusCode === 200 ? ((JSON.parse(text) as { code: string }).code ?? '?') : `HTTP ${response.statusCode}`;
  return {
    code,
    reason: String(response.headers['catraca-reason'] ?? ''),
    replayed: response.headers['catraca-replayed'] === 'true',
  };
}

/**
 * Sends `body`, retrying per `retry`. Resolves with the final answer, or undefined when no attempt got one.
 * `counted` says whether this request falls in the measured window (retries and 07s are then tallied).
 */
async function sendWithRetries(
  pool: Pool,
  path: string,
  body: string,
  headers: Record<string, string>,
  retry: RetryPolicy | undefined,
  recorder: Recorder,
  counted: () => boolean,
): Promise<Answer | undefined> {
  const maxRetries = retry?.maxRetries ?? 0;
  let last: Answer | undefined;
  for (let attempt = 0; attempt <= maxRetries; attempt++) {
    if (attempt > 0) {
      if (counted()) recorder.retries++;
      await sleep((retry?.backoffMs ?? 0) * attempt);
    }
    try {
      last = await sendOnce(pool, path, body, headers);
      if (last.code === '07' && counted()) recorder.sevens.add(last.reason);
      if (last.code === '00' || last.code === '51') return last;
    } catch {
      last = undefined;
    }
  }
  return last;
}

function outgoing(next: string | Outgoing): Outgoing {
  return typeof next === 'string' ? { body: next, copies: 1 } : next;
}

/** Sends the copies of one request, records every answer measured from `startedAt`. */
async function sendGroup(
  pool: Pool,
  request: Outgoing,
  headers: Record<string, string>,
  retry: RetryPolicy | undefined,
  recorder: Recorder,
  startedAt: number,
  inWindow: (done: number) => boolean,
): Promise<void> {
  const answers = await Promise.all(
    Array.from({ length: request.copies }, async () => {
      const path = request.path ?? '/transactions';
      const answer = await sendWithRetries(pool, path, request.body, headers, retry, recorder, () => inWindow(Number.NaN));
      const done = performance.now();
      if (!inWindow(done)) return answer;
      if (!answer) {
        recorder.errors++;
        return answer;
      }
      recorder.latency.add(done - startedAt);
      recorder.codes.add(answer.code);
      recorder.reasons.add(answer.reason);
      if (answer.replayed) recorder.replayed++;
      recorder.requests++;
      return answer;
    }),
  );
  if (request.copies > 1 && inWindow(Number.NaN)) {
    // Copies of one id must never get different decisions; a 07 next to a 00 is a passing condition, not a conflict.
    const decisions = new Set(answers.map((a) => a?.code).filter((code) => code === '00' || code === '51'));
    if (decisions.size > 1) recorder.mismatches++;
  }
}

/**
 * Closed loop: `clients` workers, each sending its next request when the previous answer arrives. Measures service
 * time under a fixed concurrency; it cannot show queueing delay (see {@link openLoop}).
 */
export async function closedLoop(
  label: string,
  target: Target,
  options: { clients: number; durationMs: number; warmupMs: number; next: NextRequest; retry?: RetryPolicy },
): Promise<RunResult> {
  const pool = new Pool(target.base, { connections: Math.max(target.connections, options.clients), pipelining: 1 });
  const recorder = new Recorder();
  const start = performance.now();
  const measureFrom = start + options.warmupMs;
  const end = measureFrom + options.durationMs;
  const headers = target.headers ?? {};
  await Promise.all(
    Array.from({ length: options.clients }, async (_, client) => {
      for (let sequence = 0; performance.now() < end; sequence++) {
        const request = outgoing(options.next(client, sequence));
        const sent = performance.now();
        // A request is measured when it started after the warm-up and was answered before the end (NaN: "so far").
        const inWindow = (done: number) => sent >= measureFrom && (Number.isNaN(done) || done <= end);
        const before = recorder.errors;
        await sendGroup(pool, request, headers, options.retry, recorder, sent, inWindow);
        if (recorder.errors > before) await sleep(5);
      }
    }),
  );
  await pool.close();
  return recorder.result(label, 'closed', options.durationMs);
}

/**
 * Open loop: requests start at a constant arrival rate whatever the answers do, and each latency is measured from
 * the moment the request was due, so a stall shows up as the queueing delay a real client would see (no coordinated
 * omission: a late generator or a queue in the connection pool only makes latencies larger). At most `maxInFlight`
 * requests are outstanding; arrivals beyond that are counted as `dropped`, never silently skipped.
 */
export async function openLoop(
  label: string,
  target: Target,
  options: { ratePerS: number; durationMs: number; warmupMs: number; maxInFlight: number; next: NextRequest; retry?: RetryPolicy },
): Promise<RunResult> {
  const pool = new Pool(target.base, { connections: target.connections, pipelining: 1 });
  const recorder = new Recorder();
  const headers = target.headers ?? {};
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
    const measured = due >= measureFrom;
    if (inFlight >= options.maxInFlight) {
      if (measured) recorder.dropped++;
      continue;
    }
    inFlight++;
    const request = outgoing(options.next(0, i));
    // Every arrival due in the window is measured, however late its answer: the run waits for all of them.
    const p = sendGroup(pool, request, headers, options.retry, recorder, due, () => measured).finally(() => {
      inFlight--;
      pending.delete(p);
    });
    pending.add(p);
  }
  await Promise.all(pending);
  await pool.close();
  return recorder.result(label, 'open', options.durationMs);
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
