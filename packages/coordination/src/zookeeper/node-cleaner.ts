import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../types.js';
import { removeBatch } from './batch.js';
import { ServerError, ZK, type ZkSession } from './session.js';

/** Deletes lock nodes, now or in the background until their session ends (then the server deletes them). */
export class NodeCleaner {
  constructor(
    private readonly session: ZkSession,
    private readonly logger: Logger,
    private readonly track: (task: Promise<unknown>) => void,
    private readonly closed: () => boolean,
  ) {}

  /** Deletes `path`; false when it did not exist. */
  async deleteNode(path: string): Promise<boolean> {
    try {
      await this.session.remove(path);
      return true;
    } catch (error) {
      if (error instanceof ServerError && error.zkCode === ZK['NO_NODE']) return false;
      throw error;
    }
  }

  /** Deletes many nodes of a batch in one transaction, or one by one in the background if that fails. */
  async removeOrDefer(paths: readonly string[], generation: number): Promise<void> {
    try {
      await removeBatch(this.session, paths);
    } catch {
      for (const path of paths) this.deleteInBackground(path, generation);
    }
  }

  /** Deletes `path` until it is gone or its session ends (then the server deletes it). */
  deleteInBackground(path: string, generation: number): void {
    const task = (async () => {
      for (let round = 0; generation === this.session.generation && !this.closed(); round++) {
        try {
          await this.deleteNode(path);
          return;
        } catch (error) {
          if (error instanceof ServerError) {
            this.logger.error({ event: 'lock.delete_failed', path, err: error }, 'could not delete a lock node');
            return;
          }
          await sleep(Math.min(1_000, 50 * 2 ** round));
        }
      }
    })();
    this.track(task);
  }
}
