/**
 * The seven chaos scenarios, written once against {@link ClusterDriver}. Each injects one fault under the steady load
 * and lifts it; the runner measures the three phases (before, during = from injection until the fault is lifted,
 * after) and runs the invariant checker.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { UnsupportedFaultError, type ClusterDriver } from './driver.js';

export interface Timing {
  beforeMs: number;
  /** How long a fault is held before it is lifted (the pause scenario holds longer than the session timeout). */
  holdMs: number;
  afterMs: number;
}

export interface FaultContext {
  driver: ClusterDriver;
  timing: Timing;
  /** Records a fact for the report (which replica, how long, what a metric said). */
  fact(text: string): void;
  /** The replica settings a scenario's cleanup restores (undefined when the driver cannot change them). */
  defaults: Record<string, string> | undefined;
}

export interface Scenario {
  number: number;
  title: string;
  /** Prepares the cluster before the "before" phase (e.g. restarts a replica with another setting). */
  prepare?(context: FaultContext): Promise<void>;
  /** Injects the fault, holds it, lifts it. Resolves once the fault is lifted (the end of the "during" phase). */
  run(context: FaultContext): Promise<void>;
  /** Puts back what {@link prepare} changed, after the load stopped and the invariants were checked. */
  cleanup?(context: FaultContext): Promise<void>;
}

/**
 * The pause scenario's replica runs with a request budget longer than the pause: with the suite's short budget its
 * held batches would simply time out on SIGCONT (timers fire first) and never reach the commit; with a long one they
 * do commit late, on balances read before the pause — the case the version compare-and-set exists for.
 */
const PAUSED_REPLICA = 0;
const LONG_BUDGET_ENV = Object.freeze({ DEADLINE_MS: '30000', STORE_COMMIT_TIMEOUT_MS: '30000' });

const elapsed = (since: number): string => `${((performance.now() - since) / 1_000).toFixed(1)} s`;

/** Refused commits of replica `index` so far: the fence at work (version compare-and-set, or an id already stored). */
async function refusedCommits(
  driver: ClusterDriver,
  index: number,
): Promise<{ versionConflict: number; duplicateId: number; fenced: number } | undefined> {
  const name = 'catraca_store_commit_seconds_count';
  const versionConflict = await driver.scrapeMetric(index, name, { outcome: 'version_conflict' });
  const duplicateId = await driver.scrapeMetric(index, name, { outcome: 'duplicate_id' });
  const fenced = await driver.scrapeMetric(index, name, { outcome: 'fenced' });
  return versionConflict === undefined || duplicateId === undefined || fenced === undefined
    ? undefined
    : { versionConflict, duplicateId, fenced };
}

/** Forward outcomes of replica `index` so far (catraca_forwards_total by outcome). */
async function forwardOutcomes(driver: ClusterDriver, index: number): Promise<Record<string, number> | undefined> {
  const outcomes = ['served', 'not_owner', 'timeout', 'lost', 'refused', 'no_budget'];
  const values = await Promise.all(outcomes.map((outcome) => driver.scrapeMetric(index, 'catraca_forwards_total', { outcome })));
  if (values.some((v) => v === undefined)) return undefined;
  return Object.fromEntries(outcomes.map((outcome, i) => [outcome, values[i]!]));
}

function describeOutcomes(before: Record<string, number>, after: Record<string, number>): string {
  return Object.keys(after)
    .map((key) => `${key} ${after[key]! - (before[key] ?? 0)}`)
    .join(', ');
}

/**
 * SIGSTOPs replica `index` at a moment its ZooKeeper session holds account locks (under ownership the home keeps its
 * accounts' locks while they are busy, so this is quick) and returns what it held; the replica stays stopped.
 */
async function pauseWhileOwning(driver: ClusterDriver, index: number): Promise<{ held: number; queued: number }> {
  const started = performance.now();
  for (;;) {
    await driver.stopReplica(index);
    const owned = driver.lockNodesOf ? await driver.lockNodesOf(index) : { held: 1, queued: 0 };
    if (owned.held > 0 || performance.now() - started > 15_000) return owned;
    await driver.resumeReplica(index);
    await sleep(20);
  }
}

