import zookeeper from 'node-zookeeper-client';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../types.js';
import type { DeletionWatches } from './deletion-watches.js';
import { baseName, lockNodePrefix, newAttemptId, sortLockNodes } from './lock-node-name.js';
import type { NodeCleaner } from './node-cleaner.js';
import { ConnectionTrouble, ServerError, ZK, type ZkSession } from './session.js';
import { zxidToBigInt } from './zxid.js';

const EPHEMERAL_SEQUENTIAL = zookeeper.CreateMode.EPHEMERAL_SEQUENTIAL;

/** One acquisition: its node (once created) and what is known about it. */
export interface Attempt {
  readonly key: string;
  readonly id: string;
  readonly parent: string;
  generation: number;
  path: string | undefined;
  token: bigint | undefined;
  /** A create was sent and its outcome is unknown (no reply): the node may exist. */
  createUnknown: boolean;
  /** The caller gave up; any node this attempt made must go. */
  abandoned: boolean;
}

/** A try-lock (`timeoutMs: 0`) found the key busy. */
export class Busy extends Error {}

/** What the acquisition recipe needs from its lock manager. */
export interface AcquirerContext {
  readonly session: ZkSession;
  readonly logger: Logger;
  readonly operationTimeoutMs: number;
  readonly deletions: DeletionWatches;
  readonly cleaner: NodeCleaner;
  ensureParent(parent: string, signal: AbortSignal | undefined): Promise<void>;
  track(task: Promise<unknown>): void;
  closed(): boolean;
}

/**
 * Curator's `InterProcessMutex` acquisition: an ephemeral sequential node in protected mode under the key's parent,
 * the lowest holds; otherwise watch only the predecessor. A create without a reply is adopted by its GUID; an attempt
 * given up leaves nothing behind.
 */
export class Acquirer {
  constructor(private readonly ctx: AcquirerContext) {}

  /** A new attempt on `key`, in the current session. */
  newAttempt(key: string, parent: string): Attempt {
    return {
      key,
      id: newAttemptId(),
      parent,
      generation: this.ctx.session.generation,
      path: undefined,
      token: undefined,
      createUnknown: false,
      abandoned: false,
    };
  }

  /** Runs `attempt` until its node is the lowest; {@link Busy} at the first wait when `tryOnce`. */
  run(attempt: Attempt, signal: AbortSignal, tryOnce: boolean): Promise<{ path: string; token: bigint }> {
    return this.#acquireLoop(attempt, signal, tryOnce);
  }

  /** Removes whatever an abandoned attempt left: its node, or a node from a create whose reply never came. */
  abandon(attempt: Attempt): void {
    this.#abandon(attempt);
  }

