/**
 * A small HTTP client for cluster tests: authorizations that retry an unknown or passing outcome with the same id
 * (what an acquirer does), and the admin reads a test checks the store with. Plain `fetch`; no test framework.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { sumSamples as metricSum } from '../bench/src/metrics.js';

export interface Reply {
  status: number;
  headers: Headers;
  text: string;
}

/** One request; a network error (connection refused, reset) is a rejected promise. */
export async function send(base: string, method: string, path: string, body?: unknown, timeoutMs = 30_000): Promise<Reply> {
  const response = await fetch(`${base}${path}`, {
    method,
    signal: AbortSignal.timeout(timeoutMs),
    ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

export interface Purchase {
  id: string;
  account: string;
  totalAmount: string;
  mcc: string;
  merchant: string;
}

export interface Answer {
  id: string;
  /** The last answer: `00`, `51`, `07`, or `none` when every attempt failed at the transport level. */
  code: '00' | '51' | '07' | 'none';
  /** `Catraca-Reason`, or the transport failure of the last attempt. */
  reason: string;
  replayed: boolean;
  attempts: number;
  /** `performance.now()` when the last attempt was sent and when it was answered. */
  sentAt: number;
  answeredAt: number;
}

/** `07` reasons that a client retries with the same id (passing conditions, or an outcome not known yet). */
const RETRIED_REASONS = new Set(['deadline_exceeded', 'unavailable', 'in_progress', 'outcome_unknown']);

export interface AuthorizeOptions {
  /** Most attempts. Default 20. */
  attempts?: number;
  /** Pause between attempts. Default 100 ms. */
  retryDelayMs?: number;
  /** Stop retrying once `performance.now()` passes this. Default: no bound beyond `attempts`. */
  until?: number;
}

/**
 * `POST /transactions`, retried with the same id while the outcome is unknown (a transport error, a 5xx from the load
 * balancer), a passing `07` (deadline_exceeded, unavailable: not remembered by the server, SPEC §2.4) or one whose
 * outcome is not known yet (in_progress, outcome_unknown: the retry gets the final answer, SPEC §2.3).
 */
export function authorize(base: string, purchase: Purchase, options: AuthorizeOptions = {}): Promise<Answer> {
  return retried(base, '/transactions', purchase, options);
}

export interface Reversal {
  id: string;
  original: string;
  account: string;
  amount?: string;
}

/** `POST /reversals`, retried like {@link authorize}. */
export function reverse(base: string, reversal: Reversal, options: AuthorizeOptions = {}): Promise<Answer> {
  return retried(base, '/reversals', reversal, options);
}

/** Sends `body` to a route that answers 200 `{"code"}`, retrying with the same id as {@link authorize} describes. */
async function retried(base: string, path: string, body: { id: string }, options: AuthorizeOptions): Promise<Answer> {
  const attempts = options.attempts ?? 20;
  const retryDelayMs = options.retryDelayMs ?? 100;
  let answer: Answer = { id: body.id, code: 'none', reason: '', replayed: false, attempts: 0, sentAt: 0, answeredAt: 0 };
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const sentAt = performance.now();
    try {
      const reply = await send(base, 'POST', path, body);
      const answeredAt = performance.now();
      if (reply.status === 200) {
        const code = (JSON.parse(reply.text) as { code: Answer['code'] }).code;
        const reason = reply.headers.get('catraca-reason') ?? '';
        answer = { id: body.id, code, reason, replayed: reply.headers.get('catraca-replayed') === 'true', attempts: attempt, sentAt, answeredAt };
        if (code !== '07' || !RETRIED_REASONS.has(reason)) return answer;
      } else {
        answer = { ...answer, code: 'none', reason: `http ${reply.status}`, attempts: attempt, sentAt, answeredAt };
      }
    } catch (error) {
      answer = { ...answer, code: 'none', reason: (error as Error).message, attempts: attempt, sentAt, answeredAt: performance.now() };
    }
    if (options.until !== undefined && performance.now() >= options.until) break;
    await sleep(retryDelayMs);
  }
  return answer;
}

/** Runs `work` over `items` with at most `concurrency` in flight; results in input order. */
export async function pool<T, R>(items: readonly T[], concurrency: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}

export interface AccountView {
  id: string;
  balances: Record<'FOOD' | 'MEAL' | 'CASH', string>;
  version: number;
}

export async function createAccount(base: string, id: string, balances: Record<string, string>): Promise<AccountView> {
  const reply = await send(base, 'POST', '/accounts', { id, balances });
  if (reply.status !== 201) throw new Error(`create account ${id}: ${reply.status} ${reply.text}`);
  return JSON.parse(reply.text) as AccountView;
}

export async function getAccount(base: string, id: string): Promise<AccountView> {
  const reply = await send(base, 'GET', `/accounts/${encodeURIComponent(id)}`);
  if (reply.status !== 200) throw new Error(`get account ${id}: ${reply.status} ${reply.text}`);
  return JSON.parse(reply.text) as AccountView;
}

export interface StoredTransaction {
  id: string;
  code: string;
  amount: string;
  kind?: string;
}

/** Every stored transaction of an account (all pages). */
export async function listTransactions(base: string, account: string): Promise<StoredTransaction[]> {
  let items: StoredTransaction[] = [];
  let cursor: string | undefined;
  do {
    const query = `limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const reply = await send(base, 'GET', `/accounts/${encodeURIComponent(account)}/transactions?${query}`);
    if (reply.status !== 200) throw new Error(`list transactions of ${account}: ${reply.status} ${reply.text}`);
    const page = JSON.parse(reply.text) as { items: StoredTransaction[]; nextCursor?: string };
    items = items.concat(page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return items;
}

/** Centavos of a two-place decimal string ("12.34" → 1234). */
export function centavos(amount: string): number {
  const match = /^(\d+)\.(\d{2})$/.exec(amount);
  if (!match) throw new Error(`not a two-place amount: ${amount}`);
  return Number(match[1]) * 100 + Number(match[2]);
}

/**
 * Sums the samples of one Prometheus metric in a replica's `/metrics` text whose labels include `labels`
 * (e.g. `metricSum(text, 'catraca_decisions_total', { code: '00' })`). The benchmark's parser, shared.
 */
export { metricSum };

/** Fetches `url/metrics` and sums one metric (see {@link metricSum}). */
export async function scrapeMetric(url: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  const response = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5_000) });
  if (!response.ok) throw new Error(`GET ${url}/metrics: ${response.status}`);
  return metricSum(await response.text(), name, labels);
}
