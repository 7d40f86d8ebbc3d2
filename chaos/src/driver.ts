/**
 * The cluster driver: every fault the chaos scenarios inject, written once against this interface. Two drivers
 * implement it: local processes (`local-driver.ts`, on this machine and in CI) and docker compose
 * (`compose-driver.ts`, for a machine with a Docker engine).
 */
import type { Store } from '@catraca/authorizer';

/** A fault a driver cannot inject (e.g. store latency under docker compose); the scenario is skipped and says why. */
export class UnsupportedFaultError extends Error {
  readonly code = 'UNSUPPORTED_FAULT' as const;
  constructor(fault: string, why: string) {
    super(`${fault}: ${why}`);
    this.name = 'UnsupportedFaultError';
  }
}

export interface ClusterDriver {
  /** `local` or `compose`; printed in the report. */
  readonly name: string;
  /** A line describing what runs (replicas, lock, store), printed in the report. */
  describe(): string;
  /** Brings the cluster up and waits until it answers through the load balancer. */
  start(): Promise<void>;
  /** The load balancer's base URL. */
  readonly url: string;
  /** Number of authorizer replicas. */
  readonly replicaCount: number;
  /** Base URL of replica `index` (straight to it, bypassing the load balancer). */
  replicaUrl(index: number): string;
  /** ZooKeeper session session timeout the replicas run with. */
  readonly sessionTimeoutMs: number;

  /** SIGKILL replica `index` (returns once it is gone). */
  killReplica(index: number): Promise<void>;
  /** SIGSTOP replica `index`: its sockets stay open, nothing answers. */
  stopReplica(index: number): Promise<void>;
  /** SIGCONT after {@link stopReplica}. */
  resumeReplica(index: number): Promise<void>;
  /**
   * Starts replica `index` again (after a kill, or stopping it gracefully first) and waits until it answers. `env`
   * is merged over its environment; a driver that cannot change it throws {@link UnsupportedFaultError}.
   */
  restartReplica(index: number, env?: Record<string, string>): Promise<void>;
  /**
   * The lock nodes replica `index`'s ZooKeeper session owns right now: `held` (the lowest sequence of its lock, i.e.
   * the replica is between "read balances" and "commit" for that account) and `queued`. Undefined when the driver
   * cannot look inside ZooKeeper. Call it while the replica is stopped, so that the answer stays true.
   */
  lockNodesOf?(index: number): Promise<{ held: number; queued: number }>;

  /** Starts one more replica (joins the cluster; not behind the load balancer); returns its index. */
  addReplica?(): Promise<number>;
  /** Stops replica `index` gracefully (SIGTERM: a planned leave) and waits for its exit. */
  removeReplica?(index: number): Promise<void>;
  /** Sets `ms` of latency each way on every replica-to-replica link (the internal forwarding channel); 0 removes it. */
  setReplicaLinkLatency?(ms: number): Promise<void>;
  /** SIGKILL the ZooKeeper leader; returns its name (for {@link restartZooKeeper}). */
  killZooKeeperLeader(): Promise<string>;
  /** Starts the named ZooKeeper members again and waits until they serve. */
  restartZooKeeper(members: readonly string[]): Promise<void>;
  /** Stops two of the three ZooKeeper members (no quorum); returns their names. */
  stopZooKeeperMembers(count: number): Promise<string[]>;

  /** SIGKILL Redis. */
  killRedis(): Promise<void>;
  /** Starts Redis again (empty). */
  restoreRedis(): Promise<void>;

  /** Stops the store server, waits `downMs`, and starts it again. */
  restartStore(downMs: number): Promise<void>;

  /** Adds `ms` of latency each way between replica `index` and the store. */
  addStoreLatency(index: number, ms: number): Promise<void>;
  removeStoreLatency(index: number): Promise<void>;

  /** A direct connection to the store, for the invariant checker. The caller closes it. */
  openStore(): Promise<Store>;
  /** Where replica logs are, for the report's evidence. */
  logHint(): string;
  /** Copies the replica logs to `dir` (evidence for a failed invariant); returns the files written. */
  saveLogs(dir: string): Promise<string[]>;
  /** Sums one Prometheus metric of replica `index` (undefined when the replica does not answer). */
  scrapeMetric(index: number, name: string, labels?: Record<string, string>): Promise<number | undefined>;

  /** Tears everything down. Idempotent. */
  stop(): Promise<void>;
}
