/**
 * Private Apache ZooKeeper servers for integration, fault tests and benchmarks: a standalone server or a loopback
 * ensemble, on free ports, each with its own temp dir. Installs the Debian `zookeeper` package when it is missing
 * (CI runs as root without a terminal). Every server started here is killed by `stop()` and, as a last resort, when
 * the process exits.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { FaultProxy } from './fault-proxy.js';
import { freePorts } from './ports.js';

const HOST = '127.0.0.1';
const JAVA_DIR = '/usr/share/java';
const CLASSPATH_JARS = ['zookeeper.jar', 'slf4j-log4j12.jar', 'log4j-1.2.jar'];

export interface ZooKeeperOptions {
  /** ZooKeeper's tick; session timeouts are negotiated within [2, 20] ticks unless overridden. Default 250 ms. */
  tickTimeMs?: number;
  /** Extra JVM `-D` properties, e.g. `{ 'zookeeper.enforceQuota': 'true' }`. */
  systemProperties?: Record<string, string>;
  /** How long to wait for a server to serve. Default 60 s (a loaded machine starts a JVM slowly). */
  startTimeoutMs?: number;
  /**
   * Ensemble only: route every server-to-server connection (quorum and election ports) through a {@link FaultProxy},
   * one per direction and port, so that {@link ZooKeeperCluster.isolate} can cut one server off from the others while
   * its client port stays reachable. Default false.
   */
  peerProxies?: boolean;
}

export type ServerMode = 'standalone' | 'leader' | 'follower' | 'unknown';

export interface ZooKeeperServer {
  readonly id: number;
  readonly clientPort: number;
  /** `127.0.0.1:<clientPort>` */
  readonly address: string;
  /** True while the JVM runs (also while paused). */
  readonly running: boolean;
  /** `Mode:` from `srvr`, or `unknown` when the server does not answer. */
  mode(): Promise<ServerMode>;
  /** `srvr` output, or undefined when the server does not answer within `timeoutMs`. */
  srvr(timeoutMs?: number): Promise<string | undefined>;
  /** SIGKILL and wait for the exit. */
  kill(): Promise<void>;
  /** SIGSTOP: sockets stay open, nothing answers. */
  pause(): void;
  /** SIGCONT. */
  resume(): void;
  /** Start again (same ports, same data) after {@link kill}, and wait until it serves. */
  restart(): Promise<void>;
}

export interface ZooKeeperCluster {
  readonly servers: readonly ZooKeeperServer[];
  /** `host:port,host:port,...` of every server. */
  readonly connectionString: string;
  /** The current leader (ensemble) or the only server (standalone); waits up to `timeoutMs` for one. */
  leader(timeoutMs?: number): Promise<ZooKeeperServer>;
  /** Waits until every running server serves (after an election). */
  waitServing(timeoutMs?: number): Promise<void>;
  /** Number of znodes, from `srvr` on a serving server. */
  nodeCount(): Promise<number>;
  /** Sends a four-letter-word command to some serving server and returns its answer. */
  fourLetter(command: string): Promise<string>;
  /**
   * Cuts server `id` off from every other server (a silent partition: its quorum and election traffic is blackholed)
   * while its client port stays reachable. Needs `peerProxies`.
   */
  isolate(id: number): void;
  /** Ends {@link isolate}: resets the cut connections (both ends reconnect) and lets traffic through again. */
  heal(id: number): void;
  /** Kills every server and removes the temp dirs. Idempotent. */
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of live) child.kill('SIGKILL');
  });
}

/** Installs the Debian package when the jar is absent. Throws with the apt output when that fails. */
export function ensureZooKeeperInstalled(): void {
  if (existsSync(join(JAVA_DIR, 'zookeeper.jar'))) return;
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update'], { stdio: ['ignore', 'pipe', 'pipe'], env });
  execFileSync('apt-get', ['install', '-y', 'zookeeper'], { stdio: ['ignore', 'pipe', 'pipe'], env });
}

/** Starts a standalone server. */
export function startZooKeeper(options: ZooKeeperOptions = {}): Promise<ZooKeeperCluster> {
  return startCluster(1, options);
}

/** Starts an ensemble of `size` servers on loopback (3 by default). */
export function startEnsemble(size = 3, options: ZooKeeperOptions = {}): Promise<ZooKeeperCluster> {
  return startCluster(size, options);
}

