/**
 * A private `redis-server` for integration and fault tests: loopback only, a free port, no persistence, its own
 * temp dir. It can be killed (SIGKILL), paused (SIGSTOP), resumed (SIGCONT) and restarted on the same port, so
 * a client's reconnect logic sees the "same" server come back.
 *
 * Never touches the shared Redis on 6379.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './ports.js';

const HOST = '127.0.0.1';

export interface RedisServerOptions {
  /** Executable; default `redis-server` from PATH. */
  binary?: string;
  /** How long to wait for the server to answer PING after a (re)start. Default 15 s. */
  startTimeoutMs?: number;
}

export interface RedisServer {
  readonly host: string;
  readonly port: number;
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  /** SIGKILL the server and wait until it is gone. The port stays reserved for {@link restart}. */
  kill(): Promise<void>;
  /** SIGSTOP: the socket stays open but nothing answers. */
  pause(): void;
  /** SIGCONT after {@link pause}. */
  resume(): void;
  /** Start again on the same port (after {@link kill}) and wait until it answers PING. */
  restart(): Promise<void>;
  /** Kill for good and remove the temp dir. Idempotent. */
  stop(): Promise<void>;
}

/** Start a private redis-server on a free loopback port and wait until it answers PING. */
export async function startRedis(options: RedisServerOptions = {}): Promise<RedisServer> {
  const binary = options.binary ?? 'redis-server';
  const startTimeoutMs = options.startTimeoutMs ?? 15_000;
  const dir = await mkdtemp(join(tmpdir(), 'catraca-redis-'));

  let port = 0;
  let child: ChildProcess | undefined;
  // Another process may grab the port between our probe and redis binding it: retry with a fresh port.
  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    try {
      child = await launch(binary, port, dir, startTimeoutMs);
      break;
    } catch (error) {
      if (attempt >= 5) {
        await rm(dir, { recursive: true, force: true });
        throw error;
      }
    }
  }

  let current: ChildProcess | undefined = child;
  let paused = false;
  let stopped = false;
  const killOnExit = (): void => {
    current?.kill('SIGKILL');
  };
  process.once('exit', killOnExit);

  const kill = async (): Promise<void> => {
    const proc = current;
    current = undefined;
    if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill('SIGKILL');
    if (paused) proc.kill('SIGCONT');
    paused = false;
    await exited;
  };

  return {
    host: HOST,
    port,
    url: `redis://${HOST}:${port}`,
    kill,
    pause() {
      if (current === undefined) throw new Error('redis-server is not running');
      current.kill('SIGSTOP');
      paused = true;
    },
    resume() {
      if (current === undefined) throw new Error('redis-server is not running');
      current.kill('SIGCONT');
      paused = false;
    },
    async restart() {
      if (stopped) throw new Error('redis-server was stopped');
      await kill();
      current = await launch(binary, port, dir, startTimeoutMs);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await kill();
      process.removeListener('exit', killOnExit);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function launch(binary: string, port: number, dir: string, startTimeoutMs: number): Promise<ChildProcess> {
  const args = [
    '--port', String(port),
    '--bind', HOST,
    '--save', '',
    '--appendonly', 'no',
    '--dir', dir,
    '--logfile', '',
    '--loglevel', 'warning',
  ];
  const proc = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  let exited = false;
  proc.once('exit', () => {
    exited = true;
  });
  const spawnError = new Promise<never>((_, reject) => proc.once('error', reject));
  spawnError.catch(() => {});

  const deadline = Date.now() + startTimeoutMs;
  while (Date.now() < deadline) {
    if (exited) throw new Error(`redis-server exited during start on port ${port}: ${stderr.trim()}`);
    const ok = await Promise.race([ping(port), spawnError]);
    if (ok && !exited) return proc;
    await sleep(25);
  }
  proc.kill('SIGKILL');
  throw new Error(`redis-server did not answer PING on port ${port} within ${startTimeoutMs} ms`);
}

/** One PING over a raw socket; true on +PONG. Never rejects. */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: HOST, port });
    let reply = '';
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}
