/**
 * The race scenarios of `pnpm bench`: many purchases sent at once on a few accounts whose balance runs out, with no
 * client retry. The right answer is known in advance: exactly as many `00` as the balance affords, `51` for the rest,
 * and no `07` (SPEC: a `07` that is not an outage is a spurious one).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import { Samples } from './stats.js';

export interface RaceSpec {
  name: string;
  accounts: number;
  perAccount: number;
  /** Purchases of 1.00 each account's CASH balance affords. */
  affords: number;
}

export const RACES: readonly RaceSpec[] = Object.freeze([
  { name: '60 concurrent × 8 accounts', accounts: 8, perAccount: 60, affords: 40 },
  { name: '300 concurrent × 1 account', accounts: 1, perAccount: 300, affords: 100 },
]);

export interface RaceResult {
  spec: RaceSpec;
  approved: number;
  declined: number;
  sevens: Map<string, number>;
  errors: number;
  /** True when every account got exactly `affords` approvals and the rest declined, with no `07`. */
  exact: boolean;
  latency: Samples;
}

/** Runs one race against `base` (accounts are created fresh, named after `runId`). */
export async function race(base: string, spec: RaceSpec, runId: string): Promise<RaceResult> {
  const total = spec.accounts * spec.perAccount;
  const pool = new Pool(base, { connections: total, pipelining: 1 });
  const accounts = Array.from({ length: spec.accounts }, (_, i) => `race-${runId}-${i}`);
  try {
    // The previous run may have left a backlog on a loaded box: let it drain first.
    await sleep(2_000);
    for (const id of accounts) {
      for (let attempt = 1; ; attempt++) {
        const response = await pool.request({
          path: '/accounts',
          method: 'POST',
          body: JSON.stringify({ id, balances: { CASH: `${spec.affords}.00` } }),
          headers: { 'content-type': 'application/json' },
        });
        await response.body.text();
        if (response.statusCode === 201 || response.statusCode === 409) break;
        if (attempt >= 20) throw new Error(`race: creating ${id} answered ${response.statusCode}`);
        await sleep(500);
      }
    }
    // Open the connections first (a few at a time), so that the race measures the service, not TCP handshakes.
    for (let opened = 0; opened < total; opened += 32) {
      await Promise.all(
        Array.from({ length: Math.min(32, total - opened) }, async () => {
          const response = await pool.request({ path: '/healthz', method: 'GET' });
          await response.body.text();
        }),
      );
    }
    const latency = new Samples();
    const perAccount = new Map(accounts.map((a) => [a, { approved: 0, declined: 0 }]));
    const sevens = new Map<string, number>();
    let errors = 0;
    await Promise.all(
      accounts.flatMap((account) =>
        Array.from({ length: spec.perAccount }, async (_, i) => {
          const started = performance.now();
          try {
            const response = await pool.request({
              path: '/transactions',
              method: 'POST',
              body: JSON.stringify({ id: `${account}-${i}`, account, totalAmount: '1.00', mcc: '5999', merchant: 'LOJA' }),
              headers: { 'content-type': 'application/json' },
            });
            const { code } = JSON.parse(await response.body.text()) as { code: string };
            latency.add(performance.now() - started);
            const tally = perAccount.get(account)!;
            if (code === '00') tally.approved++;
            else if (code === '51') tally.declined++;
            else {
              const reason = String(response.headers['catraca-reason'] ?? '?');
              sevens.set(reason, (sevens.get(reason) ?? 0) + 1);
            }
          } catch {
            errors++;
          }
        }),
      ),
    );
    const tallies = [...perAccount.values()];
    return {
      spec,
      approved: tallies.reduce((s, t) => s + t.approved, 0),
      declined: tallies.reduce((s, t) => s + t.declined, 0),
      sevens,
      errors,
      exact: errors === 0 && tallies.every((t) => t.approved === spec.affords && t.declined === spec.perAccount - spec.affords),
      latency,
    };
  } finally {
    await pool.close();
  }
}
