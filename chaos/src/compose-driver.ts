/**
 * The docker compose driver: the same faults against the stack of docker-compose.yml with the local override
 * (docker-compose.local.yml: images built here, PostgreSQL as the store, per-replica store proxies), through
 * `docker-compose kill/stop/start/pause/unpause/up <service>`. `scripts/compose-local.sh up` brings the stack up
 * (building the images when missing) and checks the README's examples through nginx.
 *
 * How each fault is made, and its limits:
 * - kill a replica: `kill -s SIGKILL`; restart: `start`, then its /readyz (published on loopback) answers;
 * - "SIGSTOP a replica" is `pause` (the cgroup freezer: every process of the container stops, sockets stay open);
 * - restart a replica with another DEADLINE_MS / STORE_COMMIT_TIMEOUT_MS: the override reads them from
 *   CATRACA_AUTHORIZER_<n>_DEADLINE_MS / _STORE_COMMIT_TIMEOUT_MS, and `up -d --no-deps` recreates the container;
 *   other settings cannot be changed (UnsupportedFaultError);
 * - ZooKeeper leader: each member's `srvr` (nc inside the container) says which one leads;
 * - store latency: this kernel has no `tc netem`, so each replica reaches PostgreSQL through its own TCP proxy
 *   container (deploy/local-images/latency-proxy) whose delay is set on its control port;
 * - which replica holds locks cannot be seen (ZooKeeper's `cons`/`dump` are not whitelisted): no `lockNodesOf`.
 */
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { openPostgresStore, type Store } from '@catraca/authorizer';
import { scrapeMetric } from '../../test-support/cluster-client.js';
import { UnsupportedFaultError, type ClusterDriver } from './driver.js';

const run = promisify(execFile);

export interface ComposeDriverOptions {
  /** `docker-compose` (v1) or `docker compose` (v2 plugin). Default `docker-compose`. */
  flavour?: 'docker-compose' | 'docker compose';
  /** Compose files, in order. Default `docker-compose.yml` and `docker-compose.local.yml`. */
  files?: readonly string[];
  /** Project name (`-p`). Default `catraca-local` (as scripts/compose-local.sh). */
  project?: string;
  /** Load balancer URL. Default `http://localhost:8080`. */
  url?: string;
  /** Each replica straight, as published by the override. Default `http://127.0.0.1:18081`, `…:18082`. */
  replicaUrls?: readonly string[];
  /** Each replica's store proxy control URL. Default `http://127.0.0.1:18091`, `…:18092`. */
  latencyUrls?: readonly string[];
  /** The store from the host, for the invariant checker. Default `CHAOS_STORE_URL` or the override's 15432. */
  storeUrl?: string;
  /** ZOOKEEPER_SESSION_TIMEOUT_MS of the compose file. Default 6000. */
  sessionTimeoutMs?: number;
  /** How long a restarted replica or ZooKeeper member may take to serve. Default 120000. */
  readyTimeoutMs?: number;
  /** Brings the stack up. Default `scripts/compose-local.sh up`. */
  upCommand?: readonly string[];
  /** DEADLINE_MS and STORE_COMMIT_TIMEOUT_MS of every replica (the run's settings). Default: the compose file's. */
  baseEnv?: Record<string, string>;
  /** Runs one command line (with extra environment); default `execFile`. Tests pass a recorder. */
  exec?: (argv: readonly string[], env?: Record<string, string>) => Promise<string>;
}

export const COMPOSE_SERVICES = Object.freeze({
  replicas: ['authorizer-1', 'authorizer-2'] as const,
  zookeeper: ['zoo1', 'zoo2', 'zoo3'] as const,
  redis: 'redis',
  store: 'postgres',
  loadBalancer: 'nginx',
});

/** The settings a replica can be restarted with (see docker-compose.local.yml). */
const RESTART_SETTINGS = ['DEADLINE_MS', 'STORE_COMMIT_TIMEOUT_MS'] as const;

export type ComposeAction =
  | { verb: 'up'; services?: readonly string[] }
  | { verb: 'down' }
  | { verb: 'logs'; services: readonly string[] }
  | { verb: 'kill'; service: string; signal?: string }
  | { verb: 'stop' | 'start' | 'pause' | 'unpause' | 'restart'; services: readonly string[] }
  | { verb: 'exec'; service: string; command: readonly string[] };

type ArgvOptions = Pick<ComposeDriverOptions, 'flavour' | 'files' | 'project'>;

