// Apache Curator's InterProcessMutex in bench:locks: the Java driver of the interoperability test
// (packages/coordination/test/curator/), fetched from Maven Central and compiled once into .tmp/curator/.
// Same scenarios as the library: one key uncontended (1 client, 1 thread) and one hot key with 20 contenders
// (4 clients = 4 sessions, 5 threads each). When Maven Central is unreachable the section says so and nothing runs.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { prepareCurator } from './dist/curator.js';

export async function curatorScenarios({ standalone, ensemble, cycles, warmup, summarize, zxid }) {
  const curator = await prepareCurator({
    dir: fileURLToPath(new URL('../../packages/coordination/test/curator/', import.meta.url)),
    mainClass: 'CuratorInterop',
    cacheDir: fileURLToPath(new URL('../../.tmp/curator/', import.meta.url)),
  });
  if ('skip' in curator) return { rows: [], note: `not run: ${curator.skip}` };
  const rows = [];
  for (const [label, cluster] of [['standalone', standalone], ['ensemble (3)', ensemble]]) {
    const backend = `Curator 5.5.0 ${label}`;
    for (const [scenario, clients, threads, path] of [
      ['1 key, uncontended', 1, 1, '/curator-bench/locks/one'],
      ['1 key, 20 contenders (4 managers x 5)', 4, 5, '/curator-bench/locks/hot'],
    ]) {
      const args = ['bench', cluster.connectionString, path, String(cycles), String(warmup), String(clients), String(threads)];
      // The zxid delta includes the JVM's warm-up cycles and its sessions: subtract the warm-up's 2 writes per cycle.
      const before = await zxid(cluster);
      const out = JSON.parse((await curator.exec(args)).trim().split('\n').pop());
      const after = await zxid(cluster);
      const run = { latencies: out.latenciesMs, elapsedMs: out.elapsedMs };
      rows.push(summarize(backend, scenario, run, after - before - 2 * warmup - clients));
    }
  }
  return {
    rows,
    note: [
      `Curator 5.5.0 (ZooKeeper client 3.7.1), ${spawnSync('java', ['-version'], { encoding: 'utf8' }).stderr.split('\n')[0]}.`,
      'InterProcessMutex acquire() + release() per cycle, on the same servers as the library, in one JVM per scenario',
      '(threads over 1 or 4 CuratorFramework clients). Its writes per cycle are the zxid delta minus the warm-up cycles',
      '(2 writes each) and one session creation per client.',
    ].join(' '),
  };
}
