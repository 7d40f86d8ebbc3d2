/**
 * `pnpm bench [--quick] [--scenarios=uniform,warm,zipf,hot,storm,reversals] [--configs=embedded,none,zookeeper,redis]
 *             [--rate=N] [--hot-rate=N] [--no-profile] [--no-races] [--no-async] [--async-rate=N]`
 *
 * Compares, in one run on one machine: embedded mode (one process, SQLite), and a local cluster (2 replicas behind
 * nginx, PostgreSQL, Redis result cache) with LOCK=none, LOCK=zookeeper (3-node ensemble) and LOCK=redis. For each
 * configuration × scenario it runs a closed loop (20 clients) and an open loop (a constant arrival rate), scrapes the
 * service's histograms around each run, profiles one ZooKeeper-locked replica with `--cpu-prof`, and writes
 * bench/results/bench-<date>.md plus SVG latency charts. Then the async path (Kafka, webhooks; `async-bench.ts`),
 * appended to the same report.
 *
 * Runs under `tsx` (it imports test-support/, which is not compiled into bench/dist).
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { latencyChart } from './chart.js';
import { GROUPS, findProcess, snapshot, usage, type CpuUsage } from './cpu.js';
import { closedLoop, openLoop, type RetryPolicy, type RunResult } from './load.js';
import { describeMachine } from './machine.js';
import { difference, scrape, type ServerSide } from './metrics.js';
import { summarizeProfile, type ProfileSummary } from './profile.js';
import { ACCOUNTS, SCENARIOS, SCENARIO_TITLES, STORM_COPIES, createAccounts, generator, uniformAccount, type ScenarioName } from './scenarios.js';
import { RACES, race, type RaceResult } from './race.js';
import { startAuthorizer } from './server.js';

const CONFIGS = ['embedded', 'none', 'zookeeper', 'redis'] as const;
type ConfigName = (typeof CONFIGS)[number];
const CONFIG_TITLES: Record<ConfigName, string> = {
  embedded: 'embedded (SQLite)',
  none: 'cluster LOCK=none',
  zookeeper: 'cluster LOCK=zookeeper',
  redis: 'cluster LOCK=redis',
};

// The subset of test-support/cluster.ts this runner uses, imported at run time (see the header comment).
interface ClusterHandle {
  readonly url: string;
  readonly replicas: readonly { readonly url: string }[];
  readonly env: Readonly<Record<string, string>>;
  readonly postgres: { readonly port: number };
  readonly zookeeper: { readonly servers: readonly { srvr(timeoutMs?: number): Promise<string | undefined> }[] } | undefined;
  stop(): Promise<void>;
}
type StartLocalCluster = (options: {
  replicas: number;
  zookeeper: 'ensemble';
  lock: 'zookeeper' | 'redis' | 'none';
  env: Record<string, string>;
}) => Promise<ClusterHandle>;
const CLUSTER_MODULE = new URL('../../test-support/cluster.ts', import.meta.url).href;

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    scenarios: { type: 'string', default: SCENARIOS.join(',') },
    configs: { type: 'string', default: CONFIGS.join(',') },
    rate: { type: 'string', default: '200' },
    'hot-rate': { type: 'string', default: '1000' },
    'no-profile': { type: 'boolean', default: false },
    'no-races': { type: 'boolean', default: false },
    'no-async': { type: 'boolean', default: false },
    'async-rate': { type: 'string', default: '200' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  process.stdout.write(
    'Usage: pnpm bench [--quick] [--scenarios=uniform,warm,zipf,hot,storm,reversals] [--configs=embedded,none,zookeeper,redis] [--rate=200] [--hot-rate=1000] [--no-profile] [--no-races] [--no-async] [--async-rate=200]\n',
  );
  process.exit(0);
}
function list<T extends string>(text: string, allowed: readonly T[], what: string): T[] {
  const items = text.split(',').map((s) => s.trim()).filter(Boolean);
  for (const item of items) {
    if (!allowed.includes(item as T)) {
      process.stderr.write(`bench: unknown ${what} "${item}" (one of ${allowed.join(', ')})\n`);
      process.exit(2);
    }
  }
  return allowed.filter((a) => items.includes(a));
}
const scenarios = list(values.scenarios, SCENARIOS, 'scenario');
const configs = list(values.configs, CONFIGS, 'configuration');
const rate = Number(values.rate);
const hotRate = Number(values['hot-rate']);
if (!(rate > 0) || !(hotRate > 0)) {
  process.stderr.write('bench: --rate and --hot-rate must be positive numbers\n');
  process.exit(2);
}
const quick = values.quick;
const warmupMs = 2_000;
const durationMs = quick ? 8_000 : 12_000;
const profileMs = quick ? 6_000 : 10_000;
const CLIENTS = 20;
const OPEN_CONNECTIONS = 64;
const MAX_IN_FLIGHT = 2_000;
const RETRY: RetryPolicy = { maxRetries: 3, backoffMs: 10 };

interface Cell {
  config: ConfigName;
  scenario: ScenarioName;
  result: RunResult;
  server: ServerSide;
  cpu: CpuUsage;
  zookeeper: ZooKeeperWork | undefined;
}

/** ZooKeeper's side of a run, from `srvr`: write transactions (zxid delta) and client requests received. */
interface ZooKeeperWork {
  writes: number;
  requests: number;
}

