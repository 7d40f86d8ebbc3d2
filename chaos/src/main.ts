/**
 * `pnpm chaos [--full] [--scenario=N[,M]] [--driver=local|compose]`: the chaos suite (`compose`: the local docker
 * compose stack of scripts/compose-local.sh, brought up and torn down by the run). Starts a cluster, creates the
 * accounts, runs steady load, and for each scenario injects one fault and lifts it; after each, the invariant checker
 * reads the store. Prints per phase requests, availability, p99 and the verdict; writes the markdown table to
 * chaos/results/. Exit code 1 when an invariant failed (availability dips are reported, not failures), 2 on an error.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Balances } from '@catraca/authorizer';
import { ComposeDriver } from './compose-driver.js';
import { UnsupportedFaultError, type ClusterDriver } from './driver.js';
import { checkInvariants } from './invariants.js';
import { LoadGenerator } from './load.js';
import { LocalDriver } from './local-driver.js';
import { markdownTable, phaseStats, scenarioText, verdictText, type ScenarioResult } from './report.js';
import { SCENARIOS, type Timing } from './scenarios.js';

const { values } = parseArgs({
  options: {
    full: { type: 'boolean', default: false },
    scenario: { type: 'string' },
    driver: { type: 'string', default: 'local' },
    clients: { type: 'string', default: '16' },
    accounts: { type: 'string', default: '50' },
    // Default: the product's own DEADLINE_MS (80 ms), so availability is reported where clients live.
    'deadline-ms': { type: 'string' },
    seed: { type: 'string', default: '1' },
    'save-logs': { type: 'boolean', default: false },
    'no-ownership': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
const usage = 'Usage: pnpm chaos [--full] [--scenario=N[,M…]] [--driver=local|compose] [--clients=16] [--accounts=50] [--deadline-ms=80] [--seed=1] [--save-logs] [--no-ownership]\n';
if (values.help) {
  process.stdout.write(usage);
  process.exit(0);
}
const int = (name: string, raw: string | undefined, min: number): number => {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) {
    process.stderr.write(`chaos: --${name} must be an integer >= ${min}, got ${raw}\n${usage}`);
    process.exit(2);
  }
  return n;
};
const clients = int('clients', values.clients, 1);
const accountCount = int('accounts', values.accounts, 1);
const deadlineMs = int('deadline-ms', values['deadline-ms'] ?? '80', 1);
const seed = int('seed', values.seed, 0);
const selected = values.scenario === undefined ? SCENARIOS : SCENARIOS.filter((s) => values.scenario!.split(',').map(Number).includes(s.number));
if (selected.length === 0) {
  process.stderr.write(`chaos: no scenario ${values.scenario} (1–${SCENARIOS.length})\n`);
  process.exit(2);
}
const mode = values.full ? 'full' : 'short';
const timing: Timing = values.full ? { beforeMs: 30_000, holdMs: 30_000, afterMs: 30_000 } : { beforeMs: 8_000, holdMs: 8_000, afterMs: 10_000 };
const SESSION_TIMEOUT_MS = 4_000;

let driver: ClusterDriver;
if (values.driver === 'local') {
  driver = new LocalDriver({
    replicas: 2,
    sessionTimeoutMs: SESSION_TIMEOUT_MS,
    env: { DEADLINE_MS: String(deadlineMs) },
    ownership: !values['no-ownership'],
  });
} else if (values.driver === 'compose') {
  driver = new ComposeDriver({ baseEnv: { DEADLINE_MS: String(deadlineMs), STORE_COMMIT_TIMEOUT_MS: '2000' } });
} else {
  process.stderr.write(`chaos: --driver must be local or compose, got ${values.driver}\n`);
  process.exit(2);
}

const say = (text: string): void => void process.stdout.write(`${text}\n`);
const runId = `chaos-${Date.now().toString(36)}`;
const suiteStart = performance.now();
let stopping = false;
const shutdown = async (signal: string): Promise<void> => {
  if (stopping) return;
  stopping = true;
  say(`\n${signal}: stopping the cluster…`);
  await driver.stop().catch(() => {});
  process.exit(130);
};
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
// A last bound on the whole run (a hung fault action must not hang CI).
const watchdog = setTimeout(() => {
  process.stderr.write('chaos: the suite exceeded its time bound; stopping\n');
  void driver.stop().finally(() => process.exit(3));
}, values.full ? 60 * 60_000 : 20 * 60_000);
watchdog.unref();

async function send(method: string, path: string, body: unknown): Promise<{ status: number; text: string }> {
  const response = await fetch(`${driver.url}${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  return { status: response.status, text: await response.text() };
}

/** Waits until every replica (or the load balancer) reports ready. */
async function waitReady(timeoutMs: number): Promise<void> {
  const urls: string[] = [];
  for (let i = 0; i < driver.replicaCount; i++) {
    try {
      urls.push(driver.replicaUrl(i));
    } catch (error) {
      if (!(error instanceof UnsupportedFaultError)) throw error;
    }
  }
  if (urls.length === 0) urls.push(driver.url);
  const deadline = performance.now() + timeoutMs;
  for (const url of urls) {
    while (!(await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2_000) }).then((r) => r.ok, () => false))) {
      if (performance.now() > deadline) throw new Error(`${url}/readyz not ready within ${timeoutMs} ms`);
      await sleep(250);
    }
  }
}

