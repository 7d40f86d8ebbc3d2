/**
 * A private Apache Kafka broker for integration tests, benchmarks and the local cluster: one process in KRaft mode
 * (broker and controller together), on free loopback ports, with its own temp dir, run with the machine's Java from
 * the jars `scripts/fetch-kafka.sh` puts in a cache directory (Maven Central; there is no Debian package). Small heap
 * (the machine is shared). Every broker started here is killed by `stop()` and, as a last resort, at process exit.
 * Start one per test file.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { freePorts } from './ports.js';

const HOST = '127.0.0.1';
/** The version `scripts/fetch-kafka.sh` fetches by default. */
export const KAFKA_VERSION = process.env['KAFKA_VERSION'] ?? '4.1.1';

export interface KafkaOptions {
  /** Partitions of auto-created topics. Default 4. */
  defaultPartitions?: number;
  /** JVM max heap. Default `256m`. */
  heap?: string;
  /** How long to wait for the broker to serve. Default 90 s (a loaded machine starts a JVM slowly). */
  startTimeoutMs?: number;
  /** Extra `server.properties` lines. */
  properties?: Record<string, string>;
}

export interface KafkaBroker {
  /** `127.0.0.1:<port>` of the client listener. */
  readonly bootstrap: string;
  readonly port: number;
  /** True while the JVM runs (also while paused). */
  readonly running: boolean;
  /** SIGKILL and wait for the exit. */
  kill(): Promise<void>;
  /** SIGSTOP: sockets stay open, nothing answers. */
  pause(): void;
  /** SIGCONT. */
  resume(): void;
  /** Starts again (same ports, same data) after {@link kill}, and waits until it serves. */
  restart(): Promise<void>;
  /** Kills the broker and removes its temp dir. Idempotent. */
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

/** Where the jars are: `KAFKA_LIBS_DIR`, or the fetch script's default for {@link KAFKA_VERSION}. */
export function kafkaLibsDir(): string {
  return process.env['KAFKA_LIBS_DIR'] ?? `/opt/catraca/kafka-${KAFKA_VERSION}/libs`;
}

/** Runs `scripts/fetch-kafka.sh` when the jars are absent (idempotent, cached). Throws with its output on failure. */
export function ensureKafkaInstalled(): string {
  const libs = kafkaLibsDir();
  if (existsSync(join(libs, '.complete'))) return libs;
  const script = join(dirname(fileURLToPath(import.meta.url)), '..', 'scripts', 'fetch-kafka.sh');
  execFileSync('bash', [script], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, KAFKA_VERSION, KAFKA_LIBS_DIR: libs },
  });
  return libs;
}

/** Starts a single-node KRaft broker and waits until it serves. */
export async function startKafka(options: KafkaOptions = {}): Promise<KafkaBroker> {
  const libs = ensureKafkaInstalled();
  installExitHook();
  const dir = await mkdtemp(join(tmpdir(), 'catraca-kafka-'));
  const [port, controllerPort] = (await freePorts(2)) as [number, number];
  const props: Record<string, string> = {
    'process.roles': 'broker,controller',
    'node.id': '1',
    'controller.quorum.voters': `1@${HOST}:${controllerPort}`,
    listeners: `PLAINTEXT://${HOST}:${port},CONTROLLER://${HOST}:${controllerPort}`,
    'advertised.listeners': `PLAINTEXT://${HOST}:${port}`,
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    'listener.security.protocol.map': 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    'log.dirs': join(dir, 'data'),
    'num.partitions': String(options.defaultPartitions ?? 4),
    'num.network.threads': '2',
    'num.io.threads': '2',
    'background.threads': '2',
    'num.recovery.threads.per.data.dir': '1',
    'offsets.topic.replication.factor': '1',
    'offsets.topic.num.partitions': '4',
    'transaction.state.log.replication.factor': '1',
    'transaction.state.log.min.isr': '1',
    'transaction.state.log.num.partitions': '2',
    'share.coordinator.state.topic.replication.factor': '1',
    'share.coordinator.state.topic.min.isr': '1',
    'group.initial.rebalance.delay.ms': '0',
    'auto.create.topics.enable': 'true',
    'log.cleaner.dedupe.buffer.size': String(2 * 1024 * 1024),
    'log.segment.bytes': String(16 * 1024 * 1024),
    ...options.properties,
  };
  await mkdir(join(dir, 'data'), { recursive: true });
  await writeFile(join(dir, 'server.properties'), Object.entries(props).map(([k, v]) => `${k}=${v}`).join('\n') + '\n');
  await writeFile(
    join(dir, 'log4j2.properties'),
    [
      'rootLogger.level = WARN',
      'rootLogger.appenderRef.file.ref = FILE',
      'appender.file.type = File',
      'appender.file.name = FILE',
      `appender.file.fileName = ${join(dir, 'kafka.log')}`,
      'appender.file.layout.type = PatternLayout',
      'appender.file.layout.pattern = %d{ISO8601} %-5p [%t] %c{1}: %m%n',
      'logger.started.name = kafka.server.KafkaRaftServer',
      'logger.started.level = INFO',
    ].join('\n') + '\n',
  );
  const clusterId = randomBytes(16).toString('base64url');
  const jvm = jvmArgs(libs, dir, options.heap ?? '256m');
  execFileSync(
    'java',
    [...jvm, 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', join(dir, 'server.properties'), '--ignore-formatted'],
    { stdio: ['ignore', 'pipe', 'pipe'], cwd: dir },
  );
  const broker = new Broker(port, dir, jvm, options.startTimeoutMs ?? 90_000);
  try {
    await broker.launchAndWait();
  } catch (error) {
    await broker.stop();
    throw error;
  }
  return broker;
}

function jvmArgs(libs: string, dir: string, heap: string): string[] {
  return [
    `-Xmx${heap}`,
    '-Xms64m',
    '-XX:+UseSerialGC',
    '-XX:TieredStopAtLevel=1',
    '-XX:-UsePerfData',
    '-Djava.awt.headless=true',
    `-Dlog4j2.configurationFile=${join(dir, 'log4j2.properties')}`,
    '-cp',
    join(libs, '*'),
  ];
}

class Broker implements KafkaBroker {
  #child: ChildProcess | undefined;
  #stopped = false;

  constructor(
    readonly port: number,
    private readonly dir: string,
    private readonly jvm: string[],
    private readonly startTimeoutMs: number,
  ) {}

  get bootstrap(): string {
    return `${HOST}:${this.port}`;
  }

  get running(): boolean {
    return this.#child !== undefined && this.#child.exitCode === null && this.#child.signalCode === null;
  }

  async launchAndWait(): Promise<void> {
    const log = join(this.dir, 'kafka.log');
    await rm(log, { force: true });
    const child = spawn('java', [...this.jvm, 'kafka.Kafka', join(this.dir, 'server.properties')], {
      stdio: ['ignore', 'ignore', 'ignore'],
      cwd: this.dir,
    });
    live.add(child);
    child.once('exit', () => live.delete(child));
    this.#child = child;
    const deadline = Date.now() + this.startTimeoutMs;
    while (Date.now() < deadline) {
      if (!this.running) throw new Error(`Kafka exited at start-up; see ${log}`);
      const text = await readFile(log, 'utf8').catch(() => '');
      if (text.includes('Kafka Server started') && (await reachable(this.port))) return;
      await sleep(200);
    }
    throw new Error(`Kafka did not serve in ${this.startTimeoutMs} ms; see ${log}`);
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
    await this.launchAndWait();
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    await this.kill();
    await rm(this.dir, { recursive: true, force: true });
  }
}

function reachable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: HOST, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
