/**
 * A local Catraca cluster on loopback, for `pnpm cluster`, end-to-end and chaos tests: a ZooKeeper ensemble (or a
 * standalone server), a private `redis-server`, a private PostgreSQL, N authorizer replicas (the built CLI) and
 * `nginx` as the load balancer in front. Every component listens on a free loopback port and lives in temp dirs;
 * `stop()` tears everything down, and a process-exit hook kills what is left if the caller never gets to call it.
 *
 * Replicas are real OS processes (`packages/authorizer/dist/main.js`, built by `tsc -b`), so they can be SIGKILLed,
 * SIGSTOPped and restarted on the same port while nginx keeps routing by that port.
 */
import { execFile, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, readFileSync, type WriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { startAuthorizer } from '../bench/src/server.js';
import { freePort, freePorts } from './ports.js';
import { createThrowawayDatabase, startPrivatePostgres, type PrivatePostgres, type ThrowawayDatabase } from './postgres.js';
import { startNginx, type Nginx, type NginxProcess } from './nginx.js';
import { startRedis, type RedisServer } from './redis.js';
import { startEnsemble, startZooKeeper, type ZooKeeperCluster } from './zookeeper.js';

const run = promisify(execFile);
const HOST = '127.0.0.1';

export interface LocalClusterOptions {
  /** Number of authorizer replicas. Default 2. */
  replicas?: number;
  /** A 3-node loopback ensemble, or one standalone server (starts faster; stopping it is "ZooKeeper down"). Default `ensemble`. */
  zookeeper?: 'ensemble' | 'standalone';
  /** Only `postgres` for now (a private server started here). */
  store?: 'postgres';
  /** Only `redis` for now (a private `redis-server` started here). */
  cache?: 'redis';
  /**
   * `zookeeper` (the cluster design), `redis` (the Redis lock, on the cluster's redis-server; for comparison) or
   * `none` (store fence alone). ZooKeeper is started only for `zookeeper`. Default `zookeeper`.
   */
  lock?: 'zookeeper' | 'redis' | 'none';
  /** ZOOKEEPER_SESSION_TIMEOUT_MS of every replica. Default 4 000 ms (short, so tests see expiries quickly). */
  zookeeperSessionTimeoutMs?: number;
  /** Extra environment of every replica (wins over the cluster's own settings). */
  env?: Record<string, string>;
  /** Extra environment of one replica (wins over `env`), e.g. a different LOCK_UNAVAILABLE policy. */
  replicaEnv?: (index: number) => Record<string, string>;
  /**
   * Cluster routing and ownership (`LOCK=zookeeper` only): each account is served by its home replica, which keeps the
   * account's lock; other replicas forward to it. Default true.
   */
  ownership?: boolean;
  /** Put nginx in front of the replicas. Default true. */
  withNginx?: boolean;
  /** Bound on each component's start (ZooKeeper, PostgreSQL, Redis, a replica, nginx). Default 90 000 ms. */
  startTimeoutMs?: number;
}

const DEFAULTS = Object.freeze({
  replicas: 2,
  zookeeper: 'ensemble' as const,
  lock: 'zookeeper' as const,
  zookeeperSessionTimeoutMs: 4_000,
  withNginx: true,
  startTimeoutMs: 90_000,
});

export interface Replica {
  readonly index: number;
  readonly port: number;
  /** `http://127.0.0.1:<port>`, straight to this replica (bypassing nginx). */
  readonly url: string;
  /** True while the process exists (also while SIGSTOPped). */
  readonly running: boolean;
  readonly pid: number | undefined;
  /** The replica's stdout and stderr (pino JSON lines), appended across restarts. */
  readonly logFile: string;
}

export interface LocalCluster {
  /** The load balancer's URL (nginx), or replica 0's URL when started without nginx. */
  readonly url: string;
  readonly replicas: readonly Replica[];
  readonly nginx: Nginx | undefined;
  /** The ZooKeeper servers (kill/pause/restart a member, find the leader); undefined unless `lock: 'zookeeper'`. */
  readonly zookeeper: ZooKeeperCluster | undefined;
  readonly redis: RedisServer;
  /** The private PostgreSQL server (stop/start it for store-outage tests). */
  readonly postgres: PrivatePostgres;
  /** POSTGRES_URL of the replicas (a database on {@link postgres}). */
  readonly postgresUrl: string;
  /** The temp dir holding logs and the nginx configuration. */
  readonly dir: string;
  /** The environment every replica started with (before its own `replicaEnv`). */
  readonly env: Readonly<Record<string, string>>;
  /**
   * Sends `signal` to replica `index`. Resolves once the process has exited for SIGKILL/SIGTERM/SIGINT, at once for
   * anything else (SIGSTOP/SIGCONT pause and resume it).
   */
  killReplica(index: number, signal?: NodeJS.Signals): Promise<void>;
  /**
   * Starts replica `index` again on the same port (stopping it gracefully first if it still runs) and waits until it
   * listens. `env` is merged over the replica's previous environment.
   */
  restartReplica(index: number, options?: { env?: Record<string, string> }): Promise<void>;
  /**
   * Starts one more replica (not behind nginx: it gets its work by forwarding, as the account home of ~1/n of the
   * accounts) with the cluster's environment plus `env`; resolves with it once it listens. Remove it with
   * `killReplica(index, 'SIGTERM')` (a planned leave).
   */
  addReplica(options?: { env?: Record<string, string> }): Promise<Replica>;
  /** Stops every component and removes the temp dirs. Idempotent. */
  stop(): Promise<void>;
}

/** Starts a local cluster; on any failure, stops what was started and throws a message naming the component. */
export async function startLocalCluster(options: LocalClusterOptions = {}): Promise<LocalCluster> {
  const replicaCount = options.replicas ?? DEFAULTS.replicas;
  const lock = options.lock ?? DEFAULTS.lock;
  const startTimeoutMs = options.startTimeoutMs ?? DEFAULTS.startTimeoutMs;
  const sessionTimeoutMs = options.zookeeperSessionTimeoutMs ?? DEFAULTS.zookeeperSessionTimeoutMs;
  if (!Number.isInteger(replicaCount) || replicaCount < 1) throw new Error(`replicas must be >= 1, got ${replicaCount}`);
  if ((options.store ?? 'postgres') !== 'postgres') throw new Error('only store: postgres is supported');
  if ((options.cache ?? 'redis') !== 'redis') throw new Error('only cache: redis is supported');

  const cluster = new Cluster(await mkdtemp(join(tmpdir(), 'catraca-cluster-')), startTimeoutMs);
  try {
    const zookeeperMode = options.zookeeper ?? DEFAULTS.zookeeper;
    // allSettled, not all: when one start fails, the others still land in `cluster`, so that stop() cleans them up.
    const started = await Promise.allSettled([
      lock === 'zookeeper'
        ? bounded(
            zookeeperMode === 'ensemble' ? startEnsemble(3, { startTimeoutMs }) : startZooKeeper({ startTimeoutMs }),
            startTimeoutMs + 5_000,
            `ZooKeeper (${zookeeperMode})`,
            (zk) => zk.stop(),
          ).then((zk) => (cluster.zookeeper = zk))
        : undefined,
      bounded(startRedis({ startTimeoutMs }), startTimeoutMs, 'redis-server', (r) => r.stop()).then(
        (r) => (cluster.redis = r),
      ),
      bounded(startPrivatePostgres(), startTimeoutMs, 'PostgreSQL', (pg) => pg.destroy()).then(
        (pg) => (cluster.postgres = pg),
      ),
    ]);
    const failed = started.find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;
    const { zookeeper, redis, postgres } = cluster;
    cluster.watchPostgres(await postmasterPid(postgres));
    const database = await bounded(createThrowawayDatabase(postgres.url), 30_000, 'PostgreSQL database');
    cluster.database = database;

    const env: Record<string, string> = {
      STORE: 'postgres',
      POSTGRES_URL: database.connectionString,
      POSTGRES_POOL_SIZE: '8',
      LOCK: lock,
      CACHE: 'redis',
      REDIS_URL: redis.url,
      CACHE_SIGNING_KEY: 'cluster-test-cache-signing-key-0123456789abcdef',
      LOG_LEVEL: 'info',
      DATA_DIR: join(cluster.dir, 'data'),
      ...(zookeeper
        ? { ZOOKEEPER_CONNECT: zookeeper.connectionString, ZOOKEEPER_SESSION_TIMEOUT_MS: String(sessionTimeoutMs) }
        : {}),
      ...(zookeeper && (options.ownership ?? true) ? { CLUSTER_SECRET: randomBytes(24).toString('hex') } : {}),
      ...options.env,
    };
    cluster.env = env;
    // One replica first: it creates the schema and seeds the rules; the others then start side by side.
    const ports = await freePorts(replicaCount);
    for (let i = 0; i < replicaCount; i++) {
      cluster.replicaList.push(
        new ReplicaProcess(
          i,
          ports[i]!,
          { ...env, CLUSTER_MEMBER_ID: `replica-${i}`, ...options.replicaEnv?.(i) },
          join(cluster.dir, `replica-${i}.log`),
          startTimeoutMs,
        ),
      );
    }
    await cluster.replicaList[0]!.start(true);
    await Promise.all(cluster.replicaList.slice(1).map((r) => r.start(true)));

    if (options.withNginx ?? DEFAULTS.withNginx) {
      cluster.nginxProcess = await startNginx({
        dir: cluster.dir,
        upstreamPorts: cluster.replicaList.map((r) => r.port),
        startTimeoutMs,
        onSpawn: track,
      });
    }
    return cluster;
  } catch (error) {
    await cluster.stop().catch(() => {});
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------------------------

const liveChildren = new Set<ChildProcess>();
const livePostmasters = new Set<number>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of liveChildren) child.kill('SIGKILL');
    // pg_ctl daemonizes the postmaster; SIGQUIT is PostgreSQL's immediate shutdown, and can be sent synchronously.
    for (const pid of livePostmasters) {
      try {
        process.kill(pid, 'SIGQUIT');
      } catch {
        // already gone
      }
    }
  });
}

