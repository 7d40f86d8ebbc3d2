import type { Event } from 'node-zookeeper-client';
import { REVOKE_MESSAGE } from './queue-inspection.js';
import { ConnectionTrouble, ServerError, ZK, type ZkSession } from './session.js';
import type { ZooKeeperLock } from './zookeeper-lock.js';

export interface HeldLockWatchHooks {
  /** The node is gone while the lock is held (deleted by someone else). */
  onDeleted(lock: ZooKeeperLock): void;
  /** The revocation callback threw. */
  onCallbackError(lock: ZooKeeperLock, error: unknown): void;
  /** Keeps a background task alive until the manager closes. */
  track(task: Promise<unknown>): void;
  closed(): boolean;
}

/**
 * Keeps a data watch on a held lock's own node (set without being awaited: no latency added to the acquire). Its
 * deletion by anyone else calls `onDeleted`; Curator's revocation marker calls the holder's `onRevocationRequested`.
 * A read that gets no answer is made again once connected; a new session ends it (the lock is lost with the old one).
 */
export function watchHeldLock(session: ZkSession, lock: ZooKeeperLock, hooks: HeldLockWatchHooks): void {
  const current = (): boolean => lock.held && lock.generation === session.generation && !hooks.closed();
  const watcher = (event: Event): void => {
    if (!current()) return;
    if (event.getName() === 'NODE_DELETED') hooks.onDeleted(lock);
    else read();
  };
  const read = (): void => {
    session.call<[Buffer | undefined]>((client, cb) => client.getData(lock.path, watcher, cb as never)).then(
      ([data]) => {
        if (data?.equals(REVOKE_MESSAGE)) lock.askToRevoke((error) => hooks.onCallbackError(lock, error));
      },
      (error: unknown) => {
        if (!current()) return;
        if (error instanceof ServerError && error.zkCode === ZK['NO_NODE']) hooks.onDeleted(lock);
        else if (error instanceof ConnectionTrouble) hooks.track(readWhenConnected());
      },
    );
  };
  const readWhenConnected = async (): Promise<void> => {
    await session.waitConnected(session.sessionTimeoutMs).catch(() => {});
    if (current()) read();
  };
  read();
}