export const SCENARIOS: readonly Scenario[] = [
  {
    number: 1,
    title: 'SIGKILL a replica; restart it',
    async run({ driver, timing, fact }) {
      await driver.killReplica(0);
      fact('replica 0 SIGKILLed');
      await sleep(timing.holdMs);
      const t = performance.now();
      await driver.restartReplica(0);
      fact(`replica 0 restarted (${elapsed(t)} to listen)`);
    },
  },
  {
    number: 2,
    title: 'SIGSTOP a lock-holding replica past the session timeout; SIGCONT',
    async prepare({ driver, fact }) {
      try {
        await driver.restartReplica(PAUSED_REPLICA, { ...LONG_BUDGET_ENV });
        fact(`replica ${PAUSED_REPLICA} restarted with DEADLINE_MS=${LONG_BUDGET_ENV.DEADLINE_MS} (a budget that outlives the pause)`);
      } catch (error) {
        if (!(error instanceof UnsupportedFaultError)) throw error;
        fact(`replica ${PAUSED_REPLICA} keeps its budget (${error.message}): its held batches may time out instead of committing late`);
      }
    },
    async cleanup({ driver, defaults }) {
      if (defaults) await driver.restartReplica(PAUSED_REPLICA, { ...defaults });
    },
    async run({ driver, timing, fact }) {
      // Counters first: a paused replica cannot be scraped.
      const before = await Promise.all(Array.from({ length: driver.replicaCount }, (_, i) => refusedCommits(driver, i)));
      // Freeze a replica and look in ZooKeeper: keep it frozen if its session holds an account lock (it is between
      // "read balances" and "commit"); otherwise let it run a moment and look again. After 15 s, a queued node will do.
      let paused: number | undefined;
      let looks = 0;
      let owned = { held: 0, queued: 0 };
      const started = performance.now();
      while (paused === undefined && performance.now() - started < 30_000) {
        for (const index of [PAUSED_REPLICA]) {
          looks++;
          await driver.stopReplica(index);
          owned = driver.lockNodesOf ? await driver.lockNodesOf(index) : { held: 1, queued: 0 };
          const enough = owned.held > 0 || (owned.queued > 0 && performance.now() - started > 15_000);
          if (enough) paused = index;
          else {
            await driver.resumeReplica(index);
            await sleep(10);
          }
        }
      }
      if (paused === undefined) throw new Error(`no replica owned a lock node in ${looks} looks`);
      fact(
        driver.lockNodesOf
          ? `replica ${paused} SIGSTOPped while its ZooKeeper session held ${owned.held} account lock(s) and queued for ${owned.queued} (look ${looks})`
          : `replica ${paused} paused (lock ownership not visible with this driver)`,
      );
      const pauseMs = Math.max(timing.holdMs, Math.round(driver.sessionTimeoutMs * 1.5) + 2_000);
      await sleep(pauseMs);
      await driver.resumeReplica(paused);
      // Its late commits (decided on balances read before the pause) reach the store now; give them a moment.
      await sleep(1_500);
      const after = await refusedCommits(driver, paused);
      const was = before[paused];
      fact(
        `held ${pauseMs} ms (session timeout ${driver.sessionTimeoutMs} ms), then SIGCONT; ` +
          (was && after
            ? `commits of replica ${paused} refused by the fence since the pause: version conflict ${after.versionConflict - was.versionConflict}, older owner epoch ${after.fenced - was.fenced}, id already stored ${after.duplicateId - was.duplicateId}`
            : 'refused commits not scraped'),
      );
    },
  },
  {
    number: 3,
    title: 'SIGKILL the ZooKeeper leader; restart it',
    async run({ driver, timing, fact }) {
      const leader = await driver.killZooKeeperLeader();
      fact(`${leader} (leader) SIGKILLed`);
      await sleep(timing.holdMs);
      const t = performance.now();
      await driver.restartZooKeeper([leader]);
      fact(`${leader} restarted (${elapsed(t)} to serve)`);
    },
  },
  {
    number: 4,
    title: 'Stop 2 of 3 ZooKeeper nodes (no quorum); restore',
    async run({ driver, timing, fact }) {
      const degraded0 = await driver.scrapeMetric(0, 'catraca_degraded_decisions_total');
      const members = await driver.stopZooKeeperMembers(2);
      fact(`${members.join(', ')} stopped: no quorum`);
      await sleep(timing.holdMs);
      const degraded1 = await driver.scrapeMetric(0, 'catraca_degraded_decisions_total');
      const t = performance.now();
      await driver.restartZooKeeper(members);
      fact(`quorum back (${elapsed(t)})`);
      if (degraded0 !== undefined && degraded1 !== undefined) fact(`replica 0 counted ${degraded1 - degraded0} degraded (fence-only) decisions`);
    },
  },
  {
    number: 5,
    title: 'Kill Redis; restore',
    async run({ driver, timing, fact }) {
      await driver.killRedis();
      fact('redis SIGKILLed');
      await sleep(timing.holdMs);
      await driver.restoreRedis();
      fact('redis restarted (empty)');
    },
  },
  {
    number: 6,
    title: 'Restart PostgreSQL',
    async run({ driver, timing, fact }) {
      const t = performance.now();
      await driver.restartStore(Math.round(timing.holdMs / 2));
      fact(`store stopped (fast shutdown), down ${Math.round(timing.holdMs / 2)} ms, started again (${elapsed(t)} in all)`);
    },
  },
  {
    number: 7,
    title: '50 ms latency between one replica and the store; remove',
    async run({ driver, timing, fact }) {
      const index = driver.replicaCount - 1;
      await driver.addStoreLatency(index, 50);
      fact(`replica ${index} ↔ store: +50 ms each way`);
      await sleep(timing.holdMs);
      await driver.removeStoreLatency(index);
      fact('latency removed');
    },
  },
  {
    number: 8,
    title: 'Ownership: SIGSTOP the home of busy accounts while forwards to it are in flight; SIGCONT',
    async run({ driver, timing, fact }) {
      const owner = 0;
      const other = 1;
      const before = await forwardOutcomes(driver, other);
      const owned = await pauseWhileOwning(driver, owner);
      fact(`replica ${owner} SIGSTOPped holding ${owned.held} account lock(s) (its accounts' forwards from replica ${other} now hang)`);
      const pauseMs = Math.max(timing.holdMs, Math.round(driver.sessionTimeoutMs * 1.5) + 2_000);
      await sleep(pauseMs);
      const during = await forwardOutcomes(driver, other);
      await driver.resumeReplica(owner);
      await sleep(1_500);
      fact(`held ${pauseMs} ms (session timeout ${driver.sessionTimeoutMs} ms), then SIGCONT`);
      if (before && during) fact(`replica ${other}'s forwards during the pause: ${describeOutcomes(before, during)}`);
    },
  },
  {
    number: 9,
    title: 'Ownership: SIGKILL the home of busy accounts; restart it',
    async run({ driver, timing, fact }) {
      const owner = 0;
      const before = await forwardOutcomes(driver, 1);
      const owned = await pauseWhileOwning(driver, owner);
      await driver.killReplica(owner);
      fact(`replica ${owner} SIGKILLed holding ${owned.held} account lock(s)`);
      await sleep(Math.max(timing.holdMs, driver.sessionTimeoutMs + 2_000));
      const during = await forwardOutcomes(driver, 1);
      if (before && during) fact(`replica 1's forwards until the restart: ${describeOutcomes(before, during)}`);
      const t = performance.now();
      await driver.restartReplica(owner);
      fact(`replica ${owner} restarted (${elapsed(t)} to listen); its accounts re-home to it`);
    },
  },
  {
    number: 10,
    title: 'Ownership: 50 ms latency on every replica-to-replica link; remove',
    async run({ driver, timing, fact }) {
      if (!driver.setReplicaLinkLatency) throw new UnsupportedFaultError('replica link latency', `driver ${driver.name} cannot delay it`);
      const before = await forwardOutcomes(driver, 0);
      await driver.setReplicaLinkLatency(50);
      fact('every replica ↔ replica link (internal forwarding channel): +50 ms each way');
      await sleep(timing.holdMs);
      const during = await forwardOutcomes(driver, 0);
      await driver.setReplicaLinkLatency(0);
      fact('latency removed');
      if (before && during) fact(`replica 0's forwards meanwhile: ${describeOutcomes(before, during)}`);
    },
  },
  {
    number: 11,
    title: 'Ownership: a third replica joins under load, then leaves (planned)',
    async run({ driver, timing, fact }) {
      if (!driver.addReplica || !driver.removeReplica) throw new UnsupportedFaultError('replica join', `driver ${driver.name} cannot add one`);
      const t = performance.now();
      const index = await driver.addReplica();
      fact(`replica ${index} joined (${elapsed(t)} to listen; not behind nginx: its accounts reach it by forwarding)`);
      await sleep(Math.round(timing.holdMs / 2));
      const served = await driver.scrapeMetric(index, 'catraca_forwards_served_total', { answer: 'served' });
      const owned = driver.lockNodesOf ? await driver.lockNodesOf(index) : undefined;
      fact(`replica ${index} served ${served ?? '?'} forwarded request(s)${owned ? `, held ${owned.held} account lock(s)` : ''}`);
      const t2 = performance.now();
      await driver.removeReplica(index);
      fact(`replica ${index} left (SIGTERM: leaves the group, drains, releases its locks in bulk; ${elapsed(t2)})`);
      await sleep(Math.round(timing.holdMs / 2));
    },
  },
];
