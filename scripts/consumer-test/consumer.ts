// Type-checked in the consumer folder against the installed tarball's declarations (exports map, subpath types).
import { LocalLockManager, LockTimeoutError, type Lock, type LockManager } from '@catraca/coordination';
import { LocalLockManager as Local } from '@catraca/coordination/local';
import { ZOOKEEPER_DEFAULTS, ZooKeeperLockManager, type ZooKeeperLockManagerOptions } from '@catraca/coordination/zookeeper';

const options: ZooKeeperLockManagerOptions = { connectionString: '127.0.0.1:2181', sessionTimeoutMs: ZOOKEEPER_DEFAULTS.sessionTimeoutMs };
const managers: LockManager[] = [new LocalLockManager(), new Local(), new ZooKeeperLockManager(options)];
export async function run(key: string): Promise<bigint> {
  const lock: Lock = await managers[0]!.acquire(key, { timeoutMs: 10 });
  await lock.release();
  return lock.fencingToken;
}
export const isBusy = (error: unknown): boolean => error instanceof LockTimeoutError;