async function startCluster(size: number, options: ZooKeeperOptions): Promise<ZooKeeperCluster> {
  ensureZooKeeperInstalled();
  installExitHook();
  const tickTimeMs = options.tickTimeMs ?? 250;
  const startTimeoutMs = options.startTimeoutMs ?? 60_000;
  const root = await mkdtemp(join(tmpdir(), 'catraca-zk-'));
  const ports = await freePorts(size * 3);
  const members = Array.from({ length: size }, (_, i) => ({
    id: i + 1,
    clientPort: ports[i * 3] as number,
    peerPort: ports[i * 3 + 1] as number,
    electionPort: ports[i * 3 + 2] as number,
  }));

  // Peer proxies: `${from}->${to}` → [quorum proxy, election proxy], each in front of server `to`'s real port.
  const peerProxies = new Map<string, FaultProxy[]>();
  if (options.peerProxies && size > 1) {
    for (const from of members) {
      for (const to of members) {
        if (from === to) continue;
        peerProxies.set(`${from.id}->${to.id}`, [
          await FaultProxy.start({ host: HOST, port: to.peerPort }, { framing: 'none' }),
          await FaultProxy.start({ host: HOST, port: to.electionPort }, { framing: 'none' }),
        ]);
      }
    }
  }

  const servers: Server[] = [];
  for (const member of members) {
    const dir = join(root, `server-${member.id}`);
    await mkdir(join(dir, 'data'), { recursive: true });
    const lines = [
      `tickTime=${tickTimeMs}`,
      'initLimit=20',
      'syncLimit=8',
      `dataDir=${join(dir, 'data')}`,
      `clientPort=${member.clientPort}`,
      `clientPortAddress=${HOST}`,
      `minSessionTimeout=${tickTimeMs * 2}`,
      `maxSessionTimeout=${Math.max(tickTimeMs * 20, 60_000)}`,
      'maxClientCnxns=0',
      '4lw.commands.whitelist=*',
      'admin.enableServer=false',
      'autopurge.purgeInterval=0',
      'preAllocSize=1024',
      'snapCount=100000',
      'forceSync=no',
    ];
    if (size > 1) {
      lines.push('standaloneEnabled=false', 'reconfigEnabled=false');
      for (const m of members) {
        const [quorum, election] = peerProxies.get(`${member.id}->${m.id}`) ?? [];
        lines.push(`server.${m.id}=${HOST}:${quorum?.port ?? m.peerPort}:${election?.port ?? m.electionPort}`);
      }
      await writeFile(join(dir, 'data', 'myid'), `${member.id}\n`);
    }
    await writeFile(join(dir, 'zoo.cfg'), lines.join('\n') + '\n');
    await writeFile(
      join(dir, 'log4j.properties'),
      [
        'log4j.rootLogger=WARN, FILE',
        'log4j.appender.FILE=org.apache.log4j.FileAppender',
        `log4j.appender.FILE.File=${join(dir, 'zookeeper.log')}`,
        'log4j.appender.FILE.layout=org.apache.log4j.PatternLayout',
        'log4j.appender.FILE.layout.ConversionPattern=%d{ISO8601} %-5p [%t] %c{1}: %m%n',
      ].join('\n') + '\n',
    );
    servers.push(new Server(member.id, member.clientPort, dir, options.systemProperties ?? {}));
  }

  const cluster = new Cluster(servers, root, peerProxies);
  try {
    for (const server of servers) server.launch();
    await cluster.waitServing(startTimeoutMs);
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  return cluster;
}

class Server implements ZooKeeperServer {
  #child: ChildProcess | undefined;

  constructor(
    readonly id: number,
    readonly clientPort: number,
    private readonly dir: string,
    private readonly systemProperties: Record<string, string>,
  ) {}

  get address(): string {
    return `${HOST}:${this.clientPort}`;
  }

  get running(): boolean {
    return this.#child !== undefined && this.#child.exitCode === null && this.#child.signalCode === null;
  }

  launch(): void {
    const classpath = [this.dir, ...CLASSPATH_JARS.map((jar) => join(JAVA_DIR, jar))].join(':');
    const props = Object.entries(this.systemProperties).map(([k, v]) => `-D${k}=${v}`);
    const child = spawn(
      'java',
      [
        '-Xmx192m',
        '-XX:+UseSerialGC',
        '-XX:TieredStopAtLevel=1',
        '-Dzookeeper.admin.enableServer=false',
        ...props,
        '-cp',
        classpath,
        'org.apache.zookeeper.server.quorum.QuorumPeerMain',
        join(this.dir, 'zoo.cfg'),
      ],
      { stdio: ['ignore', 'ignore', 'ignore'], cwd: this.dir },
    );
    live.add(child);
    child.once('exit', () => live.delete(child));
    this.#child = child;
  }

  async srvr(timeoutMs = 1_000): Promise<string | undefined> {
    try {
      const answer = await fourLetterWord(this.clientPort, 'srvr', timeoutMs);
      return answer.includes('Mode:') ? answer : undefined;
    } catch {
      return undefined;
    }
  }

  async mode(): Promise<ServerMode> {
    const answer = await this.srvr();
    const match = answer?.match(/Mode: (\w+)/);
    const mode = match?.[1];
    return mode === 'standalone' || mode === 'leader' || mode === 'follower' ? mode : 'unknown';
  }

  async kill(): Promise<void> {
    const child = this.#child;
    if (!child || !this.running) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGCONT');
    child.kill('SIGKILL');
    await exited;
  }

  pause(): void {
    this.#child?.kill('SIGSTOP');
  }

  resume(): void {
    this.#child?.kill('SIGCONT');
  }

  async restart(): Promise<void> {
    await this.kill();
    this.launch();
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if ((await this.mode()) !== 'unknown') return;
      await sleep(200);
    }
    throw new Error(`ZooKeeper server ${this.id} did not serve after restart`);
  }
}

