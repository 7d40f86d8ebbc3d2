/**
 * Revocation interoperability with Apache Curator (Java, from Maven Central): this library's `requestRevocation`
 * makes a Curator `makeRevocable` holder let go, and Curator's `Revoker` calls this library's `onRevocationRequested`
 * (same marker, `__REVOKE__`, on the holder's node; same node names). Uses the Curator harness of
 * `test-support/curator.ts`; skipped with a printed SKIP line when Maven Central cannot be reached.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { prepareCurator, type Curator } from '../../../test-support/curator.js';
import { startZooKeeper, type ZooKeeperCluster } from '../../../test-support/zookeeper.js';
import type { Lock } from '../src/index.js';
import { ZooKeeperLockManager } from '../src/zookeeper/zookeeper-lock-manager.js';
import { eventually } from './helpers.js';

const prepared = await prepareCurator({
  dir: fileURLToPath(new URL('./curator-revocation/', import.meta.url)),
  mainClass: 'CuratorRevocation',
  cacheDir: fileURLToPath(new URL('../../../.tmp/curator-revocation/', import.meta.url)),
});
const skip = 'skip' in prepared ? prepared.skip : undefined;
if (skip) console.log(`SKIP curator-revocation: ${skip}`);
const curator = prepared as Curator;

function output(child: ChildProcess): { text: () => string; exit: Promise<number | null> } {
  let text = '';
  child.stdout?.on('data', (chunk: Buffer) => (text += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return { text: () => text, exit: new Promise((resolve) => child.once('exit', resolve)) };
}

describe.skipIf(skip !== undefined)('revocation interoperability with Apache Curator', () => {
  let zk: ZooKeeperCluster;
  let manager: ZooKeeperLockManager;
  const running: ChildProcess[] = [];

  beforeAll(async () => {
    zk = await startZooKeeper();
    manager = new ZooKeeperLockManager({ connectionString: zk.connectionString, namespace: 'rev', sessionTimeoutMs: 10_000 });
    await manager.waitConnected();
  });

  afterAll(async () => {
    for (const child of running) child.kill('SIGKILL');
    await manager?.close();
    await zk?.stop();
  });

  test('requestRevocation makes a revocable Curator holder let go; the waiter here then gets the lock', async () => {
    const java = curator.spawn(['hold', zk.connectionString, '/rev/locks/k1', '60000']);
    running.push(java);
    const out = output(java);
    await eventually(() => out.text().includes('HELD'), 90_000, 'Curator to hold');
    const [holder] = await manager.participants('k1');
    expect(holder?.isHolder).toBe(true);
    const waiting = manager.acquire('k1', { timeoutMs: 60_000 });
    expect(await manager.requestRevocation('k1')).toBe(true);
    const lock = await waiting;
    expect(out.text()).toContain('REVOCATION_REQUESTED');
    expect(await out.exit).toBe(0);
    await lock.release();
  });

  test('Curator\'s Revoker calls onRevocationRequested of a holder here', async () => {
    const asked: Lock[] = [];
    const lock = await manager.acquire('k2', { onRevocationRequested: (l) => asked.push(l) });
    const revoker = spawn('java', ['-cp', curator.classpath, 'CuratorRevocation', 'revoke', zk.connectionString, '/rev/locks/k2'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    running.push(revoker);
    const out = output(revoker);
    expect(await out.exit).toBe(0);
    expect(out.text()).toContain('REVOKED /rev/locks/k2/_c_');
    await eventually(() => asked.length === 1, 10_000, 'callback');
    expect(asked[0]).toBe(lock);
    expect(lock.held).toBe(true);
    await lock.release();
  });
});
