/**
 * A private `dynalite` (a DynamoDB implementation on Node, from npm) for integration and fault tests and benchmarks:
 * its own process, loopback only, a free port, in-memory. It can be killed (SIGKILL), paused (SIGSTOP), resumed and
 * restarted on the same port (empty again: nothing is persisted). Tests talk to it over HTTP with the real AWS SDK.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './ports.js';

const HOST = '127.0.0.1';

export interface DynaliteOptions {
  /** Path of dynalite's `cli.js`. Default: resolved from `packages/coordination` (where it is a dev dependency). */
  cli?: string;
  /** How long a created table stays CREATING. Default 0 ms. */
  createTableMs?: number;
  /** How long to wait for the server to answer after a (re)start. Default 15 s. */
  startTimeoutMs?: number;
}

export interface DynaliteServer {
  readonly port: number;
  /** `http://127.0.0.1:<port>`: the DynamoDB endpoint. */
  readonly endpoint: string;
  /** SIGKILL and wait until it is gone. The port stays reserved for {@link restart}. */
  kill(): Promise<void>;
  /** SIGSTOP: the socket stays open, nothing answers. */
  pause(): void;
  /** SIGCONT after {@link pause}. */
  resume(): void;
  /** Start again on the same port (after {@link kill}), empty, and wait until it answers. */
  restart(): Promise<void>;
  /** Kill for good. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Credentials and region for a client of dynalite (it checks neither). A function: the SDK writes into the credentials
 * object it is given, so each client needs its own.
 */
export function dynaliteClientConfig(endpoint: string): { region: string; endpoint: string; credentials: { accessKeyId: string; secretAccessKey: string } } {
  return { region: 'local', endpoint, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };
}

function defaultCli(): string {
  const require = createRequire(new URL('../packages/coordination/package.json', import.meta.url));
  return require.resolve('dynalite/cli.js');
}

/** Start a private dynalite on a free loopback port and wait until it answers. */
export async function startDynalite(options: DynaliteOptions = {}): Promise<DynaliteServer> {
  const cli = options.cli ?? defaultCli();
  const startTimeoutMs = options.startTimeoutMs ?? 15_000;
  const createTableMs = options.createTableMs ?? 0;
  let port = 0;
  let child: ChildProcess | undefined;
  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    try {
      child = await launch(cli, port, createTableMs, startTimeoutMs);
      break;
    } catch (error) {
      if (attempt >= 5) throw error;
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
    port,
    endpoint: `http://${HOST}:${port}`,
    kill,
    pause() {
      if (current === undefined) throw new Error('dynalite is not running');
      current.kill('SIGSTOP');
      paused = true;
    },
    resume() {
      if (current === undefined) throw new Error('dynalite is not running');
      current.kill('SIGCONT');
      paused = false;
    },
    async restart() {
      if (stopped) throw new Error('dynalite was stopped');
      await kill();
      current = await launch(cli, port, createTableMs, startTimeoutMs);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await kill();
      process.removeListener('exit', killOnExit);
    },
  };
}

async function launch(cli: string, port: number, createTableMs: number, startTimeoutMs: number): Promise<ChildProcess> {
  const args = [cli, '--host', HOST, '--port', String(port), '--createTableMs', String(createTableMs), '--deleteTableMs', '0'];
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
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
    if (exited) throw new Error(`dynalite exited during start on port ${port}: ${stderr.trim()}`);
    const ok = await Promise.race([answers(port), spawnError]);
    if (ok && !exited) return proc;
    await sleep(25);
  }
  proc.kill('SIGKILL');
  throw new Error(`dynalite did not answer on port ${port} within ${startTimeoutMs} ms`);
}

/** One ListTables over plain HTTP; true on any HTTP answer. Never rejects. */
function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(
      {
        host: HOST,
        port,
        method: 'POST',
        path: '/',
        headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': 'DynamoDB_20120810.ListTables' },
        timeout: 500,
      },
      (res) => {
        res.resume();
        resolve(true);
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end('{}');
  });
}