class Cluster implements ZooKeeperCluster {
  #stopped = false;

  constructor(
    readonly servers: readonly Server[],
    private readonly root: string,
    private readonly peerProxies: ReadonlyMap<string, FaultProxy[]> = new Map(),
  ) {}

  #proxiesOf(id: number): FaultProxy[] {
    if (this.peerProxies.size === 0) throw new Error('isolate/heal need an ensemble started with peerProxies: true');
    return [...this.peerProxies.entries()]
      .filter(([pair]) => pair.split('->').includes(String(id)))
      .flatMap(([, proxies]) => proxies);
  }

  isolate(id: number): void {
    for (const proxy of this.#proxiesOf(id)) proxy.setMode('blackhole');
  }

  heal(id: number): void {
    for (const proxy of this.#proxiesOf(id)) {
      proxy.drop();
      proxy.setMode('pass');
    }
  }

  get connectionString(): string {
    return this.servers.map((s) => s.address).join(',');
  }

  async leader(timeoutMs = 30_000): Promise<ZooKeeperServer> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      for (const server of this.servers) {
        if (!server.running) continue;
        const mode = await server.mode();
        if (mode === 'leader' || mode === 'standalone') return server;
      }
      await sleep(200);
    }
    throw new Error('no ZooKeeper leader');
  }

  async waitServing(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (const server of this.servers) {
      while (server.running) {
        if ((await server.mode()) !== 'unknown') break;
        if (Date.now() > deadline) throw new Error(`ZooKeeper server ${server.id} did not serve in ${timeoutMs} ms`);
        await sleep(150);
      }
      if (!server.running && !this.#stopped) {
        throw new Error(`ZooKeeper server ${server.id} exited; see ${this.root}/server-${server.id}/zookeeper.log`);
      }
    }
  }

  async fourLetter(command: string): Promise<string> {
    for (const server of this.servers) {
      if (!server.running || (await server.mode()) === 'unknown') continue;
      return fourLetterWord(server.clientPort, command, 2_000);
    }
    throw new Error('no serving ZooKeeper server');
  }

  async nodeCount(): Promise<number> {
    const answer = await this.fourLetter('srvr');
    const match = answer.match(/Node count: (\d+)/);
    if (!match?.[1]) throw new Error(`no node count in srvr answer: ${answer}`);
    return Number(match[1]);
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    await Promise.all(this.servers.map((s) => s.kill()));
    await Promise.all([...this.peerProxies.values()].flat().map((p) => p.close()));
    await rm(this.root, { recursive: true, force: true });
  }
}

/** Sends a four-letter word and collects the answer until the server closes the socket. */
export function fourLetterWord(port: number, command: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: HOST, port });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`${command} on ${port}: no answer in ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('connect', () => socket.write(command));
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
  });
}