function track(child: ChildProcess): void {
  installExitHook();
  liveChildren.add(child);
  child.once('exit', () => liveChildren.delete(child));
}

class Cluster implements LocalCluster {
  zookeeper: ZooKeeperCluster | undefined;
  redis!: RedisServer;
  postgres!: PrivatePostgres;
  database: ThrowawayDatabase | undefined;
  env: Record<string, string> = {};
  readonly replicaList: ReplicaProcess[] = [];
  nginxProcess: NginxProcess | undefined;
  #postmaster: number | undefined;
  #stopping: Promise<void> | undefined;

  constructor(
    readonly dir: string,
    readonly startTimeoutMs: number,
  ) {}

  get url(): string {
    return this.nginxProcess?.url ?? this.replicaList[0]!.url;
  }

  get replicas(): readonly Replica[] {
    return this.replicaList;
  }

  get nginx(): Nginx | undefined {
    return this.nginxProcess;
  }

  get postgresUrl(): string {
    return this.database?.connectionString ?? '';
  }

  watchPostgres(pid: number | undefined): void {
    if (pid === undefined) return;
    installExitHook();
    this.#postmaster = pid;
    livePostmasters.add(pid);
  }

  #replica(index: number): ReplicaProcess {
    const replica = this.replicaList[index];
    if (!replica) throw new Error(`no replica ${index} (the cluster has ${this.replicaList.length})`);
    return replica;
  }

  killReplica(index: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    return this.#replica(index).signal(signal);
  }

  restartReplica(index: number, options: { env?: Record<string, string> } = {}): Promise<void> {
    return this.#replica(index).restart(options.env ?? {});
  }

  async addReplica(options: { env?: Record<string, string> } = {}): Promise<Replica> {
    const index = this.replicaList.length;
    const replica = new ReplicaProcess(
      index,
      await freePort(),
      { ...this.env, CLUSTER_MEMBER_ID: `replica-${index}`, ...options.env },
      join(this.dir, `replica-${index}.log`),
      this.startTimeoutMs,
    );
    this.replicaList.push(replica);
    await replica.start(true);
    return replica;
  }

  stop(): Promise<void> {
    return (this.#stopping ??= (async () => {
      // Front to back: stop taking traffic, then the replicas (they release locks and close sessions), then the rest.
      await this.nginxProcess?.stop().catch(() => {});
      await Promise.allSettled(this.replicaList.map((r) => r.stop()));
      for (const replica of this.replicaList) replica.closeLog();
      await Promise.allSettled([
        this.zookeeper?.stop(),
        this.redis?.stop(),
        this.postgres?.destroy().finally(() => {
          if (this.#postmaster !== undefined) livePostmasters.delete(this.#postmaster);
        }),
      ]);
      await rm(this.dir, { recursive: true, force: true });
    })());
  }
}