async function zookeeperCounters(cluster: ClusterHandle | undefined): Promise<ZooKeeperWork | undefined> {
  if (!cluster?.zookeeper) return undefined;
  const outputs = await Promise.all(cluster.zookeeper.servers.map((server) => server.srvr(5_000)));
  let writes = 0;
  let requests = 0;
  for (const text of outputs) {
    const zxid = /Zxid: 0x([0-9a-f]+)/i.exec(text ?? '');
    // The low 32 bits count the transactions of the current epoch (the same on every server, give or take the lag).
    if (zxid) writes = Math.max(writes, Number(BigInt(`0x${zxid[1]}`) & 0xffffffffn));
    requests += Number(/Received: (\d+)/.exec(text ?? '')?.[1] ?? 0);
  }
  return { writes, requests };
}

interface ConfigRun {
  config: ConfigName;
  loadBefore: number[];
  setupMs: number;
  accountsMs: number | undefined;
}

const cells: Cell[] = [];
const races: Array<{ config: ConfigName; result: RaceResult; zookeeper: ZooKeeperWork | undefined }> = [];

/** ZooKeeper write transactions per purchase over a run, warm-up included (an upper bound of the steady state). */
function zkWritesPerPurchase(cell: Cell): string {
  if (!cell.zookeeper) return '–';
  const purchases = cell.result.throughput * ((warmupMs + durationMs) / 1000) + cell.result.retries;
  return purchases > 0 ? (cell.zookeeper.writes / purchases).toFixed(3) : '–';
}
const configRuns: ConfigRun[] = [];
let profile: { summary: ProfileSummary; server: ServerSide; result: RunResult } | undefined;
let stopCurrent: (() => Promise<void>) | undefined;

const out = (line = ''): void => void process.stdout.write(`${line}\n`);
const ms = (n: number): string => (Number.isNaN(n) ? '–' : n.toFixed(2));

function rowOf(cell: Cell): string {
  const r = cell.result;
  const sevens = r.sevens.total === 0 ? '0' : `${r.sevens.total} (${r.sevens.format()})`;
  const lost = r.errors + r.dropped > 0 ? `${r.errors}/${r.dropped}` : '0';
  return `| ${CONFIG_TITLES[cell.config]} | ${r.mode} | ${Math.round(r.throughput)} | ${ms(r.latency.percentile(50))} | ${ms(
    r.latency.percentile(90),
  )} | ${ms(r.latency.percentile(99))} | ${ms(r.latency.percentile(99.9))} | ${ms(r.latency.max())} | ${r.codes.format()} | ${
    r.reasons.format() || '–'
  } | ${r.retries} | ${sevens} | ${r.replayed}${r.mismatches > 0 ? ` (${r.mismatches} mismatched)` : ''} | ${lost} |`;
}
const ROW_HEADER =
  '| configuration | loop | req/s | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | codes | reasons | retries | 07 seen | replayed | errors/dropped |\n' +
  '|---|---|---:|---:|---:|---:|---:|---:|---|---|---:|---|---:|---:|';

