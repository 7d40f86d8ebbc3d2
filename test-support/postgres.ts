/*
 * PostgreSQL for integration tests: a throwaway database on the shared server (127.0.0.1:5432, trust auth), or a
 * PRIVATE server in a temp dir for fault tests (stop/start it freely; never touch the shared one).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './ports.js';

const run = promisify(execFile);

export const SHARED_POSTGRES_URL = process.env['CATRACA_TEST_POSTGRES_URL'] ?? 'postgres://postgres@127.0.0.1:5432';
const POSTGRES_BIN = process.env['CATRACA_TEST_POSTGRES_BIN'] ?? '/usr/lib/postgresql/15/bin';

export interface ThrowawayDatabase {
  readonly name: string;
  readonly connectionString: string;
  /** Drops the database, closing whatever connections are still open on it. */
  drop(): Promise<void>;
}

/** Creates `catraca_test_<random>` on a server (default: the shared one). */
export async function createThrowawayDatabase(serverUrl = SHARED_POSTGRES_URL): Promise<ThrowawayDatabase> {
  const name = `catraca_test_${randomBytes(6).toString('hex')}`;
  await adminQuery(serverUrl, `CREATE DATABASE ${name}`);
  return {
    name,
    connectionString: `${serverUrl}/${name}`,
    drop: () => adminQuery(serverUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}

/** Runs one statement through psql (test-support is not a package: no driver dependency here). */
async function adminQuery(serverUrl: string, sql: string): Promise<void> {
  await run('psql', [`${serverUrl}/postgres`, '-v', 'ON_ERROR_STOP=1', '-qAtc', sql], {
    timeout: 30_000,
    env: { ...process.env, PGCONNECT_TIMEOUT: '5' },
  });
}

export interface PrivatePostgres {
  readonly host: '127.0.0.1';
  readonly port: number;
  /** `postgres://postgres@127.0.0.1:<port>` (append `/<database>`). */
  readonly url: string;
  readonly running: boolean;
  /** Stops the server. `fast` rolls back and disconnects clients; `immediate` is a crash (recovery on start). */
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  /** Starts it again on the same port and data directory. */
  start(): Promise<void>;
  /** Stops it and removes its files. */
  destroy(): Promise<void>;
}

/**
 * Starts a private PostgreSQL server (initdb + pg_ctl) on a free loopback port in a temp dir. PostgreSQL refuses to
 * run as root, so when the tests run as root the binaries run as the `postgres` user.
 */
export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const dir = await mkdtemp(join(tmpdir(), 'catraca-pg-'));
  const data = join(dir, 'data');
  const log = join(dir, 'server.log');
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: gid } = await run('id', ['-g', 'postgres']);
    await chown(dir, Number(stdout.trim()), Number(gid.trim()));
  }
  const pgBin = (tool: string, args: string[]) =>
    asRoot
      ? run('runuser', ['-u', 'postgres', '--', join(POSTGRES_BIN, tool), ...args], { timeout: 60_000 })
      : run(join(POSTGRES_BIN, tool), args, { timeout: 60_000 });

  await pgBin('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync', '--no-instructions']);
  const port = await freePort();
  let running = false;
  const serverOptions = [
    `-p ${port}`,
    `-k ${dir}`,
    '-c listen_addresses=127.0.0.1',
    '-c fsync=off',
    '-c max_connections=50',
    '-c shared_buffers=16MB',
  ].join(' ');

  const server: PrivatePostgres = {
    host: '127.0.0.1',
    port,
    url: `postgres://postgres@127.0.0.1:${port}`,
    get running() {
      return running;
    },
    async start() {
      await pgBin('pg_ctl', ['-D', data, '-l', log, '-o', serverOptions, '-w', '-t', '60', 'start']);
      running = true;
    },
    async stop(mode = 'fast') {
      if (!running) return;
      await pgBin('pg_ctl', ['-D', data, '-m', mode, '-w', '-t', '60', 'stop']);
      running = false;
    },
    async destroy() {
      try {
        await server.stop('immediate');
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
  try {
    await server.start();
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return server;
}
