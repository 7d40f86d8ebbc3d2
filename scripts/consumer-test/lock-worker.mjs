// The consumer's program: copied into a folder outside the workspace where only the packed tarball is installed
// (plain npm). Increments a counter file under the lock `iterations` times and prints one JSON line per critical
// section so the parent can check that two OS processes never overlapped.
import { readFile, writeFile } from 'node:fs/promises';
import { LockTimeoutError } from '@catraca/coordination';
import { ZooKeeperLockManager } from '@catraca/coordination/zookeeper';

const [connectionString, counterFile, iterationsArg] = process.argv.slice(2);
const now = () => performance.timeOrigin + performance.now();
const locks = new ZooKeeperLockManager({ connectionString, sessionTimeoutMs: 4_000, namespace: 'consumer' });
const sections = [];
try {
  for (let i = 0; i < Number(iterationsArg); i++) {
    await locks.withLock('counter', async (lock) => {
      const enter = now();
      const value = Number(await readFile(counterFile, 'utf8'));
      await new Promise((resolve) => setTimeout(resolve, 1));
      lock.signal.throwIfAborted();
      await writeFile(counterFile, String(value + 1));
      sections.push({ token: lock.fencingToken.toString(), enter, exit: now() });
    }, { timeoutMs: 30_000 });
  }
} catch (error) {
  if (error instanceof LockTimeoutError) console.error('busy for 30 s');
  throw error;
} finally {
  await locks.close();
}
process.stdout.write(JSON.stringify(sections) + '\n');
