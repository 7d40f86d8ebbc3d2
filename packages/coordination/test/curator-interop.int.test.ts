/**
 * Interoperability with Apache Curator's InterProcessMutex (Java, from Maven Central): the same recipe on the same key,
 * with the same node names (`_c_<guid>-lock-<seq>`), excludes across both. Skipped, with a printed SKIP line, only when
 * Maven Central cannot be reached.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, closeSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { prepareCurator, type Curator } from '../../../test-support/curator.js';
import { startZooKeeper, type ZooKeeperCluster } from '../../../test-support/zookeeper.js';
import { LockTimeoutError } from '../src/index.js';
import { ZooKeeperLockManager } from '../src/zookeeper/index.js';
import { children, eventually, rawClient } from './helpers.js';

const prepared = await prepareCurator({
  dir: fileURLToPath(new URL('./curator/', import.meta.url)),
  mainClass: 'CuratorInterop',
  cacheDir: fileURLToPath(new URL('../../../.tmp/curator/', import.meta.url)),
});
const skip = 'skip' in prepared ? prepared.skip : undefined;
if (skip) console.log(`SKIP curator-interop: ${skip}`);
const curator = prepared as Curator;

/** Collects a child's stdout lines; `waitFor(line)` resolves when it printed that line. */
function lines(child: ChildProcess): { output: string[]; waitFor(line: string): Promise<void>; exit: Promise<number | null> } {
  const output: string[] = [];
  let buffer = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    const parts = buffer.split('\n');
    buffer = parts.pop() ?? '';
    output.push(...parts.map((l) => l.trim()));
  });
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    output,
    exit,
    waitFor: (line) =>
      eventually(() => {
        if (child.exitCode !== null && !output.includes(line)) throw new Error(`java exited ${child.exitCode}: ${output.join(' | ')} ${stderr}`);
        return output.includes(line);
      }, 60_000, `java to print ${line}`),
  };
}

describe.skipIf(skip !== undefined)('Apache Curator InterProcessMutex interoperability', () => {
  let zk: ZooKeeperCluster;
  const managers: ZooKeeperLockManager[] = [];
  const children$: ChildProcess[] = [];

  beforeAll(async () => {
    zk = await startZooKeeper();
  });

  afterAll(async () => {
    for (const child of children$) child.kill('SIGKILL');
    await Promise.allSettled(managers.map((m) => m.close()));
    await zk?.stop();
  });

  async function manager(namespace: string): Promise<ZooKeeperLockManager> {
    const m = new ZooKeeperLockManager({ connectionString: zk.connectionString, namespace, sessionTimeoutMs: 10_000 });
    managers.push(m);
    await m.waitConnected();
    return m;
  }

  function java(args: string[]): ReturnType<typeof lines> {
    const child = curator.spawn(args);
    children$.push(child);
    return lines(child);
  }

  test('same node names: a Curator waiter queues behind the library\'s holder, and the other way round', async () => {
    const m = await manager('interop-names');
    const path = '/interop-names/locks/shared';
    const raw = await rawClient(zk.connectionString);
    try {
      const lock = await m.acquire('shared', { timeoutMs: 10_000 });
      const waiting = java(['hold', zk.connectionString, path, '300']);
      await waiting.waitFor('WAITING');
      await eventually(async () => (await children(raw, path)).length === 2, 30_000, 'the Curator node beside the library\'s');
      const names = await children(raw, path);
      for (const name of names) expect(name).toMatch(/^_c_[0-9a-f-]{36}-lock-\d{10}$/);
      await sleep(300);
      expect(waiting.output).not.toContain('HELD');
      await lock.release();
      await waiting.waitFor('HELD');
      // Curator holds: the library's waiter times out as busy, then gets the lock once Curator lets go.
      await expect(m.acquire('shared', { timeoutMs: 100 })).rejects.toBeInstanceOf(LockTimeoutError);
      const next = await m.acquire('shared', { timeoutMs: 30_000 });
      // Curator prints RELEASED after its delete; the library's watch may fire before the line crosses the pipe.
      await waiting.waitFor('RELEASED');
      expect(next.fencingToken > lock.fencingToken).toBe(true);
      await next.release();
      expect(await waiting.exit).toBe(0);
    } finally {
      raw.close();
    }
  });

  test('mutual exclusion across Curator (two JVMs) and the library (two managers) on one key', async () => {
    const [a, b] = await Promise.all([manager('interop'), manager('interop')]);
    const dir = mkdtempSync(join(tmpdir(), 'catraca-interop-'));
    const counter = join(dir, 'counter');
    const inside = join(dir, 'inside');
    writeFileSync(counter, '0');
    const perSide = 25;
    let overlaps = 0;
    try {
      const jvms = [java(['mutex', zk.connectionString, '/interop/locks/shared', String(perSide), dir]), java(['mutex', zk.connectionString, '/interop/locks/shared', String(perSide), dir])];
      await Promise.all(jvms.map((j) => j.waitFor('READY')));
      const library = [a, b].map(async (m) => {
        for (let i = 0; i < perSide; i++) {
          await m.withLock('shared', async (lock) => {
            let fd: number;
            try {
              fd = openSync(inside, 'wx');
            } catch {
              overlaps++;
              return;
            }
            closeSync(fd);
            const value = Number(readFileSync(counter, 'utf8'));
            await sleep(i % 3);
            lock.signal.throwIfAborted();
            writeFileSync(counter, String(value + 1));
            unlinkSync(inside);
          }, { timeoutMs: 60_000 });
        }
      });
      await Promise.all(library);
      const codes = await Promise.all(jvms.map((j) => j.exit));
      for (const j of jvms) expect(j.output).toContain(`DONE ${perSide}`);
      expect(codes).toEqual([0, 0]);
      expect(overlaps).toBe(0);
      expect(Number(readFileSync(counter, 'utf8'))).toBe(4 * perSide);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
