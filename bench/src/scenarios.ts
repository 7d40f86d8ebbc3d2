/**
 * The workloads of `pnpm bench`: which account each purchase goes to, and how the accounts are created (through the
 * admin API, concurrently, with balances large enough that answers are mostly `00`).
 */
import { Pool } from 'undici';
import type { NextRequest } from './load.js';

export const SCENARIOS = ['uniform', 'warm', 'zipf', 'hot', 'storm', 'reversals'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

export const ACCOUNTS = 10_000;
/** The warm uniform scenario draws from the first this many accounts: each sees many purchases per run. */
export const WARM_ACCOUNTS = 300;
/** Per category; at 1.00 a purchase the accounts never run out during a run. */
export const BALANCE = '1000000.00';
export const ZIPF_S = 1.1;
/** Retry storm: this share of purchases is sent as {@link STORM_COPIES} concurrent copies (same id, same body). */
export const STORM_SHARE = 0.1;
export const STORM_COPIES = 4;
/** Reversals: this share of purchases is reversed (half in full, half 0.50 of its 1.00) as the client's next request. */
export const REVERSAL_SHARE = 0.1;

export const SCENARIO_TITLES: Record<ScenarioName, string> = {
  uniform: `uniform over ${ACCOUNTS.toLocaleString('en')} accounts (cold: each seen about once per run)`,
  warm: `uniform over ${WARM_ACCOUNTS} accounts (warm)`,
  zipf: `Zipf s=${ZIPF_S} over ${ACCOUNTS.toLocaleString('en')} accounts`,
  hot: 'one hot account',
  storm: `retry storm: ${STORM_SHARE * 100}% of purchases sent ${STORM_COPIES}× at once (same id), uniform`,
  reversals: `uniform, ${REVERSAL_SHARE * 100}% of purchases reversed (in full or in part) by the next request of the same client`,
};

const MERCHANTS = ['PADARIA DO ZE', 'RESTAURANTE SABOR', 'UBER EATS SAO PAULO BR', 'FARMACIA CENTRAL'];
const MCCS = ['5411', '5811', '5999', '5912'];

/** Inverse-CDF sampler of ranks 0..n-1 with P(k) ∝ 1/(k+1)^s. */
export function zipfSampler(n: number, s: number, random: () => number = Math.random): () => number {
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let k = 0; k < n; k++) {
    sum += 1 / (k + 1) ** s;
    cdf[k] = sum;
  }
  for (let k = 0; k < n; k++) cdf[k]! /= sum;
  return () => {
    const u = random();
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cdf[mid]! < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

export function uniformAccount(index: number): string {
  return `u-${index}`;
}

/**
 * The request generator of one run. `runId` makes every id unique across runs and configurations; `hotAccount` is
 * the account of the hot scenario (a fresh one per run).
 */
export function generator(scenario: ScenarioName, runId: string, hotAccount: string): NextRequest {
  const zipf = zipfSampler(ACCOUNTS, ZIPF_S);
  const account = (): string => {
    switch (scenario) {
      case 'hot':
        return hotAccount;
      case 'zipf':
        return uniformAccount(zipf());
      case 'warm':
        return uniformAccount(Math.floor(Math.random() * WARM_ACCOUNTS));
      case 'uniform':
      case 'storm':
      case 'reversals':
        return uniformAccount(Math.floor(Math.random() * ACCOUNTS));
    }
  };
  /** Reversals: the purchase each client reverses with its next request. */
  const due = new Map<number, { id: string; account: string }>();
  return (client, sequence) => {
    const reversal = due.get(client);
    if (reversal) {
      due.delete(client);
      const amount = Math.random() < 0.5 ? { amount: '0.50' } : {};
      const body = JSON.stringify({ id: `${reversal.id}-rev`, original: reversal.id, account: reversal.account, ...amount });
      return { body, copies: 1, path: '/reversals' };
    }
    const id = `${runId}-${client}-${sequence}`;
    const to = account();
    if (scenario === 'reversals' && Math.random() < REVERSAL_SHARE) due.set(client, { id, account: to });
    const body = JSON.stringify({
      id,
      account: to,
      totalAmount: '1.00',
      mcc: MCCS[sequence % MCCS.length],
      merchant: MERCHANTS[(client + sequence) % MERCHANTS.length],
    });
    if (scenario === 'storm' && Math.random() < STORM_SHARE) return { body, copies: STORM_COPIES };
    return body;
  };
}

/** Creates accounts through `POST /accounts` with `concurrency` requests in flight; an existing id (409) is fine. */
export async function createAccounts(base: string, ids: readonly string[], concurrency = 32): Promise<number> {
  const pool = new Pool(base, { connections: concurrency, pipelining: 1 });
  const started = performance.now();
  let next = 0;
  try {
    await Promise.all(
      Array.from({ length: Math.min(concurrency, ids.length) }, async () => {
        while (next < ids.length) {
          const id = ids[next++]!;
          for (let attempt = 1; ; attempt++) {
            const response = await pool.request({
              path: '/accounts',
              method: 'POST',
              body: JSON.stringify({ id, balances: { FOOD: BALANCE, MEAL: BALANCE, CASH: BALANCE } }),
              headers: { 'content-type': 'application/json' },
            });
            const text = await response.body.text();
            if (response.statusCode === 201 || response.statusCode === 409) break;
            if (attempt >= 5) throw new Error(`create account ${id}: HTTP ${response.statusCode} ${text}`);
          }
        }
      }),
    );
  } finally {
    await pool.close();
  }
  return performance.now() - started;
}