/** The argv of one compose command (pure; unit-tested). */
export function composeArgv(action: ComposeAction, options: ArgvOptions = {}): string[] {
  const base = (options.flavour ?? 'docker-compose') === 'docker compose' ? ['docker', 'compose'] : ['docker-compose'];
  const files = (options.files ?? ['docker-compose.yml', 'docker-compose.local.yml']).flatMap((f) => ['-f', f]);
  const global = [...base, ...files, '-p', options.project ?? 'catraca-local'];
  switch (action.verb) {
    case 'up':
      return action.services === undefined
        ? [...global, 'up', '-d', '--no-build']
        : [...global, 'up', '-d', '--no-build', '--no-deps', ...action.services];
    case 'down':
      return [...global, 'down', '-v', '--remove-orphans'];
    case 'logs':
      return [...global, 'logs', '--no-color', ...action.services];
    case 'kill':
      return [...global, 'kill', '-s', action.signal ?? 'SIGKILL', action.service];
    case 'exec':
      return [...global, 'exec', '-T', action.service, ...action.command];
    default:
      if (action.services.length === 0) throw new RangeError(`${action.verb}: no service`);
      return [...global, action.verb, ...action.services];
  }
}

export class ComposeDriver implements ClusterDriver {
  readonly name = 'compose';
  readonly replicaCount = COMPOSE_SERVICES.replicas.length;
  readonly url: string;
  readonly sessionTimeoutMs: number;
  readonly #exec: (argv: readonly string[], env?: Record<string, string>) => Promise<string>;
  readonly #replicaUrls: readonly string[];
  readonly #latencyUrls: readonly string[];
  /** The replicas' settings at start, which scenario cleanups restore. */
  readonly baseEnv: Readonly<Record<string, string>>;
  /** Settings each replica runs with (the base, or what it was last restarted with). */
  readonly #env: Array<Record<string, string>>;

  constructor(private readonly options: ComposeDriverOptions = {}) {
    this.url = options.url ?? 'http://localhost:8080';
    this.sessionTimeoutMs = options.sessionTimeoutMs ?? 6_000;
    this.#replicaUrls = options.replicaUrls ?? ['http://127.0.0.1:18081', 'http://127.0.0.1:18082'];
    this.#latencyUrls = options.latencyUrls ?? ['http://127.0.0.1:18091', 'http://127.0.0.1:18092'];
    this.baseEnv = Object.freeze({ ...options.baseEnv });
    for (const key of Object.keys(this.baseEnv)) {
      if (!(RESTART_SETTINGS as readonly string[]).includes(key)) throw new RangeError(`compose: cannot set ${key}`);
    }
    this.#env = COMPOSE_SERVICES.replicas.map(() => ({ ...this.baseEnv }));
    this.#exec =
      options.exec ??
      (async (argv, env) => {
        const [command, ...args] = argv;
        const { stdout } = await run(command!, args, {
          timeout: 900_000,
          maxBuffer: 64 * 1024 * 1024,
          env: { ...process.env, ...env },
        });
        return stdout;
      });
  }

  describe(): string {
    const files = (this.options.files ?? ['docker-compose.yml', 'docker-compose.local.yml']).join(' + ');
    return `docker compose (${files}): 2 replicas, ZooKeeper ×3, Redis, PostgreSQL, nginx at ${this.url}`;
  }

