// pnpm bench:locks — lock-cycle latency and throughput of @catraca/coordination against a standalone ZooKeeper and a
// 3-node loopback ensemble, next to the raw node-zookeeper-client calls the recipe is made of (create + children +
// delete), measured in the same run. Prints a Markdown report and writes it to bench/results/locks-<date>.md.
import { execFileSync } from 'node:child_process';
import { writeFileSync, mkdirSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { ZooKeeperLockManager } from '../../packages/coordination/dist/zookeeper/index.js';
import { startEnsemble, startZooKeeper } from './dist/zookeeper.js';

const require = createRequire(new URL('../../packages/coordination/package.json', import.meta.url));
const zookeeper = require('node-zookeeper-client');
const CYCLES = Number(process.env.BENCH_CYCLES ?? 2000);
const WARMUP = 200;

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
const ms = (n) => n.toFixed(2);

function summarize(name, latencies, elapsedMs) {
  const sorted = [...latencies].sort((a, b) => a - b);
  return {
    name,
    n: sorted.length,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1],
    perSecond: (sorted.length / elapsedMs) * 1000,
  };
}

/** Runs `loops` concurrent loops of `cycle(loopIndex)` until `total` cycles are done; returns per-cycle latencies. */
async function drive(total, loops, cycle) {
  const latencies = [];
  let started = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: loops }, async (_, loop) => {
      while (started < total) {
        started++;
        const s = performance.now();
        await cycle(loop);
        latencies.push(performance.now() - s);
      }
    }),
  );
  return { latencies, elapsedMs: performance.now() - t0 };
}

const cb = (resolve, reject) => (error, value) => (error ? reject(error) : resolve(value));

async function rawClient(connectionString) {
  const client = zookeeper.createClient(connectionString, { sessionTimeout: 10000, retries: 0 });
  await new Promise((resolve) => {
    client.once('connected', resolve);
    client.connect();
  });
  return client;
}

function rawCycle(client, parent) {
  return new Promise((resolve, reject) => {
    client.create(`${parent}/n-`, zookeeper.CreateMode.EPHEMERAL_SEQUENTIAL, cb((path) => {
      client.getChildren(parent, cb(() => client.remove(path, -1, cb(resolve, reject)), reject));
    }, reject));
  });
}

async function mkdirp(client, path) {
  await new Promise((resolve, reject) => client.mkdirp(path, cb(resolve, reject)));
}

async function scenarios(label, connectionString) {
  const rows = [];
  const raw = await rawClient(connectionString);
  for (let k = 0; k < 20; k++) await mkdirp(raw, `/raw/k${k}`);
  await drive(WARMUP, 1, () => rawCycle(raw, '/raw/k0'));
  let r = await drive(CYCLES, 1, () => rawCycle(raw, '/raw/k0'));
  rows.push(summarize(`${label}: raw client cycle, 1 key`, r.latencies, r.elapsedMs));
  r = await drive(CYCLES, 20, (loop) => rawCycle(raw, `/raw/k${loop}`));
  rows.push(summarize(`${label}: raw client cycle, 20 keys`, r.latencies, r.elapsedMs));
  raw.close();

  const manager = new ZooKeeperLockManager({ connectionString, namespace: 'bench', sessionTimeoutMs: 10000 });
  await manager.waitConnected();
  const cycle = async (key) => (await manager.acquire(key)).release();
  await drive(WARMUP, 1, () => cycle('one'));
  r = await drive(CYCLES, 1, () => cycle('one'));
  rows.push(summarize(`${label}: library acquire+release, 1 key uncontended`, r.latencies, r.elapsedMs));
  for (let k = 0; k < 20; k++) await cycle(`key-${k}`);
  r = await drive(CYCLES, 20, (loop) => cycle(`key-${loop}`));
  rows.push(summarize(`${label}: library, 20 keys (20 loops, one key each)`, r.latencies, r.elapsedMs));

  const contenders = Array.from({ length: 4 }, () => new ZooKeeperLockManager({ connectionString, namespace: 'bench', sessionTimeoutMs: 10000 }));
  await Promise.all(contenders.map((m) => m.waitConnected()));
  r = await drive(CYCLES, 20, async (loop) => (await contenders[loop % 4].acquire('hot')).release());
  rows.push(summarize(`${label}: library, 1 key, 20 contenders (4 sessions x 5)`, r.latencies, r.elapsedMs));
  await Promise.all([manager, ...contenders].map((m) => m.close()));
  return rows;
}

function machine() {
  const sh = (cmd, args) => {
    try {
      return execFileSync(cmd, args, { encoding: 'utf8' }).trim();
    } catch {
      return 'n/a';
    }
  };
  return [
    `- nproc: ${sh('nproc', [])}`,
    `- memory: ${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
    `- CPU: ${cpus()[0]?.model ?? 'n/a'}`,
    `- node: ${process.version}`,
    `- ZooKeeper: Debian package (${sh('dpkg-query', ['-W', '-f=${Version}', 'zookeeper'])}), loopback, forceSync=no`,
    `- load average at start: ${sh('cat', ['/proc/loadavg'])}`,
  ].join('\n');
}

const standalone = await startZooKeeper();
const ensemble = await startEnsemble(3);
let rows;
try {
  rows = [...(await scenarios('standalone', standalone.connectionString)), ...(await scenarios('ensemble', ensemble.connectionString))];
} finally {
  await standalone.stop();
  await ensemble.stop();
}

const date = new Date().toISOString().slice(0, 10);
const table = [
  '| scenario | cycles | p50 ms | p99 ms | max ms | cycles/s |',
  '|---|---:|---:|---:|---:|---:|',
  ...rows.map((x) => `| ${x.name} | ${x.n} | ${ms(x.p50)} | ${ms(x.p99)} | ${ms(x.max)} | ${x.perSecond.toFixed(0)} |`),
].join('\n');
const overhead = ['standalone', 'ensemble'].map((label) => {
  const raw = rows.find((x) => x.name === `${label}: raw client cycle, 1 key`);
  const lib = rows.find((x) => x.name === `${label}: library acquire+release, 1 key uncontended`);
  return `- ${label}: library p50 ${ms(lib.p50)} ms vs raw p50 ${ms(raw.p50)} ms → overhead ${(((lib.p50 - raw.p50) / raw.p50) * 100).toFixed(1)}%`;
});
const report = `# Lock benchmark (${date})

Command: \`pnpm bench:locks\` (${CYCLES} cycles per scenario after ${WARMUP} warm-up cycles). A cycle is acquire + release
(library) or create EPHEMERAL_SEQUENTIAL + getChildren + delete (raw node-zookeeper-client, the calls the recipe is
made of). The library also reads the fencing token from the create reply (patched client) and keeps a heartbeat.

## Machine
${machine()}

## Results
${table}

## Library overhead at p50 (1 key, uncontended)
${overhead.join('\n')}
`;
process.stdout.write(report);
const out = fileURLToPath(new URL(`../results/locks-${date}.md`, import.meta.url));
mkdirSync(fileURLToPath(new URL('../results/', import.meta.url)), { recursive: true });
writeFileSync(out, report);
process.stdout.write(`\nwritten to ${out}\n`);