/** Share of purchases the load reverses (half of them sent before the purchase's answer). */
const REVERSAL_SHARE = 0.1;

async function main(): Promise<number> {
  say(`chaos (${mode}): ${selected.length} scenario(s), driver ${driver.name}, ${clients} clients over ${accountCount} accounts, DEADLINE_MS=${deadlineMs}`);
  say(`machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}, Node ${process.version}`);
  let t = performance.now();
  await driver.start();
  say(`cluster up in ${((performance.now() - t) / 1_000).toFixed(1)} s: ${driver.describe()}`);

  // Accounts with a known opening balance in every category.
  const openings = new Map<string, Balances>();
  const opening: Balances = { FOOD: 30_000, MEAL: 30_000, CASH: 30_000 };
  for (let i = 0; i < accountCount; i++) {
    const id = `${runId}-acc-${i}`;
    const reply = await send('POST', '/accounts', { id, balances: { FOOD: '300.00', MEAL: '300.00', CASH: '300.00' } });
    if (reply.status !== 201) throw new Error(`create account ${id}: ${reply.status} ${reply.text}`);
    openings.set(id, { ...opening });
  }

  const load = new LoadGenerator({
    url: driver.url,
    accounts: [...openings.keys()],
    clients,
    idPrefix: runId,
    creditShare: 0.05,
    reversalShare: REVERSAL_SHARE,
    attemptTimeoutMs: 2_000,
    retryDelayMs: 100,
    opBudgetMs: 60_000,
    seed,
  });
  const store = await driver.openStore();
  const defaults =
    driver instanceof LocalDriver
      ? { DEADLINE_MS: driver.baseEnv['DEADLINE_MS'] ?? String(deadlineMs), STORE_COMMIT_TIMEOUT_MS: driver.baseEnv['STORE_COMMIT_TIMEOUT_MS'] ?? '2000' }
      : driver instanceof ComposeDriver
        ? { ...driver.baseEnv }
        : undefined;
  // Warm-up (JIT, connection pools), not measured; its operations are checked like the others.
  const warmupMs = values.full ? 20_000 : 5_000;
  load.start();
  await sleep(warmupMs);
  await load.stop();
  say(`warm-up: ${load.attempts.length} requests in ${warmupMs / 1_000} s (not measured)`);
  const results: ScenarioResult[] = [];
  let evidenceDir: string | undefined;
  try {
    for (const scenario of selected) {
      const facts: string[] = [];
      const started = performance.now();
      const context = { driver, timing, fact: (text: string) => facts.push(text), defaults };
      await scenario.prepare?.(context);
      await waitReady(120_000);
      load.start();
      await sleep(timing.beforeMs);
      const faultAt = performance.now();
      let skipped: string | undefined;
      try {
        await scenario.run(context);
      } catch (error) {
        if (!(error instanceof UnsupportedFaultError)) throw error;
        skipped = error.message;
      }
      const liftedAt = performance.now();
      if (!skipped) await sleep(timing.afterMs);
      const endAt = performance.now();
      await load.stop();
      await sleep(1_000); // late commits of a resumed replica land before the store is read
      const ops = [...load.debits.values(), ...load.credits.values(), ...load.reversals.values()];
      const result: ScenarioResult = {
        number: scenario.number,
        title: scenario.title,
        facts,
        phases: skipped
          ? []
          : [
              phaseStats('before', started, faultAt, load.attempts, ops),
              phaseStats('during', faultAt, liftedAt, load.attempts, ops),
              phaseStats('after', liftedAt, endAt, load.attempts, ops),
            ],
        durationMs: 0,
        ...(skipped ? { skipped } : {}),
      };
      result.verdict = await checkInvariants({
        store,
        openings,
        debits: load.debits,
        credits: load.credits,
        reversals: load.reversals,
        attempts: load.attempts,
      });
      if (!result.verdict.ok && evidenceDir === undefined) {
        evidenceDir = join(tmpdir(), `${runId}-evidence`);
        const saved = await driver.saveLogs(evidenceDir);
        facts.push(`replica logs saved: ${saved.join(', ') || driver.logHint()}`);
      }
      await scenario.cleanup?.(context);
      result.durationMs = performance.now() - started;
      results.push(result);
      say(scenarioText(result));
    }
  } finally {
    await store.close().catch(() => {});
    if (values['save-logs']) {
      const saved = await driver.saveLogs(evidenceDir ?? join(tmpdir(), `${runId}-logs`)).catch(() => []);
      say(`replica logs saved: ${saved.join(', ') || driver.logHint()}`);
    }
    t = performance.now();
    await driver.stop();
    say(`cluster stopped in ${((performance.now() - t) / 1_000).toFixed(1)} s`);
  }

  const totalS = ((performance.now() - suiteStart) / 1_000).toFixed(0);
  const table = markdownTable(results);
  say(`\n${table}\n`);
  const failed = results.filter((r) => r.verdict && !r.verdict.ok);
  say(`chaos (${mode}): ${results.length} scenario(s) in ${totalS} s; invariants ${failed.length === 0 ? 'PASS' : `FAIL in ${failed.map((r) => `${r.number} ${verdictText(r.verdict)}`).join(', ')}`}`);
  const resultsDir = fileURLToPath(new URL('../results/', import.meta.url));
  await mkdir(resultsDir, { recursive: true });
  const variant = `${driver.name === 'local' ? '' : `-${driver.name}`}${values.scenario ? `-scenario-${values.scenario.replaceAll(',', '-')}` : ''}`;
  const file = join(resultsDir, `${mode}${variant}.md`);
  await writeFile(
    file,
    [
      `# chaos (${mode}) — ${new Date().toISOString()}`,
      '',
      `Driver: ${driver.describe()}`,
      `Load: ${clients} closed-loop clients over ${accountCount} accounts (5% credits; ${REVERSAL_SHARE * 100}% of purchases reversed, half before their answer), DEADLINE_MS=${deadlineMs}, seed ${seed}.`,
      `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}. Suite: ${totalS} s.`,
      '',
      table,
      '',
      ...results.flatMap((r) => ['```', scenarioText(r), '```']),
      '',
    ].join('\n'),
  );
  say(`written: ${file}`);
  return failed.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  async (error: unknown) => {
    process.stderr.write(`chaos: ${(error as Error).stack ?? String(error)}\n`);
    await driver.stop().catch(() => {});
    process.exit(2);
  },
);
