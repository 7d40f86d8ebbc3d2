import zookeeper from 'node-zookeeper-client';
import type { Logger } from '../types.js';
import { baseName, lockNodePrefix, newAttemptId, sortLockNodes } from './lock-node-name.js';
import { multi, MULTI_CHUNK, MultiError } from './multi.js';
import { ConnectionTrouble, ServerError, ZK, type ZkSession } from './session.js';
import { zxidToBigInt } from './zxid.js';

const EPHEMERAL_SEQUENTIAL = zookeeper.CreateMode.EPHEMERAL_SEQUENTIAL;
const PERSISTENT = zookeeper.CreateMode.PERSISTENT;

/** What a batch needs from its lock manager. */
export interface BatchContext {
  readonly session: ZkSession;
  parentOf(key: string): string;
  ensureParent(parent: string, signal: AbortSignal | undefined): Promise<void>;
  readonly logger: Logger;
  readonly operationTimeoutMs: number;
  /** Keeps a background task alive until the manager closes. */
  track(task: Promise<unknown>): void;
}

export interface BatchNode {
  readonly path: string;
  /** The node is the lowest of its key: the key was free and is now held. */
  readonly free: boolean;
}

export interface Batch {
  readonly generation: number;
  /** The transaction's zxid: every node of the batch has it as czxid. */
  readonly token: bigint;
  readonly nodes: ReadonlyMap<string, BatchNode>;
}

/**
 * Creates one lock node per key in one transaction, then lists every key's queue (one pipelined read round) to tell
 * free keys from busy ones. Parents missing make the transaction fail with NO_NODE: they are created (persistent, in
 * one more transaction) and the transaction sent again. A transaction without a reply is looked for by its protected-mode GUID (all its nodes
 * exist or none does) before being sent again, under a new GUID; a late reply of a superseded one is deleted.
 */
export async function createBatch(ctx: BatchContext, keys: readonly string[], signal: AbortSignal | undefined): Promise<Batch> {
  const parents = keys.map((key) => ctx.parentOf(key));
  for (let round = 0; ; round++) {
    signal?.throwIfAborted();
    const id = newAttemptId();
    const generation = ctx.session.generation;
    const ops = parents.map((parent) => ({ op: 'create' as const, path: lockNodePrefix(parent, id), mode: EPHEMERAL_SEQUENTIAL }));
    let stale = false;
    let paths: string[] | undefined;
    try {
      const results = await multi(ctx.session, ops, {
        signal,
        onLate: (error, raw) => {
          if (error || !stale || !Array.isArray(raw)) return;
          const late = (raw as Array<{ path?: string }>).flatMap((r) => (r.path ? [r.path] : []));
          ctx.track(removeBatch(ctx.session, late).catch(() => {}));
        },
      });
      paths = results.map((r) => r.path ?? '');
    } catch (error) {
      if (error instanceof MultiError && error.zkCode === ZK['NO_NODE'] && round < 3) {
        stale = true;
        await ensureParents(ctx, parents, signal);
        continue;
      }
      if (!(error instanceof ConnectionTrouble)) {
        stale = true;
        throw error;
      }
      if (signal?.aborted) {
        stale = true;
        ctx.track(cleanUp(ctx, parents, id, generation));
        throw error;
      }
      await ctx.session.waitConnected(ctx.operationTimeoutMs, signal);
      paths = ctx.session.generation === generation ? await findBatch(ctx.session, parents, id, signal) : undefined;
      if (!paths) {
        stale = true;
        continue;
      }
      ctx.logger.info({ event: 'lock.batch_adopted', keys: keys.length }, 'adopted a batch whose transaction reply was lost');
    }
    const created = paths;
    try {
      const [[stat], ...lists] = await Promise.all([
        ctx.session.exists(created[0] ?? '/', undefined, { signal }),
        ...parents.map((parent) => ctx.session.getChildren(parent, { signal })),
      ]);
      const token = zxidToBigInt(stat?.czxid);
      if (token === undefined) throw new ConnectionTrouble('a node of the batch vanished before its token was read');
      const nodes = new Map<string, BatchNode>();
      keys.forEach((key, i) => {
        const path = created[i];
        if (!path) return;
        const [lowest] = sortLockNodes(lists[i]?.[0] ?? []);
        nodes.set(key, { path, free: lowest?.name === baseName(path) });
      });
      return { generation, token, nodes };
    } catch (error) {
      ctx.track(removeBatch(ctx.session, created).catch(() => {}));
      throw error;
    }
  }
}

