// pnpm bench:locks — lock-cycle latency, throughput and server operations per cycle of @catraca/coordination's three
// backends side by side: ZooKeeper (standalone and a 3-node loopback ensemble, next to the raw node-zookeeper-client
// calls the recipe is made of), Redis (a private redis-server) and DynamoDB (a private dynalite), each in the same three
// scenarios. Optionally Apache Curator's InterProcessMutex on the same ZooKeeper servers (see curator.mjs).
// Prints a Markdown report and writes it to bench/results/locks-<date>.md.
import { execFileSync } from 'node:child_process';
import { writeFileSync, mkdirSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { RedisLockManager } from '../../packages/coordination/dist/redis/index.js';
import { ZooKeeperLockManager } from '../../packages/coordination/dist/zookeeper/index.js';
import { DynamoDbLockManager, createLockTable } from '../../packages/coordination/dist/dynamodb/index.js';
import { startEnsemble, startZooKeeper } from './dist/zookeeper.js';
import { startRedis } from './dist/redis.js';
import { dynaliteClientConfig, startDynalite } from './dist/dynalite.js';
import { FaultProxy } from './dist/fault-proxy.js';
import { curatorScenarios } from './curator.mjs';

const require = createRequire(new URL('../../packages/coordination/package.json', import.meta.url));
const zookeeper = require('node-zookeeper-client');
const { DynamoDBClient } = require('@aws-sdk/client-dynamodb');
const { Redis } = require('ioredis');
const CYCLES = Number(process.env.BENCH_CYCLES ?? 2000);
const WARMUP = 200;
const CONTENDERS = 20;
const SESSIONS = 4;

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
const ms = (n) => n.toFixed(2);

function summarize(backend, scenario, run, ops) {
  const sorted = [...run.latencies].sort((a, b) => a - b);
  return {
    backend,
    scenario,
    n: sorted.length,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1],
    perSecond: (sorted.length / run.elapsedMs) * 1000,
    ops: ops === undefined ? undefined : ops / sorted.length,
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

/**
 * The three scenarios every backend runs, with `ops()` read before and after each: a server-side operation count
 * (ZooKeeper writes = zxid delta; Redis commands; DynamoDB requests), or undefined when not measurable.
 */
async function libraryScenarios(backend, makeManager, ops) {
  const rows = [];
  const manager = await makeManager();
  const cycle = async (m, key) => (await m.acquire(key)).release();
  const measured = async (scenario, loops, fn) => {
    const before = await ops();
    const run = await drive(CYCLES, loops, fn);
    const after = await ops();
    rows.push(summarize(backend, scenario, run, before === undefined ? undefined : after - before));
  };
  await drive(WARMUP, 1, () => cycle(manager, 'one'));
  await measured('1 key, uncontended', 1, () => cycle(manager, 'one'));
  for (let k = 0; k < CONTENDERS; k++) await cycle(manager, `key-${k}`);
  await measured(`${CONTENDERS} keys, ${CONTENDERS} loops (one key each)`, CONTENDERS, (loop) => cycle(manager, `key-${loop}`));
  const contenders = await Promise.all(Array.from({ length: SESSIONS }, () => makeManager()));
  await measured(`1 key, ${CONTENDERS} contenders (${SESSIONS} managers x ${CONTENDERS / SESSIONS})`, CONTENDERS, (loop) =>
    cycle(contenders[loop % SESSIONS], 'hot'),
  );
  await Promise.all([manager, ...contenders].map((m) => m.close()));
  return rows;
}

// ---------------------------------------------------------------------------------------------------- ZooKeeper
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

async function zxid(cluster) {
  const answer = await cluster.fourLetter('srvr');
  const match = answer.match(/Zxid: (0x[0-9a-f]+)/i);
  // Low 32 bits: the counter within an epoch (no election happens during a run).
  return match ? Number(BigInt(match[1]) & 0xffffffffn) : undefined;
}

async function zookeeperScenarios(label, cluster) {
  const { connectionString } = cluster;
  const backend = `ZooKeeper ${label}`;
  const rows = [];
  const raw = await rawClient(connectionString);
  for (let k = 0; k < CONTENDERS; k++) await new Promise((resolve, reject) => raw.mkdirp(`/raw/k${k}`, cb(resolve, reject)));
  await drive(WARMUP, 1, () => rawCycle(raw, '/raw/k0'));
  let before = await zxid(cluster);
  let r = await drive(CYCLES, 1, () => rawCycle(raw, '/raw/k0'));
  rows.push(summarize(backend, 'raw client (create + children + delete), 1 key', r, (await zxid(cluster)) - before));
  r = await drive(CYCLES, CONTENDERS, (loop) => rawCycle(raw, `/raw/k${loop}`));
  rows.push(summarize(backend, `raw client, ${CONTENDERS} keys`, r));
  raw.close();
  const make = async () => {
    const m = new ZooKeeperLockManager({ connectionString, namespace: 'bench', sessionTimeoutMs: 10000 });
    await m.waitConnected();
    return m;
  };
  rows.push(...(await libraryScenarios(backend, make, () => zxid(cluster))));
  before = undefined;
  return rows;
}

// ---------------------------------------------------------------------------------------------------- Redis
async function redisScenarios(server) {
  const admin = new Redis(server.url);
  // INFO itself counts as one command.
  const commands = async () => Number((await admin.info('stats')).match(/total_commands_processed:(\d+)/)[1]) + 1;
  const make = async () => {
    const m = new RedisLockManager({ url: server.url, keyPrefix: 'bench:' });
    while (m.state === 'suspended') await new Promise((resolve) => setTimeout(resolve, 5));
    return m;
  };
  try {
    return await libraryScenarios('Redis (1 node)', make, commands);
  } finally {
    admin.disconnect();
  }
}

// ---------------------------------------------------------------------------------------------------- DynamoDB
async function dynamoScenarios(server) {
  const counts = new Map();
  let requests = 0;
  const clients = [];
  const admin = new DynamoDBClient({ ...dynaliteClientConfig(server.endpoint), maxAttempts: 1 });
  await createLockTable(admin, 'bench-locks');
  const make = async () => {
    const client = new DynamoDBClient({ ...dynaliteClientConfig(server.endpoint), maxAttempts: 1 });
    client.middlewareStack.add(
      (next, context) => (args) => {
        requests++;
        counts.set(context.commandName, (counts.get(context.commandName) ?? 0) + 1);
        return next(args);
      },
      { step: 'initialize', name: 'benchCount' },
    );
    clients.push(client);
    return new DynamoDbLockManager({ tableName: 'bench-locks', client });
  };
  try {
    const rows = await libraryScenarios('DynamoDB (dynalite)', make, async () => requests);
    return { rows, counts };
  } finally {
    for (const c of [admin, ...clients]) c.destroy();
  }
}

/**
 * The holder's link to DynamoDB blackholed (a partition of the holder alone): when the holder's signal fires and when
 * another process (a second manager, direct link) gets the lock, both from the cut, with a lease of FAULT_LEASE_MS.
 */
const FAULT_LEASE_MS = 3000;
async function dynamoFault(server, runs = 3) {
  const results = [];
  for (let i = 0; i < runs; i++) {
    const proxy = await FaultProxy.start({ port: server.port }, { framing: 'none' });
    const cut = new DynamoDBClient({ ...dynaliteClientConfig(`http://${proxy.address}`), maxAttempts: 1 });
    const direct = new DynamoDBClient({ ...dynaliteClientConfig(server.endpoint), maxAttempts: 1 });
    const holder = new DynamoDbLockManager({ tableName: 'bench-locks', client: cut, leaseMs: FAULT_LEASE_MS, requestTimeoutMs: 500 });
    const other = new DynamoDbLockManager({ tableName: 'bench-locks', client: direct, leaseMs: FAULT_LEASE_MS });
    try {
      const lock = await holder.acquire(`fault-${i}`);
      let noticed;
      lock.signal.addEventListener('abort', () => (noticed = performance.now()));
      const t0 = performance.now();
      proxy.setMode('blackhole');
      const taken = await other.acquire(`fault-${i}`, { timeoutMs: 60_000 });
      const acquired = performance.now();
      results.push({ notice: noticed - t0, acquire: acquired - t0, ok: noticed < acquired && taken.fencingToken > lock.fencingToken });
      await taken.release();
    } finally {
      await Promise.allSettled([holder.close(), other.close(), proxy.close()]);
      cut.destroy();
      direct.destroy();
    }
  }
  return results;
}

// ---------------------------------------------------------------------------------------------------- report
function machine() {
  const sh = (cmd, args) => {
    try {
      return execFileSync(cmd, args, { encoding: 'utf8' }).trim();
    } catch {
      return 'n/a';
    }
  };
  const version = (pkg) => {
    try {
      return require(`${pkg}/package.json`).version;
    } catch {
      return 'n/a';
    }
  };
  return [
    `- date: ${new Date().toISOString()}`,
    `- nproc: ${sh('nproc', [])}`,
    `- memory: ${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
    `- CPU: ${cpus()[0]?.model ?? 'n/a'}`,
    `- node: ${process.version}`,
    `- ZooKeeper: Debian package (${sh('dpkg-query', ['-W', '-f=${Version}', 'zookeeper'])}), loopback, forceSync=no`,
    `- Redis: ${sh('redis-server', ['--version']).split(' ').slice(2, 3).join(' ')}, private, no persistence`,
    `- DynamoDB: dynalite ${version('dynalite')} (in-memory, its own Node process), @aws-sdk/client-dynamodb ${version('@aws-sdk/client-dynamodb')}`,
    `- load average at start: ${sh('cat', ['/proc/loadavg'])}`,
  ].join('\n');
}

const loadAtStart = machine();
const zkStandalone = await startZooKeeper();
const zkEnsemble = await startEnsemble(3);
const redis = await startRedis();
const dynalite = await startDynalite({ cli: require.resolve('dynalite/cli.js') });
let rows = [];
let dynamoCounts = new Map();
let faults = [];
let curator = { rows: [], note: 'not run' };
try {
  rows.push(...(await zookeeperScenarios('standalone', zkStandalone)));
  rows.push(...(await zookeeperScenarios('ensemble (3)', zkEnsemble)));
  curator = await curatorScenarios({ standalone: zkStandalone, ensemble: zkEnsemble, cycles: CYCLES, warmup: WARMUP, summarize, zxid });
  rows.push(...curator.rows);
  rows.push(...(await redisScenarios(redis)));
  const dynamo = await dynamoScenarios(dynalite);
  rows.push(...dynamo.rows);
  dynamoCounts = dynamo.counts;
  faults = await dynamoFault(dynalite);
} finally {
  await Promise.allSettled([zkStandalone.stop(), zkEnsemble.stop(), redis.stop(), dynalite.stop()]);
}

const date = new Date().toISOString().slice(0, 10);
const opsLabel = (backend) =>
  backend.startsWith('ZooKeeper') || backend.startsWith('Curator') ? 'ZooKeeper writes' : backend.startsWith('Redis') ? 'Redis commands' : 'DynamoDB requests';
const table = [
  '| backend | scenario | cycles | p50 ms | p99 ms | max ms | cycles/s | server ops per cycle |',
  '|---|---|---:|---:|---:|---:|---:|---|',
  ...rows.map(
    (x) =>
      `| ${x.backend} | ${x.scenario} | ${x.n} | ${ms(x.p50)} | ${ms(x.p99)} | ${ms(x.max)} | ${x.perSecond.toFixed(0)} | ${
        x.ops === undefined ? 'n/a' : `${x.ops.toFixed(2)} ${opsLabel(x.backend)}`
      } |`,
  ),
].join('\n');
const sideBySide = [
  '| backend | uncontended p50 / p99 ms | uncontended cycles/s | 1 hot key, 20 contenders: p50 / p99 ms | cycles/s | ops per uncontended cycle |',
  '|---|---:|---:|---:|---:|---|',
  ...[...new Set(rows.map((x) => x.backend))].flatMap((backend) => {
    const un = rows.find((x) => x.backend === backend && x.scenario.startsWith('1 key, uncontended'));
    const hot = rows.find((x) => x.backend === backend && x.scenario.startsWith(`1 key, ${CONTENDERS} contenders`));
    if (!un || !hot) return [];
    return [
      `| ${backend} | ${ms(un.p50)} / ${ms(un.p99)} | ${un.perSecond.toFixed(0)} | ${ms(hot.p50)} / ${ms(hot.p99)} | ${hot.perSecond.toFixed(0)} | ${
        un.ops === undefined ? 'n/a' : `${un.ops.toFixed(2)} ${opsLabel(backend)}`
      } |`,
    ];
  }),
].join('\n');
const overhead = ['standalone', 'ensemble (3)'].map((label) => {
  const raw = rows.find((x) => x.backend === `ZooKeeper ${label}` && x.scenario.startsWith('raw client (create'));
  const lib = rows.find((x) => x.backend === `ZooKeeper ${label}` && x.scenario === '1 key, uncontended');
  return `- ${label}: library p50 ${ms(lib.p50)} ms vs raw p50 ${ms(raw.p50)} ms → overhead ${(((lib.p50 - raw.p50) / raw.p50) * 100).toFixed(1)}%`;
});
const report = `# Lock benchmark (${date})

Command: \`pnpm bench:locks\` (${CYCLES} cycles per scenario after ${WARMUP} warm-up cycles; \`BENCH_CYCLES\` changes it).
A cycle is acquire + release with default options, every server private and on loopback, the client in this one Node
process. Scenarios: one key, one loop (uncontended); ${CONTENDERS} keys, ${CONTENDERS} concurrent loops (one key each);
one hot key, ${CONTENDERS} concurrent loops over ${SESSIONS} managers (${SESSIONS} sessions / connections / clients, as
${SESSIONS} processes would have). "Server ops per cycle": ZooKeeper writes = zxid delta / cycles (every write
transaction, session creation included); Redis = \`total_commands_processed\` delta / cycles; DynamoDB = requests the
SDK sent / cycles (a middleware count; waiters' polls included). The ZooKeeper raw row is create EPHEMERAL_SEQUENTIAL
+ getChildren + delete with node-zookeeper-client, the calls the recipe is made of.

## Machine (shared, loaded: see the load average)
${loadAtStart}

## Side by side
${sideBySide}

## All scenarios
${table}

DynamoDB requests by operation over the whole DynamoDB run: ${[...dynamoCounts].map(([k, v]) => `${k} ${v}`).join(', ')}.

## DynamoDB: holder cut off (its link blackholed), lease ${FAULT_LEASE_MS} ms
| run | holder's signal fires after | another process acquires after | signal first, token greater |
|---:|---:|---:|---|
${faults.map((f, i) => `| ${i + 1} | ${f.notice.toFixed(0)} ms | ${f.acquire.toFixed(0)} ms | ${f.ok ? 'yes' : '**NO**'} |`).join('\n')}

Expected: the signal 2/3 of the lease after the last successful renewal (so between ${(FAULT_LEASE_MS / 3).toFixed(0)} and
${((FAULT_LEASE_MS * 2) / 3).toFixed(0)} ms after the cut, plus the lateness of timers on a loaded machine), the takeover at
≥ one lease after the other process first saw the last record version (≥ ${FAULT_LEASE_MS} ms after the last renewal).

## Library overhead over the raw ZooKeeper client at p50 (1 key, uncontended)
${overhead.join('\n')}

## Apache Curator
${curator.note}
`;
process.stdout.write(report);
const out = fileURLToPath(new URL(`../results/locks-${date}.md`, import.meta.url));
mkdirSync(fileURLToPath(new URL('../results/', import.meta.url)), { recursive: true });
writeFileSync(out, report);
process.stdout.write(`\nwritten to ${out}\n`);
