/**
 * The docker compose driver: the same faults against the repository's docker-compose.yml (services zoo1..zoo3,
 * redis, mongodb, authorizer-1, authorizer-2, nginx on localhost:8080), through `docker-compose kill/stop/start/
 * pause/unpause <service>`. Written for a machine with a Docker engine; where this suite was written there is none,
 * so only the command lines are tested (compose-driver.test.ts).
 *
 * Limits, stated rather than faked:
 * - store latency needs `tc netem` inside a container (NET_ADMIN, iproute2 in the image): not available, so the
 *   latency scenario is skipped with {@link UnsupportedFaultError};
 * - "pause a replica" is `docker-compose pause` (the cgroup freezer: the same effect as SIGSTOP on every process);
 * - the compose file publishes only nginx, so the invariant checker needs the store reachable from the host: set
 *   `CHAOS_MONGODB_URI` (e.g. publish mongodb's 27017 with an override file), and replica metrics are not scraped;
 * - ZooKeeper's `cons`/`dump` four-letter words are not whitelisted in the compose file, so which replica holds
 *   locks cannot be seen: the pause scenario pauses authorizer-1 under load and says so.
 */
import { execFile } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { openMongoStore, type Store } from '@catraca/authorizer';
import { UnsupportedFaultError, type ClusterDriver } from './driver.js';

const run = promisify(execFile);

export interface ComposeDriverOptions {
  /** `docker-compose` (v1) or `docker compose` (v2 plugin). Default `docker-compose`. */
  flavour?: 'docker-compose' | 'docker compose';
  /** Compose file. Default `docker-compose.yml` (the repository's). */
  file?: string;
  /** Project name (`-p`). Default: compose's own (the directory name). */
  project?: string;
  /** Load balancer URL. Default `http://localhost:8080`. */
  url?: string;
  /** The store, reachable from the host (see the module comment). Default `process.env.CHAOS_MONGODB_URI`. */
  mongodbUri?: string;
  /** ZOOKEEPER_SESSION_TIMEOUT_MS of the compose file. Default 6000. */
  sessionTimeoutMs?: number;
  /** Runs one command line; default `execFile`. Tests pass a recorder. */
  exec?: (argv: readonly string[]) => Promise<string>;
}

export const COMPOSE_SERVICES = Object.freeze({
  replicas: ['authorizer-1', 'authorizer-2'] as const,
  zookeeper: ['zoo1', 'zoo2', 'zoo3'] as const,
  redis: 'redis',
  store: 'mongodb',
  loadBalancer: 'nginx',
});

export type ComposeAction =
  | { verb: 'up' }
  | { verb: 'down' }
  | { verb: 'kill'; service: string; signal?: string }
  | { verb: 'stop' | 'start' | 'pause' | 'unpause' | 'restart'; services: readonly string[] }
  | { verb: 'exec'; service: string; command: readonly string[] };

/** The argv of one compose command (pure; unit-tested). */
export function composeArgv(action: ComposeAction, options: Pick<ComposeDriverOptions, 'flavour' | 'file' | 'project'> = {}): string[] {
  const base = (options.flavour ?? 'docker-compose') === 'docker compose' ? ['docker', 'compose'] : ['docker-compose'];
  const global = [...base, '-f', options.file ?? 'docker-compose.yml', ...(options.project ? ['-p', options.project] : [])];
  switch (action.verb) {
    case 'up':
      return [...global, 'up', '-d', '--build'];
    case 'down':
      return [...global, 'down'];
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
  readonly #exec: (argv: readonly string[]) => Promise<string>;

  constructor(private readonly options: ComposeDriverOptions = {}) {
    this.url = options.url ?? 'http://localhost:8080';
    this.sessionTimeoutMs = options.sessionTimeoutMs ?? 6_000;
    this.#exec =
      options.exec ??
      (async (argv) => {
        const [command, ...args] = argv;
        const { stdout } = await run(command!, args, { timeout: 300_000 });
        return stdout;
      });
  }

  describe(): string {
    return `docker compose (${this.options.file ?? 'docker-compose.yml'}): 2 replicas, ZooKeeper ×3, Redis, MongoDB, nginx at ${this.url}`;
  }

  #compose(action: ComposeAction): Promise<string> {
    return this.#exec(composeArgv(action, this.options));
  }

  #replica(index: number): string {
    const service = COMPOSE_SERVICES.replicas[index];
    if (!service) throw new RangeError(`no replica ${index}`);
    return service;
  }

  async start(): Promise<void> {
    await this.#compose({ verb: 'up' });
    const deadline = Date.now() + 180_000;
    while (Date.now() < deadline) {
      const ok = await fetch(`${this.url}/readyz`, { signal: AbortSignal.timeout(2_000) }).then((r) => r.ok, () => false);
      if (ok) return;
      await sleep(1_000);
    }
    throw new Error(`compose: ${this.url}/readyz not ready within 180 s`);
  }

  replicaUrl(index: number): string {
    throw new UnsupportedFaultError(`direct access to ${this.#replica(index)}`, 'the compose file publishes only nginx');
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
    if (env) throw new UnsupportedFaultError(`restart ${this.#replica(index)} with another environment`, 'compose services keep the environment of docker-compose.yml');
    await this.#compose({ verb: 'start', services: [this.#replica(index)] });
  }

  /** Asks each member for its mode (`zkServer.sh status` inside the container). */
  async #leader(): Promise<string> {
    for (const member of COMPOSE_SERVICES.zookeeper) {
      const status = await this.#compose({ verb: 'exec', service: member, command: ['zkServer.sh', 'status'] }).catch(() => '');
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

  addStoreLatency(): Promise<void> {
    return Promise.reject(
      new UnsupportedFaultError('store latency', 'needs tc netem inside the container (NET_ADMIN, iproute2); not available'),
    );
  }

  async removeStoreLatency(): Promise<void> {}

  openStore(): Promise<Store> {
    const uri = this.options.mongodbUri ?? process.env['CHAOS_MONGODB_URI'];
    if (!uri) {
      return Promise.reject(
        new Error('compose: set CHAOS_MONGODB_URI to reach MongoDB from the host (publish 27017 with an override file)'),
      );
    }
    return openMongoStore({ uri });
  }

  logHint(): string {
    return `docker-compose -f ${this.options.file ?? 'docker-compose.yml'} logs authorizer-1 authorizer-2`;
  }

  async scrapeMetric(): Promise<number | undefined> {
    return undefined;
  }

  async saveLogs(): Promise<string[]> {
    return [];
  }

  async stop(): Promise<void> {
    await this.#compose({ verb: 'down' });
  }
}