function serverRowOf(cell: Cell): string {
  const s = cell.server;
  const zk = cell.zookeeper;
  const perLock = (n: number) => (s.lockAcquisitions > 0 ? (n / s.lockAcquisitions).toFixed(1) : '–');
  return `| ${CONFIG_TITLES[cell.config]} | ${cell.scenario} | ${cell.result.mode} | ${ms(s.httpMs)} | ${ms(s.lockWaitMs)} | ${
    s.lockAcquisitions
  } | ${ms(s.lockHoldMs)} | ${Number.isNaN(s.batchSize) ? '–' : s.batchSize.toFixed(2)} | ${ms(s.commitMs)} | ${s.commits} | ${s.versionConflicts} | ${
    zk ? `${perLock(zk.writes)} / ${perLock(zk.requests)}` : '–'
  } |`;
}
/** CPU seconds of every component of the system under test (the load generator excluded) per answered request, in ms. */
function systemCpuMs(cell: Cell): number {
  const { cpu, result } = cell;
  const seconds = GROUPS.filter((g) => g !== 'load generator').reduce((sum, g) => sum + cpu.seconds[g], 0);
  return result.throughput > 0 ? (seconds / cpu.wallS / result.throughput) * 1000 : Number.NaN;
}

function summaryRows(): string[] {
  const rows: string[] = [];
  for (const scenario of scenarios) {
    for (const config of configs) {
      const closed = cells.find((c) => c.config === config && c.scenario === scenario && c.result.mode === 'closed');
      const open = cells.find((c) => c.config === config && c.scenario === scenario && c.result.mode === 'open');
      if (!closed || !open) continue;
      const cost = systemCpuMs(closed);
      rows.push(
        `| ${scenario} | ${CONFIG_TITLES[config]} | ${Math.round(closed.result.throughput)} | ${ms(closed.result.latency.percentile(99))} | ${Math.round(
          open.result.throughput,
        )} | ${ms(open.result.latency.percentile(99))} | ${closed.result.sevens.total + open.result.sevens.total} | ${ms(cost)} | ${
          Number.isNaN(cost) ? '–' : Math.round(2000 / cost)
        } | ${zkWritesPerPurchase(closed)} / ${zkWritesPerPurchase(open)} | ${(closed.cpu.othersS / closed.cpu.wallS).toFixed(2)} / ${(open.cpu.othersS / open.cpu.wallS).toFixed(2)} |`,
      );
    }
  }
  return rows;
}
const SUMMARY_HEADER =
  '| scenario | configuration | closed req/s | closed p99 ms | open req/s | open p99 ms | 07 seen | system CPU ms / request | 2 cores ÷ CPU cost, req/s | ZooKeeper writes / purchase (closed / open) | other processes, cores (closed / open) |\n' +
  '|---|---|---:|---:|---:|---:|---:|---:|---:|---|---|';

function cpuRowOf(cell: Cell): string {
  const { cpu, result } = cell;
  const cores = (seconds: number) => (seconds / cpu.wallS).toFixed(2);
  const perRequest = result.throughput > 0 ? ((cpu.seconds.authorizer / cpu.wallS / result.throughput) * 1000).toFixed(2) : '–';
  return `| ${CONFIG_TITLES[cell.config]} | ${cell.scenario} | ${result.mode} | ${GROUPS.map((g) => cores(cpu.seconds[g])).join(' | ')} | ${cores(
    cpu.othersS,
  )} | ${perRequest} | ${ms(systemCpuMs(cell))} |`;
}
const CPU_HEADER =
  `| configuration | scenario | loop | ${GROUPS.join(' | ')} | other processes | authorizer CPU ms / request | system CPU ms / request |\n` +
  `|---|---|---|${GROUPS.map(() => '---:').join('|')}|---:|---:|---:|`;

const SERVER_HEADER =
  '| configuration | scenario | loop | http mean ms | lock wait mean ms | lock acquisitions | lock hold mean ms | batch mean | commit mean ms | commits | version conflicts | ZooKeeper writes / requests per lock |\n' +
  '|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|';

function raceRowOf(entry: { config: ConfigName; result: RaceResult; zookeeper: ZooKeeperWork | undefined }): string {
  const { result: r, zookeeper } = entry;
  const total = r.spec.accounts * r.spec.perAccount;
  const sevens = [...r.sevens].map(([reason, n]) => `${reason} ${n}`).join(', ');
  return `| ${r.spec.name} | ${CONFIG_TITLES[entry.config]} | ${r.approved} / ${r.spec.accounts * r.spec.affords} | ${r.declined} | ${
    sevens || '0'
  } | ${r.errors} | ${r.exact ? 'yes' : '**no**'} | ${ms(r.latency.percentile(50))} | ${ms(r.latency.percentile(99))} | ${ms(r.latency.max())} | ${
    zookeeper ? `${zookeeper.writes} (${(zookeeper.writes / total).toFixed(3)} / purchase)` : '–'
  } |`;
}
const RACE_HEADER =
  '| race | configuration | 00 / affordable | 51 | 07 (reasons) | transport errors | exact | p50 ms | p99 ms | max ms | ZooKeeper writes |\n' +
  '|---|---|---:|---:|---|---:|---|---:|---:|---:|---|';

