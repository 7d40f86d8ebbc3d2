/**
 * `pnpm bench:faults [--runs=N] [--session-ms=T] [--only=<text in a fault's name>]`: for each fault, how long the ZooKeeper lock's holder takes to notice
 * (state `suspended`: in doubt; lock `signal`: lost) and how long until another process can acquire the same key,
 * measured from the moment the fault is injected, against real ZooKeeper servers (standalone and a 3-node loopback
 * ensemble with peer fault proxies) started here. Prints a Markdown table (median and max over the runs). A program
 * that prints figures, not a test: nothing here fails on a time.
 */
import { spawn } from 'node:child_process';
import { cpus, hostname, totalmem } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { FaultProxy } from '../../../test-support/fault-proxy.js';
import { startEnsemble, startZooKeeper, type ZooKeeperCluster, type ZooKeeperServer } from '../../../test-support/zookeeper.js';
import type { Lock } from '../src/index.js';
import { ZooKeeperLockManager } from '../src/zookeeper/index.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    'session-ms': { type: 'string', default: '4000' },
    only: { type: 'string', default: '' },
  },
});
const RUNS = Number(values.runs);
const T = Number(values['session-ms']);
const now = (): number => performance.now();

interface Sample {
  suspended?: number;
  signal?: number;
  acquired?: number;
  note?: string;
}

interface Scenario {
  name: string;
  run(): Promise<Sample>;
}

const managers = new Set<ZooKeeperLockManager>();
function manager(connectionString: string): ZooKeeperLockManager {
  const m = new ZooKeeperLockManager({ connectionString, sessionTimeoutMs: T, namespace: 'faults-bench', reapDelayMs: 0 });
  managers.add(m);
  return m;
}
async function closeAll(): Promise<void> {
  await Promise.allSettled([...managers].map((m) => m.close()));
  managers.clear();
}

let key = 0;

/**
 * The common shape: `holder` acquires a fresh key, `fault()` is injected at t0, `other` then waits for the key. Returns
 * the holder's first `suspended` and its lock's signal, and the other's grant, in ms after t0.
 */
async function measure(holder: ZooKeeperLockManager, other: ZooKeeperLockManager, fault: () => Promise<void> | void): Promise<Sample> {
  const k = `k${++key}`;
  await Promise.all([holder.waitConnected(), other.waitConnected()]);
  const lock = await holder.acquire(k, { timeoutMs: 30_000 });
  const sample: Sample = {};
  let t0 = 0;
  holder.onStateChange((state) => {
    if (state === 'suspended' && sample.suspended === undefined && t0 > 0) sample.suspended = now() - t0;
  });
  lock.signal.addEventListener('abort', () => {
    // Lost, not closed: close() at the end of a run also fires the signal.
    if ((lock.signal.reason as { reason?: string }).reason === 'session-lost') sample.signal = now() - t0;
  });
  t0 = now();
  await fault();
  const taken = await acquireWithin(other, k, 6 * T);
  if (taken) {
    sample.acquired = now() - t0;
    await taken.release();
  }
  return sample;
}

/** Acquires `k`, retrying through outages (an election makes `acquire` fail with CoordinationUnavailableError). */
async function acquireWithin(m: ZooKeeperLockManager, k: string, budgetMs: number): Promise<Lock | undefined> {
  const deadline = now() + budgetMs;
  while (now() < deadline) {
    try {
      return await m.acquire(k, { timeoutMs: Math.max(1, Math.round(deadline - now())) });
    } catch (error) {
      if ((error as { code?: string }).code !== 'COORDINATION_UNAVAILABLE') return undefined;
      await sleep(50);
    }
  }
  return undefined;
}

/**
 * Waits until the ensemble has exactly one leader and every other server follows: after a fault, a server that was
 * leader may go on saying so for a while, and pausing it then would inject no fault at all.
 */
async function settled(ensemble: ZooKeeperCluster): Promise<void> {
  const deadline = now() + 60_000;
  while (now() < deadline) {
    const modes = await Promise.all(ensemble.servers.map((s) => s.mode()));
    if (modes.filter((m) => m === 'leader').length === 1 && modes.filter((m) => m === 'follower').length === modes.length - 1) {
      return;
    }
    await sleep(200);
  }
  throw new Error('the ensemble did not settle');
}