  #compose(action: ComposeAction, env?: Record<string, string>): Promise<string> {
    return this.#exec(composeArgv(action, this.options), env);
  }

  #replica(index: number): string {
    const service = COMPOSE_SERVICES.replicas[index];
    if (!service) throw new RangeError(`no replica ${index}`);
    return service;
  }

  /** The CATRACA_AUTHORIZER_<n>_… variables docker-compose.local.yml reads, for every replica's last settings. */
  #settings(): Record<string, string> {
    const out: Record<string, string> = {};
    this.#env.forEach((env, i) => {
      for (const [key, value] of Object.entries(env)) out[`CATRACA_AUTHORIZER_${i + 1}_${key}`] = value;
    });
    return out;
  }

  async #waitReady(url: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2_000) }).then((r) => r.ok, () => false))) {
      if (Date.now() > deadline) throw new Error(`compose: ${url}/readyz not ready within ${timeoutMs} ms`);
      await sleep(250);
    }
  }

  async start(): Promise<void> {
    await this.#exec(this.options.upCommand ?? ['scripts/compose-local.sh', 'up'], this.#settings());
    await this.#waitReady(this.url, 180_000);
    for (const url of this.#replicaUrls) await this.#waitReady(url, 180_000);
  }

  replicaUrl(index: number): string {
    this.#replica(index);
    return this.#replicaUrls[index]!;
  }

  async killReplica(index: number): Promise<void> {
    await this.#compose({ verb: 'kill', service: this.#replica(index) });
  }

  async stopReplica(index: number): Promise<void> {
    await this.#compose({ verb: 'pause', services: [this.#replica(index)] });
  }

  async resumeReplica(index: number): Promise<void> {
    await this.#compose({ verb: 'unpause', services: [this.#replica(index)] });
  }

  async restartReplica(index: number, env?: Record<string, string>): Promise<void> {
    const service = this.#replica(index);
    if (env === undefined) {
      await this.#compose({ verb: 'start', services: [service] });
    } else {
      const unsupported = Object.keys(env).filter((key) => !(RESTART_SETTINGS as readonly string[]).includes(key));
      if (unsupported.length > 0) {
        throw new UnsupportedFaultError(
          `restart ${service} with ${unsupported.join(', ')}`,
          `docker-compose.local.yml lets only ${RESTART_SETTINGS.join(', ')} change`,
        );
      }
      this.#env[index] = { ...env };
      await this.#compose({ verb: 'up', services: [service] }, this.#settings());
    }
    await this.#waitReady(this.replicaUrl(index), this.options.readyTimeoutMs ?? 120_000);
  }

  /** Asks each member for its mode (`srvr` through nc inside the container). */
  async #leader(): Promise<string> {
    for (const member of COMPOSE_SERVICES.zookeeper) {
      const status = await this.#compose({ verb: 'exec', service: member, command: SRVR }).catch(() => '');
      if (/Mode: leader/.test(status)) return member;
    }
    throw new Error('compose: no ZooKeeper member reports Mode: leader');
  }

  async killZooKeeperLeader(): Promise<string> {
    const leader = await this.#leader();
    await this.#compose({ verb: 'kill', service: leader });
    return leader;
  }

  async restartZooKeeper(members: readonly string[]): Promise<void> {
    await this.#compose({ verb: 'start', services: members });
    const deadline = Date.now() + (this.options.readyTimeoutMs ?? 120_000);
    for (const member of members) {
      while (!/Mode: (leader|follower)/.test(await this.#compose({ verb: 'exec', service: member, command: SRVR }).catch(() => ''))) {
        if (Date.now() > deadline) throw new Error(`compose: ${member} not serving within 120 s`);
        await sleep(500);
      }
    }
  }

  async stopZooKeeperMembers(count: number): Promise<string[]> {
    const victims = COMPOSE_SERVICES.zookeeper.slice(0, count);
    await this.#compose({ verb: 'stop', services: victims });
    return [...victims];
  }

  async killRedis(): Promise<void> {
    await this.#compose({ verb: 'kill', service: COMPOSE_SERVICES.redis });
  }

  async restoreRedis(): Promise<void> {
    await this.#compose({ verb: 'start', services: [COMPOSE_SERVICES.redis] });
  }

  async restartStore(downMs: number): Promise<void> {
    await this.#compose({ verb: 'stop', services: [COMPOSE_SERVICES.store] });
    await sleep(downMs);
    await this.#compose({ verb: 'start', services: [COMPOSE_SERVICES.store] });
  }

  async #setLatency(index: number, ms: number): Promise<void> {
    this.#replica(index);
    const reply = await fetch(`${this.#latencyUrls[index]}/delay?ms=${ms}`, {
      method: 'PUT',
      signal: AbortSignal.timeout(5_000),
    });
    if (!reply.ok) throw new Error(`compose: store proxy ${index + 1} refused delay ${ms}: ${reply.status}`);
  }

  addStoreLatency(index: number, ms: number): Promise<void> {
    return this.#setLatency(index, ms);
  }

  removeStoreLatency(index: number): Promise<void> {
    return this.#setLatency(index, 0);
  }

  openStore(): Promise<Store> {
    const url = this.options.storeUrl ?? process.env['CHAOS_STORE_URL'] ?? 'postgres://postgres@127.0.0.1:15432/catraca';
    return openPostgresStore({ connectionString: url, maxConnections: 4 });
  }

  logHint(): string {
    return `${composeArgv({ verb: 'logs', services: COMPOSE_SERVICES.replicas }, this.options).join(' ')}`;
  }

  async scrapeMetric(index: number, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
    return scrapeMetric(this.replicaUrl(index), name, labels).catch(() => undefined);
  }

  async saveLogs(dir: string): Promise<string[]> {
    await mkdir(dir, { recursive: true });
    const written: string[] = [];
    for (const service of COMPOSE_SERVICES.replicas) {
      const file = join(dir, `${service}.log`);
      await writeFile(file, await this.#compose({ verb: 'logs', services: [service] }).catch((e: Error) => e.message));
      written.push(file);
    }
    return written;
  }

  async stop(): Promise<void> {
    await this.#compose({ verb: 'down' });
  }
}

/** `srvr` through netcat inside a ZooKeeper container (the local image has netcat-openbsd). */
const SRVR = ['sh', '-c', 'echo srvr | nc -w 2 127.0.0.1 2181'] as const;
