/**
 * Prints what batching and persistent parents cost on a private standalone ZooKeeper (not a test: figures only).
 *   npx tsx packages/coordination/bench/batch.ts [keys=100] [rounds=30]
 * - cold keys: `keys` try-locks one by one + releases one by one, vs one `tryAcquireMany` + one `releaseMany`
 *   (latency per round, p50/p99/max, and ZooKeeper transactions per key from `mntr`'s zxid count);
 * - memory: `mntr` approximate data size for 10,000 persistent parents and 10,000 held locks.
 */
import { performance } from 'node:perf_hooks';
import { fourLetterWord, startZooKeeper } from '../../../test-support/zookeeper.js';
import { ZooKeeperLockManager, type Lock } from '../src/index.js';

const keys = Number(process.argv[2] ?? 100);
const rounds = Number(process.argv[3] ?? 30);

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}

function summary(samples: number[]): string {
  const sorted = [...samples].sort((a, b) => a - b);
  return `p50 ${quantile(sorted, 0.5).toFixed(1)} ms  p99 ${quantile(sorted, 0.99).toFixed(1)} ms  max ${sorted.at(-1)?.toFixed(1)} ms`;
}

const zk = await startZooKeeper();
const port = zk.servers[0]!.clientPort;
const mntr = async (): Promise<Map<string, string>> =>
  new Map(
    (await fourLetterWord(port, 'mntr', 5_000))
      .split('\n')
      .map((line) => line.split('\t') as [string, string])
      .filter((pair) => pair.length === 2),
  );
const zxid = async (): Promise<bigint> => {
  const srvr = (await zk.servers[0]!.srvr(5_000)) ?? '';
  return BigInt(/Zxid: (0x[0-9a-f]+)/.exec(srvr)?.[1] ?? '0');
};

try {
  const manager = new ZooKeeperLockManager({ connectionString: zk.connectionString, namespace: 'bench', reapDelayMs: Infinity });
  await manager.waitConnected();
  const names = (round: number, kind: string): string[] => Array.from({ length: keys }, (_, i) => `${kind}-${round}-${i}`);

  const single: number[] = [];
  const batch: number[] = [];
  let singleTx = 0n;
  let batchTx = 0n;
  for (let round = 0; round < rounds; round++) {
    let before = await zxid();
    let start = performance.now();
    const locks: Lock[] = [];
    for (const key of names(round, 'single')) locks.push(await manager.acquire(key, { timeoutMs: 0 }));
    for (const lock of locks) await lock.release();
    single.push(performance.now() - start);
    singleTx += (await zxid()) - before;

    before = await zxid();
    start = performance.now();
    const held = await manager.tryAcquireMany(names(round, 'batch'));
    await manager.releaseMany([...held.values()]);
    batch.push(performance.now() - start);
    batchTx += (await zxid()) - before;
  }
  const perKey = (tx: bigint): string => (Number(tx) / (rounds * keys)).toFixed(2);
  console.log(`cold keys (parents missing), ${keys} per round, ${rounds} rounds:`);
  console.log(`  one by one (acquire timeoutMs 0 + release): ${summary(single)}  ZooKeeper transactions per key ${perKey(singleTx)}`);
  console.log(`  tryAcquireMany + releaseMany:               ${summary(batch)}  ZooKeeper transactions per key ${perKey(batchTx)}`);
  // The same keys again: their parents were kept (reapDelayMs: Infinity).
  single.length = 0;
  batch.length = 0;
  singleTx = 0n;
  batchTx = 0n;
  for (let round = 0; round < rounds; round++) {
    let before = await zxid();
    let start = performance.now();
    const locks: Lock[] = [];
    for (const key of names(round, 'single')) locks.push(await manager.acquire(key, { timeoutMs: 0 }));
    for (const lock of locks) await lock.release();
    single.push(performance.now() - start);
    singleTx += (await zxid()) - before;
    before = await zxid();
    start = performance.now();
    const held = await manager.tryAcquireMany(names(round, 'batch'));
    await manager.releaseMany([...held.values()]);
    batch.push(performance.now() - start);
    batchTx += (await zxid()) - before;
  }
  console.log(`warm keys (parents kept), ${keys} per round, ${rounds} rounds:`);
  console.log(`  one by one (acquire timeoutMs 0 + release): ${summary(single)}  ZooKeeper transactions per key ${perKey(singleTx)}`);
  console.log(`  tryAcquireMany + releaseMany:               ${summary(batch)}  ZooKeeper transactions per key ${perKey(batchTx)}`);

  const base = Number((await mntr()).get('zk_approximate_data_size'));
  const nodesBase = Number((await mntr()).get('zk_znode_count'));
  const parents = Array.from({ length: 10_000 }, (_, i) => `mem-${i}`);
  const many: Lock[] = [];
  for (let i = 0; i < parents.length; i += 500) many.push(...(await manager.tryAcquireMany(parents.slice(i, i + 500))).values());
  const held = await mntr();
  await manager.releaseMany(many);
  const kept = await mntr();
  const size = (m: Map<string, string>): number => Number(m.get('zk_approximate_data_size')) - base;
  const count = (m: Map<string, string>): number => Number(m.get('zk_znode_count')) - nodesBase;
  console.log(`memory (mntr zk_approximate_data_size, above the baseline):`);
  console.log(`  10,000 held locks with their parents: ${count(held)} znodes, ${size(held)} bytes (${(size(held) / 10_000).toFixed(0)} per key)`);
  console.log(`  10,000 persistent parents, no lock:   ${count(kept)} znodes, ${size(kept)} bytes (${(size(kept) / 10_000).toFixed(0)} per key)`);
  await manager.close();
} finally {
  await zk.stop();
}