/**
 * Creates the missing parents of a batch, persistent, in one transaction: one pipelined `exists` round finds them.
 * A parent created meanwhile by someone else fails the transaction (NODE_EXISTS): look again. The namespace's own
 * nodes missing (first use ever) fail it with NO_NODE: the ordinary path creates them with the first parent.
 */
async function ensureParents(ctx: BatchContext, parents: readonly string[], signal: AbortSignal | undefined): Promise<void> {
  for (let round = 0; round < 5; round++) {
    const stats = await Promise.all(parents.map((parent) => ctx.session.exists(parent, undefined, { signal }).then(([stat]) => stat)));
    const missing = parents.filter((_, i) => !stats[i]);
    if (missing.length === 0) return;
    try {
      for (let from = 0; from < missing.length; from += MULTI_CHUNK) {
        const ops = missing.slice(from, from + MULTI_CHUNK).map((path) => ({ op: 'create' as const, path, mode: PERSISTENT }));
        await multi(ctx.session, ops, { signal });
      }
      return;
    } catch (error) {
      if (!(error instanceof MultiError)) throw error;
      if (error.zkCode === ZK['NO_NODE'] && missing[0]) await ctx.ensureParent(missing[0], signal);
      else if (error.zkCode !== ZK['NODE_EXISTS']) throw error;
    }
  }
  await Promise.all(parents.map((parent) => ctx.ensureParent(parent, signal)));
}

/** The nodes a batch with GUID `id` created, in key order; undefined when the transaction did not happen. */
async function findBatch(session: ZkSession, parents: readonly string[], id: string, signal: AbortSignal | undefined): Promise<string[] | undefined> {
  const lists = await Promise.all(
    parents.map((parent) =>
      session.getChildren(parent, { signal }).then(
        ([names]) => names,
        (error: unknown) => {
          if (error instanceof ServerError && error.zkCode === ZK['NO_NODE']) return [] as string[];
          throw error;
        },
      ),
    ),
  );
  const paths: string[] = [];
  for (const [i, names] of lists.entries()) {
    const mine = sortLockNodes(names).find((node) => node.attemptId === id);
    if (!mine) return undefined;
    paths.push(`${parents[i]}/${mine.name}`);
  }
  return paths;
}

/** After giving up on a transaction without a reply: deletes its nodes if it happened (while the session lasts). */
async function cleanUp(ctx: BatchContext, parents: readonly string[], id: string, generation: number): Promise<void> {
  while (ctx.session.generation === generation && ctx.session.state !== 'closed') {
    try {
      await ctx.session.waitConnected(ctx.operationTimeoutMs);
      if (ctx.session.generation !== generation) return;
      const paths = await findBatch(ctx.session, parents, id, undefined);
      if (paths) await removeBatch(ctx.session, paths);
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/** Deletes nodes in transactions of at most {@link MULTI_CHUNK} deletions each. */
export async function removeBatch(session: ZkSession, paths: readonly string[]): Promise<void> {
  const chunks: Promise<unknown>[] = [];
  for (let from = 0; from < paths.length; from += MULTI_CHUNK) {
    const ops = paths.slice(from, from + MULTI_CHUNK).map((path) => ({ op: 'remove' as const, path }));
    chunks.push(multi(session, ops));
  }
  await Promise.all(chunks);
}