class ReplicaProcess implements Replica {
  #child: ChildProcess | undefined;
  #log: WriteStream;

  constructor(
    readonly index: number,
    public port: number,
    private env: Record<string, string>,
    readonly logFile: string,
    private readonly startTimeoutMs: number,
  ) {
    this.#log = createWriteStream(logFile, { flags: 'a' });
  }

  get url(): string {
    return `http://${HOST}:${this.port}`;
  }

  get running(): boolean {
    const child = this.#child;
    return child !== undefined && child.exitCode === null && child.signalCode === null;
  }

  get pid(): number | undefined {
    return this.running ? this.#child?.pid : undefined;
  }

  /** Starts the process; `newPortOnConflict` before nginx knows the port, never after. */
  async start(newPortOnConflict = false): Promise<void> {
    let lastError: unknown;
    for (let attempt = 1; attempt <= 3; attempt++) {
      try {
        const server = await startAuthorizer({ ...this.env, PORT: String(this.port) }, { timeoutMs: this.startTimeoutMs });
        track(server.child);
        server.child.stdout!.pipe(this.#log, { end: false });
        server.child.stderr!.pipe(this.#log, { end: false });
        this.#child = server.child;
        return;
      } catch (error) {
        lastError = error;
        // Someone took the port between the probe and the bind.
        if (!String(error).includes('EADDRINUSE')) break;
        if (newPortOnConflict) this.port = await freePort();
        else await sleep(500);
      }
    }
    throw new Error(`replica ${this.index} (port ${this.port}) did not start: ${(lastError as Error).message}`, {
      cause: lastError,
    });
  }

  async signal(signal: NodeJS.Signals): Promise<void> {
    const child = this.#child;
    if (!child || !this.running) return;
    const terminating = signal === 'SIGKILL' || signal === 'SIGTERM' || signal === 'SIGINT';
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    if (signal === 'SIGKILL') child.kill('SIGCONT');
    if (terminating) await exited;
  }

  async restart(env: Record<string, string>): Promise<void> {
    await this.stop();
    this.env = { ...this.env, ...env };
    await this.start();
  }

  closeLog(): void {
    this.#log.end();
  }

  /** SIGTERM (graceful: drains, releases locks), SIGKILL after 10 s. */
  async stop(): Promise<void> {
    const child = this.#child;
    if (child && this.running) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGCONT');
      child.kill('SIGTERM');
      const force = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(force);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------

// ---------------------------------------------------------------------------------------------------------------

/** The postmaster's pid (first line of `postmaster.pid` in the data directory), for the exit hook. */
async function postmasterPid(postgres: PrivatePostgres): Promise<number | undefined> {
  try {
    const { stdout } = await run(
      'psql',
      [`${postgres.url}/postgres`, '-qAtc', "SELECT setting FROM pg_settings WHERE name = 'data_directory'"],
      { timeout: 10_000 },
    );
    const pid = Number(readFileSync(join(stdout.trim(), 'postmaster.pid'), 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Races `promise` against a timeout with a clear message; a start that finishes late is cleaned up by `onLate`. */
function bounded<T>(promise: Promise<T>, timeoutMs: number, what: string, onLate?: (value: T) => unknown): Promise<T> {
  let timedOut = false;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      timedOut = true;
      reject(new Error(`cluster: ${what} did not start within ${timeoutMs} ms`));
    }, timeoutMs);
  });
  promise.then(
    (value) => {
      if (timedOut) void Promise.resolve(onLate?.(value)).catch(() => {});
    },
    () => {},
  );
  return Promise.race([
    promise.catch((error: unknown) => {
      throw new Error(`cluster: ${what} failed to start: ${(error as Error).message}`, { cause: error });
    }),
    timeout,
  ]).finally(() => clearTimeout(timer));
}

export type { Nginx } from './nginx.js';
