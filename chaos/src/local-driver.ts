/**
 * The local-process driver: a cluster of real OS processes on loopback (test-support/cluster.ts): a 3-node ZooKeeper
 * ensemble, redis-server, a private PostgreSQL, N authorizer replicas and nginx. Faults are real: SIGKILL, SIGSTOP,
 * `pg_ctl stop`. The last replica reaches PostgreSQL through a {@link LatencyProxy} (pass-through until a scenario
 * adds latency).
 */
import { copyFile, mkdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { openPostgresStore, type Store } from '@catraca/authorizer';
import { scrapeMetric } from '../../test-support/cluster-client.js';
import { startLocalCluster, type LocalCluster } from '../../test-support/cluster.js';
import { freePorts } from '../../test-support/ports.js';
import { zookeeperSessionOf } from '../../test-support/zookeeper-inspect.js';
import { fourLetterWord, type ZooKeeperServer } from '../../test-support/zookeeper.js';
import type { ClusterDriver } from './driver.js';
import { LatencyProxy } from './latency-proxy.js';

export interface LocalDriverOptions {
  replicas: number;
  sessionTimeoutMs: number;
  /** Environment of every replica (DEADLINE_MS, …). */
  env: Record<string, string>;
  /** Cluster ownership (forwarding to account homes). Default true. */
  ownership?: boolean;
}

export class LocalDriver implements ClusterDriver {
  readonly name = 'local';
  #cluster: LocalCluster | undefined;
  #proxy: LatencyProxy | undefined;
  /** One latency proxy in front of each replica's internal channel (what the other replicas connect to). */
  #linkProxies: LatencyProxy[] = [];
  /** The replica whose store connection goes through the proxy. */
  readonly proxiedReplica: number;

  constructor(private readonly options: LocalDriverOptions) {
    if (options.replicas < 2) throw new RangeError('the chaos suite needs at least 2 replicas');
    this.proxiedReplica = options.replicas - 1;
  }

  get sessionTimeoutMs(): number {
    return this.options.sessionTimeoutMs;
  }

  get replicaCount(): number {
    return this.options.replicas;
  }

  describe(): string {
    const env = Object.entries(this.options.env).map(([k, v]) => `${k}=${v}`).join(' ');
    return (
      `local processes: ${this.options.replicas} replicas behind nginx, ZooKeeper 3-node ensemble ` +
      `(session ${this.options.sessionTimeoutMs} ms), redis-server, PostgreSQL (private); ` +
      `replica ${this.proxiedReplica} reaches PostgreSQL through a TCP latency proxy; ${env}`
    );
  }

  get #c(): LocalCluster {
    if (!this.#cluster) throw new Error('local driver: start() first');
    return this.#cluster;
  }

  get url(): string {
    return this.#c.url;
  }

  async start(): Promise<void> {
    // Every replica advertises its internal channel through a pass-through latency proxy (the replica-link scenario).
    const internalPorts = await freePorts(this.options.replicas);
    this.#linkProxies = await Promise.all(internalPorts.map((port) => LatencyProxy.start(port)));
    this.#cluster = await startLocalCluster({
      replicas: this.options.replicas,
      zookeeper: 'ensemble',
      lock: 'zookeeper',
      zookeeperSessionTimeoutMs: this.options.sessionTimeoutMs,
      env: this.options.env,
      ownership: this.options.ownership ?? true,
      replicaEnv: (i) => ({ CLUSTER_PORT: String(internalPorts[i]), CLUSTER_ADVERTISE_PORT: String(this.#linkProxies[i]!.port) }),
    });
    // The proxied replica restarts once, on the same port, with POSTGRES_URL through the proxy.
    this.#proxy = await LatencyProxy.start(this.#c.postgres.port);
    const proxied = this.#c.postgresUrl.replace(`:${this.#c.postgres.port}/`, `:${this.#proxy.port}/`);
    if (proxied === this.#c.postgresUrl) throw new Error(`cannot route ${this.#c.postgresUrl} through the proxy`);
    await this.#c.restartReplica(this.proxiedReplica, { env: { POSTGRES_URL: proxied } });
  }

  replicaUrl(index: number): string {
    const replica = this.#c.replicas[index];
    if (!replica) throw new RangeError(`no replica ${index}`);
    return replica.url;
  }

  killReplica(index: number): Promise<void> {
    return this.#c.killReplica(index, 'SIGKILL');
  }

  stopReplica(index: number): Promise<void> {
    return this.#c.killReplica(index, 'SIGSTOP');
  }

  resumeReplica(index: number): Promise<void> {
    return this.#c.killReplica(index, 'SIGCONT');
  }

  restartReplica(index: number, env?: Record<string, string>): Promise<void> {
    return this.#c.restartReplica(index, env ? { env } : {});
  }

  async addReplica(): Promise<number> {
    const [internalPort] = await freePorts(1);
    const proxy = await LatencyProxy.start(internalPort!);
    proxy.setDelay(this.#linkProxies[0]?.delayMs ?? 0);
    this.#linkProxies.push(proxy);
    const replica = await this.#c.addReplica({
      env: { CLUSTER_PORT: String(internalPort), CLUSTER_ADVERTISE_PORT: String(proxy.port) },
    });
    return replica.index;
  }

  removeReplica(index: number): Promise<void> {
    return this.#c.killReplica(index, 'SIGTERM');
  }

  async setReplicaLinkLatency(ms: number): Promise<void> {
    for (const proxy of this.#linkProxies) proxy.setDelay(ms);
  }

  /** The environment every replica started with (DEADLINE_MS, …), to restore after a scenario changed one. */
  get baseEnv(): Readonly<Record<string, string>> {
    return this.#c.env;
  }

  async lockNodesOf(index: number): Promise<{ held: number; queued: number }> {
    const zookeeper = this.#c.zookeeper;
    const pid = this.#c.replicas[index]?.pid;
    if (!zookeeper || pid === undefined) return { held: 0, queued: 0 };
    const session = await zookeeperSessionOf(zookeeper, pid);
    if (session === undefined) return { held: 0, queued: 0 };
    // `dump` lists every session's ephemerals: a node holds its lock when no node of the same lock has a lower sequence.
    const leader = await zookeeper.leader(10_000);
    const dump = await fourLetterWord(leader.clientPort, 'dump', 2_000);
    const lowest = new Map<string, number>();
    const mine: Array<{ lock: string; sequence: number }> = [];
    let owner: string | undefined;
    for (const raw of dump.split('\n')) {
      const line = raw.trim();
      const header = /^(0x[0-9a-f]+):$/.exec(line);
      if (header) {
        owner = header[1];
        continue;
      }
      const node = /^(\/catraca\/locks\/.+)\/[^/]*-lock-(\d{10})$/.exec(line);
      if (!node) continue;
      const [lock, sequence] = [node[1]!, Number(node[2])];
      lowest.set(lock, Math.min(lowest.get(lock) ?? Infinity, sequence));
      if (owner === session) mine.push({ lock, sequence });
    }
    const held = mine.filter((n) => lowest.get(n.lock) === n.sequence).length;
    return { held, queued: mine.length - held };
  }

  #zookeeperMember(name: string): ZooKeeperServer {
    const member = this.#c.zookeeper?.servers.find((s) => `zoo${s.id}` === name);
    if (!member) throw new Error(`no ZooKeeper member ${name}`);
    return member;
  }

  async killZooKeeperLeader(): Promise<string> {
    const zookeeper = this.#c.zookeeper;
    if (!zookeeper) throw new Error('no ZooKeeper');
    const leader = await zookeeper.leader(30_000);
    await leader.kill();
    return `zoo${leader.id}`;
  }

  async restartZooKeeper(members: readonly string[]): Promise<void> {
    // One at a time: the first one back restores the quorum with the member that stayed up.
    for (const name of members) await this.#zookeeperMember(name).restart();
    await this.#c.zookeeper?.waitServing(60_000);
  }

  async stopZooKeeperMembers(count: number): Promise<string[]> {
    const zookeeper = this.#c.zookeeper;
    if (!zookeeper) throw new Error('no ZooKeeper');
    const victims = zookeeper.servers.filter((s) => s.running).slice(0, count);
    await Promise.all(victims.map((s) => s.kill()));
    return victims.map((s) => `zoo${s.id}`);
  }

  killRedis(): Promise<void> {
    return this.#c.redis.kill();
  }

  restoreRedis(): Promise<void> {
    return this.#c.redis.restart();
  }

  async restartStore(downMs: number): Promise<void> {
    await this.#c.postgres.stop('fast');
    await new Promise((resolve) => setTimeout(resolve, downMs));
    await this.#c.postgres.start();
  }

  async addStoreLatency(index: number, ms: number): Promise<void> {
    if (index !== this.proxiedReplica) throw new RangeError(`only replica ${this.proxiedReplica} goes through the proxy`);
    this.#proxy?.setDelay(ms);
  }

  async removeStoreLatency(index: number): Promise<void> {
    if (index !== this.proxiedReplica) throw new RangeError(`only replica ${this.proxiedReplica} goes through the proxy`);
    this.#proxy?.setDelay(0);
  }

  openStore(): Promise<Store> {
    return openPostgresStore({ connectionString: this.#c.postgresUrl, maxConnections: 2, statementTimeoutMs: 30_000 });
  }

  logHint(): string {
    return this.#c.replicas.map((r) => r.logFile).join(', ');
  }

  async saveLogs(dir: string): Promise<string[]> {
    await mkdir(dir, { recursive: true });
    const saved: string[] = [];
    for (const replica of this.#c.replicas) {
      const target = join(dir, basename(replica.logFile));
      await copyFile(replica.logFile, target).then(() => saved.push(target), () => {});
    }
    return saved;
  }

  async scrapeMetric(index: number, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
    return scrapeMetric(this.replicaUrl(index), name, labels).catch(() => undefined);
  }

  async stop(): Promise<void> {
    await this.#proxy?.close().catch(() => {});
    await Promise.allSettled(this.#linkProxies.map((proxy) => proxy.close()));
    await this.#cluster?.stop();
  }
}
