/**
 * mongo-java-server (de.bwaldvogel, in-memory backend, from Maven Central) as a MongoDB-wire-compatible stand-in for
 * the store contract run when no MongoDB server can be installed (scripts/mongo-standin-contract.sh).
 *
 * What a contract run against it proves: the MongoStore's queries, updates, inserts, sorting, paging, duplicate-key
 * handling and the `$expr` compare-and-set filter behave as the contract says on a server that speaks the wire
 * protocol. What it does NOT prove: anything transactional. The stand-in has no multi-document transactions (each
 * write applies at once; an abort rolls nothing back; no isolation between concurrent commits), no validators, no
 * majority write concern, no replica set (the store's replica-set check is turned off for it). Atomicity, isolation
 * and concurrency of commits on MongoDB stay unverified until the suite runs against a real replica set
 * (MONGODB_URI).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { freePort } from './ports.js';

const DIR = join(dirname(fileURLToPath(import.meta.url)), 'mongo-java-server');
const CLASSPATH_FILE = join(DIR, 'classpath.txt');

export interface MongoJavaServer {
  readonly port: number;
  /** A direct-connection URI (the stand-in is no replica set). */
  readonly uri: string;
  stop(): Promise<void>;
}

/** True when scripts/fetch-mongo-java-server.sh has resolved the jars. */
export function mongoJavaServerAvailable(): boolean {
  return existsSync(CLASSPATH_FILE);
}

/** Starts the stand-in on a free loopback port and waits until it accepts connections (JVM start: seconds). */
export async function startMongoJavaServer(options: { startTimeoutMs?: number } = {}): Promise<MongoJavaServer> {
  if (!mongoJavaServerAvailable()) throw new Error('mongo-java-server missing: run scripts/fetch-mongo-java-server.sh');
  const classpath = readFileSync(CLASSPATH_FILE, 'utf8').trim();
  const port = await freePort();
  const child: ChildProcess = spawn(
    'java',
    ['-Xmx512m', '-cp', classpath, join(DIR, 'CatracaMongoJavaServer.java'), String(port)],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const killOnExit = (): void => {
    child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const deadline = Date.now() + (options.startTimeoutMs ?? 60_000);
  while (!(await accepts(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`mongo-java-server did not start on port ${port}: ${stderr.slice(-2000)}`);
    }
    await sleep(200);
  }
  return {
    port,
    uri: `mongodb://127.0.0.1:${port}/?directConnection=true`,
    async stop() {
      process.removeListener('exit', killOnExit);
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    },
  };
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