  async #acquireLoop(attempt: Attempt, signal: AbortSignal, tryOnce: boolean): Promise<{ path: string; token: bigint }> {
    for (;;) {
      signal.throwIfAborted();
      const generation = this.ctx.session.generation;
      if (attempt.generation !== generation) {
        // The old session's ephemeral node is gone with it (or will be when the server expires it).
        attempt.generation = generation;
        attempt.path = undefined;
        attempt.createUnknown = false;
      }
      try {
        if (!attempt.path) {
          if (attempt.createUnknown) await this.#adopt(attempt, signal);
          if (!attempt.path) await this.#create(attempt, signal);
        }
        const path = attempt.path as string | undefined;
        if (!path) continue;
        const [children] = await this.ctx.session.getChildren(attempt.parent, { signal });
        const nodes = sortLockNodes(children);
        const index = nodes.findIndex((node) => node.name === baseName(path));
        if (index < 0) {
          // Our node is gone (its session expired, or someone deleted it): start over with a new node.
          attempt.path = undefined;
          continue;
        }
        if (index === 0) {
          if (attempt.token === undefined) throw new Error(`no fencing token for the lock node of "${attempt.key}"`);
          return { path, token: attempt.token };
        }
        if (tryOnce) throw new Busy();
        const predecessor = nodes[index - 1];
        if (predecessor) await this.#waitForDeletion(`${attempt.parent}/${predecessor.name}`, attempt, signal);
      } catch (error) {
        if (!(error instanceof ConnectionTrouble) || signal.aborted) throw error;
        // Outcome unknown: wait for the connection (bounded) and look again; the node will be adopted if it exists.
        await this.ctx.session.waitConnected(this.ctx.operationTimeoutMs, signal);
      }
    }
  }

  async #create(attempt: Attempt, signal: AbortSignal): Promise<void> {
    for (let round = 0; ; round++) {
      attempt.createUnknown = true;
      const generation = this.ctx.session.generation;
      try {
        const [path, zxid] = await this.ctx.session.create(lockNodePrefix(attempt.parent, attempt.id), EPHEMERAL_SEQUENTIAL, {
          signal,
          onLate: (error, late) => {
            if (!error && typeof late === 'string' && attempt.path !== late) this.ctx.cleaner.deleteInBackground(late, generation);
          },
        });
        attempt.createUnknown = false;
        if (attempt.abandoned || generation !== this.ctx.session.generation) {
          this.ctx.cleaner.deleteInBackground(path, generation);
          return;
        }
        attempt.path = path;
        attempt.token = zxidToBigInt(zxid) ?? (await this.#czxid(path, signal));
        return;
      } catch (error) {
        if (error instanceof ServerError && error.zkCode === ZK['NO_NODE'] && round < 5) {
          attempt.createUnknown = false;
          await this.ctx.ensureParent(attempt.parent, signal);
          continue;
        }
        if (error instanceof ServerError) attempt.createUnknown = false;
        throw error;
      }
    }
  }

  /** After a create without a reply: finds the node by its attempt id, keeps the lowest, deletes any other. */
  async #adopt(attempt: Attempt, signal: AbortSignal): Promise<void> {
    let children: string[];
    try {
      [children] = await this.ctx.session.getChildren(attempt.parent, { signal });
    } catch (error) {
      if (error instanceof ServerError && error.zkCode === ZK['NO_NODE']) {
        attempt.createUnknown = false;
        return;
      }
      throw error;
    }
    attempt.createUnknown = false;
    const mine = sortLockNodes(children).filter((node) => node.attemptId === attempt.id);
    const [first, ...extra] = mine;
    for (const node of extra) this.ctx.cleaner.deleteInBackground(`${attempt.parent}/${node.name}`, attempt.generation);
    if (!first) return;
    const path = `${attempt.parent}/${first.name}`;
    const token = await this.#czxid(path, signal);
    if (token === undefined) return;
    attempt.path = path;
    attempt.token = token;
    this.ctx.logger.info({ event: 'lock.adopted', key: attempt.key }, 'adopted a lock node whose create reply was lost');
  }

  /**
   * A node's creation zxid, read with one extra round trip: for adopted nodes, and for a client without the
   * create-zxid patch (which reports it in the create reply for free).
   */
  async #czxid(path: string, signal: AbortSignal): Promise<bigint | undefined> {
    const [stat] = await this.ctx.session.exists(path, undefined, { signal });
    return stat ? zxidToBigInt(stat.czxid) : undefined;
  }

  /**
   * Resolves when `path` is gone, changed, or the session was lost; watches only that node (no herd), through one
   * watch shared by every local waiter on it ({@link DeletionWatches}), so a waiter that gives up leaves nothing.
   */
  #waitForDeletion(path: string, attempt: Attempt, signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let done = false;
      const finish = (error?: unknown): void => {
        if (done) return;
        done = true;
        signal.removeEventListener('abort', onAbort);
        offState();
        offWatch();
        if (error === undefined) resolve();
        else reject(error);
      };
      const onAbort = (): void => finish(signal.reason ?? new Error('aborted'));
      const offState = this.ctx.session.onState((state) => {
        if (state === 'lost') finish();
      });
      signal.addEventListener('abort', onAbort, { once: true });
      const offWatch = this.ctx.deletions.watch(
        path,
        () => {
          this.ctx.logger.debug({ event: 'lock.predecessor_gone', key: attempt.key }, 'lock predecessor gone');
          finish();
        },
        (error) => finish(error),
        signal,
      );
    });
  }

  #abandon(attempt: Attempt): void {
    attempt.abandoned = true;
    if (attempt.path) {
      this.ctx.cleaner.deleteInBackground(attempt.path, attempt.generation);
      attempt.path = undefined;
    } else if (attempt.createUnknown && !this.ctx.closed()) {
      const generation = attempt.generation;
      const task = (async () => {
        while (generation === this.ctx.session.generation && !this.ctx.closed()) {
          try {
            await this.#adopt(attempt, new AbortController().signal);
            if (attempt.path) this.ctx.cleaner.deleteInBackground(attempt.path, generation);
            return;
          } catch {
            await sleep(100);
          }
        }
      })();
      this.ctx.track(task);
    }
  }
}
