import zookeeper from 'node-zookeeper-client';
import type { Client, Stat } from 'node-zookeeper-client';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../src/index.js';

/** A raw node-zookeeper-client, connected: for inspecting and tampering with the tree from outside the library. */
export async function rawClient(connectionString: string, auth?: { user: string; password: string }): Promise<Client> {
  const client = zookeeper.createClient(connectionString, { sessionTimeout: 4_000, retries: 0, spinDelay: 100 });
  if (auth) client.addAuthInfo('digest', Buffer.from(`${auth.user}:${auth.password}`));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('raw client did not connect')), 15_000);
    client.once('connected', () => {
      clearTimeout(timer);
      resolve();
    });
    client.connect();
  });
  return client;
}

export function children(client: Client, path: string): Promise<string[]> {
  return new Promise((resolve, reject) =>
    client.getChildren(path, (error, names) => (error ? reject(error) : resolve(names))),
  );
}

export function stat(client: Client, path: string): Promise<Stat | null> {
  return new Promise((resolve, reject) => client.exists(path, (error, s) => (error ? reject(error) : resolve(s))));
}

export function create(client: Client, path: string, mode = 0): Promise<string> {
  return new Promise((resolve, reject) =>
    client.create(path, mode, (error, p) => (error ? reject(error) : resolve(p))),
  );
}

export function remove(client: Client, path: string): Promise<void> {
  return new Promise((resolve, reject) => client.remove(path, -1, (error) => (error ? reject(error) : resolve())));
}

export function removeRecursive(client: Client, path: string): Promise<void> {
  return new Promise((resolve, reject) =>
    client.removeRecursive(path, -1, (error) => (error ? reject(error) : resolve())),
  );
}

export function setData(client: Client, path: string, data: Buffer): Promise<void> {
  return new Promise((resolve, reject) =>
    client.setData(path, data, -1, (error) => (error ? reject(error) : resolve())),
  );
}

/** Polls `condition` every 25 ms until it holds; throws after `timeoutMs` (a bound, not a timing assertion). */
export async function eventually(condition: () => boolean | Promise<boolean>, timeoutMs = 20_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

export interface LogEntry {
  level: string;
  obj: Record<string, unknown>;
  msg: string | undefined;
}

/** A logger that records everything, for assertions on events. */
export function recordingLogger(): Logger & { entries: LogEntry[]; count(event: string): number } {
  const entries: LogEntry[] = [];
  const record = (level: string) => (obj: object, msg?: string) => {
    entries.push({ level, obj: obj as Record<string, unknown>, msg });
  };
  return {
    entries,
    debug: record('debug'),
    info: record('info'),
    warn: record('warn'),
    error: record('error'),
    count: (event) => entries.filter((e) => e.obj['event'] === event).length,
  };
}