async function runScenario(
  config: ConfigName,
  scenario: ScenarioName,
  base: string,
  metricsUrls: readonly string[],
  cpuRoots: readonly number[],
  cluster: ClusterHandle | undefined,
): Promise<void> {
  for (const mode of ['closed', 'open'] as const) {
    const runId = `${config}-${scenario}-${mode}-${Date.now().toString(36)}`;
    const hot = `hot-${runId}`;
    if (scenario === 'hot') await createAccounts(base, [hot], 1);
    const next = generator(scenario, runId, hot);
    const label = `${scenario}`;
    const before = await scrape(metricsUrls);
    const zkBefore = await zookeeperCounters(cluster);
    const cpuBefore = snapshot(cpuRoots);
    const result =
      mode === 'closed'
        ? await closedLoop(label, { base, connections: CLIENTS * (scenario === 'storm' ? STORM_COPIES : 1) }, {
            clients: CLIENTS,
            durationMs,
            warmupMs,
            next,
            retry: RETRY,
          })
        : await openLoop(label, { base, connections: OPEN_CONNECTIONS }, {
            ratePerS: scenario === 'hot' ? hotRate : rate,
            durationMs,
            warmupMs,
            maxInFlight: MAX_IN_FLIGHT,
            next,
            retry: RETRY,
          });
    const cpu = usage(cpuBefore, snapshot(cpuRoots));
    const server = difference(before, await scrape(metricsUrls));
    const zkAfter = await zookeeperCounters(cluster);
    const zookeeper =
      zkBefore && zkAfter ? { writes: zkAfter.writes - zkBefore.writes, requests: zkAfter.requests - zkBefore.requests } : undefined;
    const cell: Cell = { config, scenario, result, server, cpu, zookeeper };
    cells.push(cell);
    out(`  ${scenario.padEnd(8)} ${rowOf(cell)}`);
  }
}

async function startConfig(
  config: ConfigName,
): Promise<{ base: string; metricsUrls: string[]; cpuRoots: number[]; cluster?: ClusterHandle }> {
  if (config === 'embedded') {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'catraca-bench-'));
    const server = await startAuthorizer({ DATA_DIR: dataDir, SQLITE_DURABILITY: 'full' });
    stopCurrent = async () => {
      await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
    };
    return { base: server.base, metricsUrls: [server.base], cpuRoots: [] };
  }
  const { startLocalCluster } = (await import(CLUSTER_MODULE)) as { startLocalCluster: StartLocalCluster };
  const cluster = await startLocalCluster({ replicas: 2, zookeeper: 'ensemble', lock: config, env: {} });
  stopCurrent = () => cluster.stop();
  const postmaster = findProcess('postgres', `-p ${cluster.postgres.port} `);
  return { base: cluster.url, metricsUrls: cluster.replicas.map((r) => r.url), cpuRoots: postmaster ? [postmaster] : [], cluster };
}

/**
 * One more replica of the ZooKeeper cluster, started with `--cpu-prof`, driven directly (no nginx) by the uniform
 * closed loop while the two benchmark replicas idle; its metrics and CPU profile say where a request's time goes.
 */