const scenarios = (standalone: ZooKeeperCluster, ensemble: ZooKeeperCluster): Scenario[] => {
  const follower = async (): Promise<ZooKeeperServer> => {
    await settled(ensemble);
    const leader = await ensemble.leader();
    for (const s of ensemble.servers) if (s !== leader && (await s.mode()) === 'follower') return s;
    throw new Error('no follower');
  };
  return [
    {
      name: 'holder process SIGSTOP (2·T), then SIGCONT',
      run: () => pausedHolder(standalone.connectionString),
    },
    {
      name: 'client link blackholed (proxy: nothing passes, TCP stays open)',
      async run() {
        const proxy = await FaultProxy.start({ port: standalone.servers[0]!.clientPort });
        try {
          return await measure(manager(proxy.address), manager(standalone.connectionString), () => proxy.setMode('blackhole'));
        } finally {
          await proxy.close();
        }
      },
    },
    {
      name: 'client link reset, reconnects refused',
      async run() {
        const proxy = await FaultProxy.start({ port: standalone.servers[0]!.clientPort });
        return measure(manager(proxy.address), manager(standalone.connectionString), () => proxy.close());
      },
    },
    {
      name: "partitioned follower (holder's server cut off from the quorum, client link up)",
      async run() {
        const isolated = await follower();
        const others = ensemble.servers.filter((s) => s !== isolated).map((s) => s.address).join(',');
        try {
          return await measure(manager(isolated.address), manager(others), () => ensemble.isolate(isolated.id));
        } finally {
          ensemble.heal(isolated.id);
          await ensemble.waitServing();
        }
      },
    },
    {
      name: "holder's only server killed (SIGKILL; 3-node ensemble keeps its quorum)",
      async run() {
        const victim = await follower();
        const others = ensemble.servers.filter((s) => s !== victim).map((s) => s.address).join(',');
        try {
          return await measure(manager(victim.address), manager(others), () => victim.kill());
        } finally {
          await victim.restart();
          await ensemble.waitServing();
        }
      },
    },
    {
      name: "holder's server killed, whole ensemble in its connection string",
      async run() {
        // Through one proxy per member, to see which member the client picked; that one is killed.
        const proxies = await Promise.all(ensemble.servers.map((s) => FaultProxy.start({ port: s.clientPort })));
        try {
          const holder = manager(proxies.map((p) => p.address).join(','));
          await holder.waitConnected();
          const index = proxies.findIndex((p) => p.activeConnections > 0);
          const victim = ensemble.servers[index]!;
          const others = ensemble.servers.filter((s) => s !== victim).map((s) => s.address).join(',');
          const sample = await measure(holder, manager(others), async () => {
            await victim.kill();
            proxies[index]!.drop();
          });
          await victim.restart();
          await ensemble.waitServing();
          const kept = sample.acquired === undefined && sample.signal === undefined;
          return { ...sample, note: kept ? 'session kept (moved to another member, lock held, nobody else got it)' : 'session lost' };
        } finally {
          await Promise.all(proxies.map((p) => p.close()));
        }
      },
    },
    {
      name: 'leader SIGSTOP (holder on a follower; election)',
      async run() {
        const holderServer = await follower();
        const leader = await ensemble.leader();
        const others = ensemble.servers.filter((s) => s !== leader).map((s) => s.address).join(',');
        try {
          const sample = await measure(manager(holderServer.address), manager(others), () => leader.pause());
          const kept = sample.acquired === undefined && sample.signal === undefined;
          return { ...sample, note: kept ? 'session kept (reconnected after the election, lock held, nobody else got it)' : 'session lost' };
        } finally {
          leader.resume();
          await ensemble.waitServing();
        }
      },
    },
    {
      name: 'session expired by the server (link silent past T, then back)',
      async run() {
        const proxy = await FaultProxy.start({ port: standalone.servers[0]!.clientPort });
        const holder = manager(proxy.address);
        const sample = await measure(holder, manager(standalone.connectionString), () => proxy.setMode('blackhole'));
        proxy.setMode('pass');
        await proxy.close();
        return sample;
      },
    },
    {
      name: 'wall clock stepped 30 s back, then the client link blackholed',
      async run() {
        const proxy = await FaultProxy.start({ port: standalone.servers[0]!.clientPort });
        const restore = stepWallClock(-30_000);
        try {
          return await measure(manager(proxy.address), manager(standalone.connectionString), () => proxy.setMode('blackhole'));
        } finally {
          restore();
          await proxy.close();
        }
      },
    },
    {
      name: 'wall clock stepped 30 s forward, healthy network (2·T)',
      async run() {
        const m = manager(standalone.connectionString);
        const lock = await m.acquire(`k${++key}`, { timeoutMs: 30_000 });
        const restore = stepWallClock(30_000);
        const t0 = now();
        const sample: Sample = { note: '' };
        m.onStateChange((state) => {
          if (state === 'suspended' && sample.suspended === undefined) sample.suspended = now() - t0;
        });
        lock.signal.addEventListener('abort', () => (sample.signal = now() - t0));
        await sleep(2 * T);
        restore();
        if (lock.held) sample.note = 'lock kept, nothing noticed (correct)';
        await lock.release();
        return sample;
      },
    },
  ];
};

