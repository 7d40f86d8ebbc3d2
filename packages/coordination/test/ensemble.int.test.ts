import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startEnsemble, type ZooKeeperCluster } from '../../../test-support/zookeeper.js';
import { type Lock } from '../src/index.js';
import { ZooKeeperLockManager } from '../src/zookeeper/index.js';
import { eventually } from './helpers.js';

let ensemble: ZooKeeperCluster;
const managers: ZooKeeperLockManager[] = [];

beforeAll(async () => {
  ensemble = await startEnsemble(3);
});

afterAll(async () => {
  await Promise.allSettled(managers.map((m) => m.close()));
  for (const server of ensemble?.servers ?? []) server.resume();
  await ensemble?.stop();
});

test('leader SIGKILL and leader SIGSTOP: never two holders, acquisitions resume after the election, nothing hangs', async () => {
  for (let i = 0; i < 3; i++) {
    managers.push(
      new ZooKeeperLockManager({ connectionString: ensemble.connectionString, sessionTimeoutMs: 4_000, namespace: 'ensemble', operationTimeoutMs: 3_000 }),
    );
  }
  await Promise.all(managers.map((m) => m.waitConnected()));

  let inside: Lock | undefined;
  let overlaps = 0;
  let acquired = 0;
  let failures = 0;
  let lastToken = 0n;
  let tokenRegressions = 0;
  let stop = false;
  const worker = async (m: ZooKeeperLockManager): Promise<void> => {
    while (!stop) {
      try {
        await m.withLock('leader', async (lock) => {
          // Two holders at once means both hold locks that are still valid (signal not fired).
          if (inside && !inside.signal.aborted) overlaps++;
          if (lock.fencingToken <= lastToken) tokenRegressions++;
          lastToken = lock.fencingToken;
          inside = lock;
          acquired++;
          await sleep(2);
          if (inside === lock) inside = undefined;
        }, { timeoutMs: 5_000 });
      } catch {
        failures++; // unavailable or busy during the election: counted, never fatal
        await sleep(20);
      }
    }
  };
  const workers = managers.flatMap((m) => [worker(m), worker(m)]);

  const resumes = async (what: string): Promise<void> => {
    const before = acquired;
    await eventually(() => acquired >= before + 20, 60_000, `acquisitions after ${what}`);
  };
  await resumes('start');

  const killed = await ensemble.leader();
  await killed.kill();
  await resumes('leader SIGKILL');
  await killed.restart();
  await ensemble.waitServing();

  const paused = await ensemble.leader();
  paused.pause();
  await resumes('leader SIGSTOP');
  paused.resume();
  await resumes('leader SIGCONT');

  stop = true;
  await Promise.all(workers);
  expect(overlaps).toBe(0);
  expect(tokenRegressions).toBe(0);
  expect(acquired).toBeGreaterThan(80);
  expect(managers.every((m) => m.state === 'connected' || m.state === 'reconnected')).toBe(true);
}, 180_000);