async function profileReplica(cluster: ClusterHandle): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'catraca-prof-'));
  try {
    const replica = await startAuthorizer({ ...cluster.env }, { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`] });
    let result: RunResult;
    let server: ServerSide;
    try {
      const runId = `profile-${Date.now().toString(36)}`;
      const before = await scrape([replica.base]);
      result = await closedLoop('uniform (profiled replica)', { base: replica.base, connections: CLIENTS }, {
        clients: CLIENTS,
        durationMs: profileMs,
        warmupMs,
        next: generator('uniform', runId, ''),
        retry: RETRY,
      });
      server = difference(before, await scrape([replica.base]));
    } finally {
      await replica.stop();
    }
    const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
    if (!file) throw new Error('the profiled replica wrote no .cpuprofile');
    profile = { summary: summarizeProfile(path.join(dir, file)), server, result };
    out(`  profile  ${Math.round(result.throughput)} req/s, p99 ${ms(result.latency.percentile(99))} ms, main thread idle ${(profile.summary.idleShare * 100).toFixed(0)}%`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function targets(): string[] {
  const find = (config: ConfigName, scenario: ScenarioName, mode: 'closed' | 'open') =>
    cells.find((c) => c.config === config && c.scenario === scenario && c.result.mode === mode)?.result;
  const lines: string[] = [];
  const check = (ok: boolean) => (ok ? '**met**' : '**not met**');
  const cellOf = (config: ConfigName, scenario: ScenarioName, mode: 'closed' | 'open') =>
    cells.find((c) => c.config === config && c.scenario === scenario && c.result.mode === mode);
  // Issue 8 (ownership): warm traffic under ZooKeeper as cheap as no lock at all.
  for (const scenario of ['zipf', 'hot', 'warm'] as const) {
    const zk = cellOf('zookeeper', scenario, 'closed');
    const none = cellOf('none', scenario, 'closed');
    const redis = cellOf('redis', scenario, 'closed');
    if (!zk) continue;
    const parts: string[] = [];
    const writes = zkWritesPerPurchase(zk);
    parts.push(`ZooKeeper writes/purchase ${writes} (≤ 0.05: ${check(Number(writes) <= 0.05)})`);
    if (none) {
      const ratio = zk.result.throughput / none.result.throughput;
      parts.push(`throughput ${(ratio * 100).toFixed(0)}% of LOCK=none (≥ 90%: ${check(ratio >= 0.9)})`);
      const cost = systemCpuMs(zk) / systemCpuMs(none);
      parts.push(`CPU/purchase ${(cost * 100).toFixed(0)}% of LOCK=none (≤ 115%: ${check(cost <= 1.15)})`);
    }
    if (redis) parts.push(`${(zk.result.throughput / redis.result.throughput * 100).toFixed(0)}% of the Redis lock (≥ 100%: ${check(zk.result.throughput >= redis.result.throughput)})`);
    const zkOpen = cellOf('zookeeper', scenario, 'open');
    const noneOpen = cellOf('none', scenario, 'open');
    if (zkOpen && noneOpen) {
      const ratio = zkOpen.result.latency.percentile(99) / noneOpen.result.latency.percentile(99);
      parts.push(`open-loop p99 ${ms(zkOpen.result.latency.percentile(99))} vs ${ms(noneOpen.result.latency.percentile(99))} ms (within 10%: ${check(ratio <= 1.1)})`);
    }
    lines.push(`- warm, ${scenario}: ${parts.join('; ')}`);
  }
  {
    const zk = cellOf('zookeeper', 'uniform', 'closed');
    const none = cellOf('none', 'uniform', 'closed');
    if (zk && none) {
      lines.push(
        `- cold (uniform over ${ACCOUNTS.toLocaleString('en')}): ZooKeeper writes/purchase ${zkWritesPerPurchase(zk)}, throughput ${(
          (zk.result.throughput / none.result.throughput) * 100
        ).toFixed(0)}% of LOCK=none, CPU/purchase ${((systemCpuMs(zk) / systemCpuMs(none)) * 100).toFixed(0)}% of it`,
      );
    }
  }
  for (const config of configs) {
    const sevens = (scenario: ScenarioName) =>
      cells.filter((c) => c.config === config && c.scenario === scenario).reduce((n, c) => n + c.result.sevens.total, 0);
    const total = scenarios.reduce((n, sc) => n + sevens(sc), 0);
    if (config === 'zookeeper' || config === 'none') lines.push(`- 07 seen, ${CONFIG_TITLES[config]}: ${total} over every scenario`);
  }
  for (const entry of races) {
    if (entry.config !== 'zookeeper') continue;
    lines.push(`- race ${entry.result.spec.name}, ZooKeeper: exact answers, no 07 — ${check(entry.result.exact)}`);
  }
  const zkU = find('zookeeper', 'uniform', 'closed');
  const noneU = find('none', 'uniform', 'closed');
  const redisU = find('redis', 'uniform', 'closed');
  if (zkU && noneU) {
    const ratio = zkU.throughput / noneU.throughput;
    lines.push(`- uniform, ZooKeeper ≥ 50% of LOCK=none throughput (closed loop): ${(ratio * 100).toFixed(0)}% — ${check(ratio >= 0.5)}`);
  }
  if (zkU && redisU) {
    const ratio = zkU.throughput / redisU.throughput;
    lines.push(`- uniform, ZooKeeper within 10% of the Redis lock (closed loop): ${(ratio * 100).toFixed(0)}% of it — ${check(ratio >= 0.9)}`);
  }
  for (const mode of ['closed', 'open'] as const) {
    const r = find('zookeeper', 'uniform', mode);
    if (r) lines.push(`- uniform, ZooKeeper p99 < 50 ms (${mode} loop): ${ms(r.latency.percentile(99))} ms — ${check(r.latency.percentile(99) < 50)}`);
  }
  for (const mode of ['closed', 'open'] as const) {
    const r = find('zookeeper', 'hot', mode);
    if (!r) continue;
    const ok = r.throughput >= 1000 && r.latency.percentile(99) < 100 && r.sevens.total === 0 && r.errors + r.dropped === 0;
    lines.push(
      `- one hot account, ZooKeeper ≥ 1,000/s, p99 < 100 ms, no 07 (${mode} loop): ${Math.round(r.throughput)}/s, p99 ${ms(
        r.latency.percentile(99),
      )} ms, ${r.sevens.total} × 07 seen — ${check(ok)}`,
    );
  }
  return lines;
}

function profileSection(): string[] {
  if (!profile) return [];
  const { summary, server, result } = profile;
  return [
    '## Profile: one ZooKeeper-locked replica',
    '',
    `A third replica of the LOCK=zookeeper cluster, started with \`node --cpu-prof\` and driven directly (no nginx) by ${CLIENTS}`,
    `closed-loop clients on the uniform scenario for ${profileMs / 1000} s: ${Math.round(result.throughput)} req/s, p50 ${ms(
      result.latency.percentile(50),
    )} ms, p99 ${ms(result.latency.percentile(99))} ms.`,
    '',
    `Server side (histogram means): request ${ms(server.httpMs)} ms = lock wait ${ms(server.lockWaitMs)} ms + store commit ${ms(
      server.commitMs,
    )} ms + the rest (validation, cache, account read, decision, HTTP); batch mean ${
      Number.isNaN(server.batchSize) ? '–' : server.batchSize.toFixed(2)
    }, ${server.versionConflicts} version conflicts.`,
    '',
    `CPU: the main thread was idle (waiting on I/O) ${(summary.idleShare * 100).toFixed(0)}% of ${(summary.totalMs / 1000).toFixed(1)} s.`,
    'Busy time by component (self time):',
    '',
    '| component | ms | share of busy |',
    '|---|---:|---:|',
    ...summary.components.slice(0, 14).map((c) => `| ${c.name} | ${c.ms.toFixed(0)} | ${(c.share * 100).toFixed(1)}% |`),
    '',
    'Busy time charged to the first library frame up the stack (who caused the native writes and Node internals):',
    '',
    '| caller | ms | share of busy |',
    '|---|---:|---:|',
    ...summary.callers.slice(0, 12).map((c) => `| ${c.name} | ${c.ms.toFixed(0)} | ${(c.share * 100).toFixed(1)}% |`),
    '',
    'Hottest functions (self time):',
    '',
    '| function | where | ms | share of busy |',
    '|---|---|---:|---:|',
    ...summary.functions.map((f) => `| ${f.name} | ${f.where} | ${f.ms.toFixed(0)} | ${(f.share * 100).toFixed(1)}% |`),
    '',
  ];
}

function writeCharts(dir: string): string[] {
  const written: string[] = [];
  for (const scenario of ['uniform', 'hot'] as const) {
    for (const mode of ['open', 'closed'] as const) {
      const series = cells
        .filter((c) => c.scenario === scenario && c.result.mode === mode)
        .map((c) => ({
          name: CONFIG_TITLES[c.config],
          sorted: c.result.latency.sorted(),
          note: `${Math.round(c.result.throughput)}/s; others used ${(c.cpu.othersS / c.cpu.wallS).toFixed(1)} cores`,
        }));
      if (series.length === 0) continue;
      const load =
        mode === 'open' ? `open loop at ${scenario === 'hot' ? hotRate : rate}/s, latency from the intended start` : `closed loop, ${CLIENTS} clients`;
      const svg = latencyChart(`Latency distribution — ${SCENARIO_TITLES[scenario]}`, `${load}; busy 2-core box, everything on it`, series);
      const file = path.join(dir, `latency-${scenario}-${mode}${quick ? '-quick' : ''}.svg`);
      writeFileSync(file, svg);
      written.push(file);
    }
  }
  return written;
}

async function main(): Promise<void> {
  const machine = describeMachine();
  const started = Date.now();
  out(`pnpm bench${quick ? ' --quick' : ''}: ${configs.join(', ')} × ${scenarios.join(', ')}; ${warmupMs / 1000} s warm-up + ${durationMs / 1000} s per run`);
  out(machine);
  for (const config of configs) {
    const loadBefore = os.loadavg();
    out(`\n${CONFIG_TITLES[config]} — load average ${loadBefore.map((n) => n.toFixed(2)).join(' ')}`);
    const setupStarted = performance.now();
    const target = await startConfig(config);
    const setupMs = performance.now() - setupStarted;
    try {
      let accountsMs: number | undefined;
      if (scenarios.some((s) => s !== 'hot')) {
        accountsMs = await createAccounts(target.base, Array.from({ length: ACCOUNTS }, (_, i) => uniformAccount(i)));
        out(`  started in ${(setupMs / 1000).toFixed(1)} s; ${ACCOUNTS} accounts created in ${(accountsMs / 1000).toFixed(1)} s`);
      }
      configRuns.push({ config, loadBefore, setupMs, accountsMs });
      for (const scenario of scenarios) await runScenario(config, scenario, target.base, target.metricsUrls, target.cpuRoots, target.cluster);
      if (!values['no-races']) {
        for (const spec of RACES) {
          const zkBefore = await zookeeperCounters(target.cluster);
          const result = await race(target.base, spec, `${config}-${Date.now().toString(36)}`);
          const zkAfter = await zookeeperCounters(target.cluster);
          const zookeeper = zkBefore && zkAfter ? { writes: zkAfter.writes - zkBefore.writes, requests: zkAfter.requests - zkBefore.requests } : undefined;
          races.push({ config, result, zookeeper });
          out(`  race     ${raceRowOf(races.at(-1)!)}`);
        }
      }
      if (config === 'zookeeper' && target.cluster && !values['no-profile']) await profileReplica(target.cluster);
    } finally {
      await stopCurrent?.();
      stopCurrent = undefined;
    }
  }

  const date = new Date().toISOString();
  const dir = fileURLToPath(new URL('../results/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  const charts = writeCharts(dir);
  const report = [
    `# pnpm bench — ${date}`,
    '',
    `Machine: ${machine}`,
    '',
    'A shared 2-core box: everything — the ZooKeeper ensemble (3 JVMs), redis-server, PostgreSQL, the authorizer',
    'replicas, nginx and the load generator — ran on it. What other processes used meanwhile is in the "other',
    'processes" column; the figures are a floor and vary from run to run.',
    '',
    `Reproduce: \`pnpm bench${quick ? ' --quick' : ''}${values.scenarios !== SCENARIOS.join(',') ? ` --scenarios=${values.scenarios}` : ''}${
      values.configs !== CONFIGS.join(',') ? ` --configs=${values.configs}` : ''
    }\` (${((Date.now() - started) / 60_000).toFixed(1)} min).`,
    '',
    '## Method',
    '',
    `- Configurations: ${configs.map((c) => CONFIG_TITLES[c]).join('; ')}. Embedded: one process, SQLite WAL with`,
    '  synchronous=FULL, in-process lock and cache. Cluster: 2 replicas behind nginx, a private PostgreSQL (pool 8 per',
    '  replica), Redis result cache; the lock is the only difference (ZooKeeper: a 3-node loopback ensemble).',
    `- Accounts: ${ACCOUNTS.toLocaleString('en')} created through \`POST /accounts\` (32 concurrent) per configuration, balances 1,000,000.00 per`,
    '  category (answers stay `00`); the hot scenario creates a fresh account per run. Purchases of 1.00, unique ids.',
    `- Each run: ${warmupMs / 1000} s warm-up, then ${durationMs / 1000} s measured. Closed loop: ${CLIENTS} keep-alive clients, each sends when its`,
    `  previous answer arrives. Open loop: ${rate}/s (hot account: ${hotRate}/s) whatever the answers do, latency measured from`,
    `  the intended start (no coordinated omission), ${OPEN_CONNECTIONS} keep-alive connections; arrivals beyond ${MAX_IN_FLIGHT} in flight would count as dropped.`,
    `- Retries: a \`07\` or a transport error is retried with the same id after ${RETRY.backoffMs} ms × attempt, at most ${RETRY.maxRetries} times;`,
    '  latency runs to the final answer. "07 seen" counts every `07` on any attempt (a spurious `07` shows there even',
    '  when its retry succeeded); "replayed" counts answers served from an earlier answer of the same id.',
    '- Server side: each replica\'s `/metrics` scraped before and after each run; means are Δsum/Δcount.',
    '',
    '## Load average before each configuration',
    '',
    '| configuration | load average (1, 5, 15 min) | start | account creation |',
    '|---|---|---:|---:|',
    ...configRuns.map(
      (c) =>
        `| ${CONFIG_TITLES[c.config]} | ${c.loadBefore.map((n) => n.toFixed(2)).join(' ')} | ${(c.setupMs / 1000).toFixed(1)} s | ${
          c.accountsMs === undefined ? '–' : `${(c.accountsMs / 1000).toFixed(1)} s`
        } |`,
    ),
    '',
    '## Targets (issue 8: ownership; issue 5 lines kept)',
    '',
    ...targets(),
    '',
    '## Races (all purchases sent at once, no client retry)',
    '',
    'Fresh accounts whose CASH balance affords a known number of purchases of 1.00; every purchase is sent at once through',
    'the load balancer and answered once. Expected: exactly as many `00` as the balance affords, `51` for the rest, no `07`.',
    '',
    RACE_HEADER,
    ...races.map(raceRowOf),
    '',
    '## Summary',
    '',
    'Closed loop: capacity at 20 clients; open loop: latency at a fixed arrival rate. "system CPU ms / request": CPU time',
    'of every component of the system under test (replicas, PostgreSQL, ZooKeeper, Redis, nginx; not the load generator)',
    'per answered request in the closed loop — less sensitive to the other tenants of the box than throughput is;',
    '"2 cores ÷ CPU cost" is the throughput that cost would allow on a 2-core machine of its own (an upper bound: it ignores',
    'waits and serialisation). "other processes": cores taken by everything else on the box meanwhile.',
    '',
    SUMMARY_HEADER,
    ...summaryRows(),
    '',
    ...scenarios.flatMap((scenario) => [
      `## ${SCENARIO_TITLES[scenario]}`,
      '',
      ROW_HEADER,
      ...cells.filter((c) => c.scenario === scenario).map(rowOf),
      '',
    ]),
    '## Server side (from /metrics)',
    '',
    SERVER_HEADER,
    ...cells.map(serverRowOf),
    '',
    '## CPU by component (cores used during the run, from /proc)',
    '',
    'Cores of the 2-core machine each component used, averaged over the run (warm-up included); "other processes" is',
    'everything else on the box (other engineers\' tests). The last column is the replicas\' CPU time per answered request.',
    '',
    CPU_HEADER,
    ...cells.map(cpuRowOf),
    '',
    ...profileSection(),
    '## Charts',
    '',
    ...charts.map((file) => `![${path.basename(file, '.svg')}](${path.basename(file)})`),
    '',
  ].join('\n');
  const file = path.join(dir, `bench-${date.slice(0, 10)}${quick ? '-quick' : ''}.md`);
  writeFileSync(file, report);
  if (!values['no-async']) {
    // The async path (Kafka, webhooks): its own program, appended to the same report.
    const { runAsyncBench } = await import('./async-bench.js');
    const { markdown } = await runAsyncBench({ quick, rate: Number(values['async-rate']) });
    writeFileSync(file, `${report}\n${markdown}`);
  }
  out(`\n${report}`);
  out(`written to ${path.relative(process.cwd(), file)} and ${charts.length} charts`);
}

const interrupt = (signal: string): void => {
  process.stderr.write(`\nbench: ${signal}, stopping...\n`);
  void (stopCurrent?.() ?? Promise.resolve()).finally(() => process.exit(130));
};
process.once('SIGINT', () => interrupt('SIGINT'));
process.once('SIGTERM', () => interrupt('SIGTERM'));

main().catch(async (error: unknown) => {
  process.stderr.write(`bench failed: ${(error as Error).stack ?? String(error)}\n`);
  await stopCurrent?.().catch(() => {});
  process.exitCode = 1;
});