/** From now on Date.now() is `offsetMs` away from the real time; returns the undo. */
function stepWallClock(offsetMs: number): () => void {
  const original = Date.now;
  Date.now = () => original.call(Date) + offsetMs;
  return () => {
    Date.now = original;
  };
}

/** The holder runs in its own OS process (built package), so it can be stopped with SIGSTOP. */
async function pausedHolder(connectionString: string): Promise<Sample> {
  const dist = new URL('../dist/zookeeper/index.js', import.meta.url).href;
  const k = `k${++key}`;
  const script = `
    const { ZooKeeperLockManager } = await import(${JSON.stringify(dist)});
    const m = new ZooKeeperLockManager({ connectionString: ${JSON.stringify(connectionString)}, sessionTimeoutMs: ${T}, namespace: 'faults-bench' });
    const wall = () => performance.timeOrigin + performance.now();
    const lock = await m.acquire(${JSON.stringify(k)});
    lock.signal.addEventListener('abort', () => { if (lock.signal.reason?.reason === 'session-lost') console.log('signal ' + wall()); });
    console.log('held');
    process.stdin.once('data', async () => { await m.close(); process.exit(0); });`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! });
  const next = (): Promise<string> => new Promise((resolve) => lines.once('line', resolve));
  if ((await next()) !== 'held') throw new Error('holder did not start');
  const other = manager(connectionString);
  await other.waitConnected();
  const wallT0 = performance.timeOrigin + now();
  const t0 = now();
  child.kill('SIGSTOP');
  const signalLine = next();
  let acquired: number | undefined;
  const taken = other.acquire(k, { timeoutMs: 6 * T }).then((l) => {
    acquired = now() - t0;
    return l;
  });
  await sleep(2 * T);
  const resumedAt = now() - t0;
  child.kill('SIGCONT');
  const lock = await taken;
  const signal = Number((await signalLine).split(' ')[1]) - wallT0;
  child.stdin!.write('close\n');
  await lock.release();
  const note = 'a stopped process runs no code: its signal fires on SIGCONT (at +2·T), at its first watchdog tick; until then its writes carry an older fencing token';
  process.stderr.write(`  signal ${Math.round(signal - resumedAt)} ms after SIGCONT\n`);
  return { signal, ...(acquired === undefined ? {} : { acquired }), note };
}

async function main(): Promise<void> {
  const started = new Date();
  const [standalone, ensemble] = await Promise.all([startZooKeeper(), startEnsemble(3, { peerProxies: true })]);
  const results = new Map<string, Sample[]>();
  try {
    for (const scenario of scenarios(standalone, ensemble).filter((s) => s.name.includes(values.only))) {
      for (let run = 0; run < RUNS; run++) {
        let sample: Sample;
        try {
          sample = await scenario.run();
        } catch (error) {
          sample = { note: `error: ${(error as Error).message}` };
        }
        await closeAll();
        results.set(scenario.name, [...(results.get(scenario.name) ?? []), sample]);
        process.stderr.write(`${scenario.name} #${run + 1}: ${JSON.stringify(sample, (_, v: unknown) => (typeof v === 'number' ? Math.round(v) : v))}\n`);
      }
    }
  } finally {
    await closeAll();
    await Promise.all([standalone.stop(), ensemble.stop()]);
  }
  const cell = (values: Array<number | undefined>): string => {
    const xs = values.filter((v): v is number => v !== undefined).sort((a, b) => a - b);
    if (xs.length === 0) return '—';
    const median = xs[Math.floor((xs.length - 1) / 2)]!;
    return `${Math.round(median)} (max ${Math.round(xs[xs.length - 1]!)})`;
  };
  const lines = [
    `Session timeout T = ${T} ms (server tickTime 250 ms), ${RUNS} runs per fault, ms after the fault, median (max).`,
    `Machine: ${hostname()}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}; ${started.toISOString()}.`,
    '',
    '| fault | holder suspended (in doubt) | holder lock signal (lost) | another process acquires | notice < acquire | note |',
    '|---|---|---|---|---|---|',
  ];
  for (const [name, samples] of results) {
    const ok = samples.every((s) => s.acquired === undefined || (s.signal !== undefined && s.signal < s.acquired));
    const counts = new Map<string, number>();
    for (const s of samples) if (s.note) counts.set(s.note, (counts.get(s.note) ?? 0) + 1);
    const notes = [...counts].map(([note, n]) => (counts.size > 1 || n < samples.length ? `${note} (${n}/${samples.length})` : note)).join('; ');
    lines.push(
      `| ${name} | ${cell(samples.map((s) => s.suspended))} | ${cell(samples.map((s) => s.signal))} | ${cell(samples.map((s) => s.acquired))} | ${ok ? 'yes' : 'NO'} | ${notes} |`,
    );
  }
  process.stdout.write(lines.join('\n') + '\n');
}

await main();
process.exit(0);
