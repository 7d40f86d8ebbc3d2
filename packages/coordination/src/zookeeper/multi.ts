import zookeeper from 'node-zookeeper-client';
import { InvalidArgumentError } from '../errors.js';
import { ServerError, ZK, type CallOptions, type ZkSession } from './session.js';

/** One operation of a ZooKeeper transaction (`multi`). `version` -1 (the default) matches any version. */
export type MultiOp =
  | { readonly op: 'create'; readonly path: string; readonly mode: number; readonly data?: Buffer }
  | { readonly op: 'remove'; readonly path: string; readonly version?: number }
  | { readonly op: 'check'; readonly path: string; readonly version: number }
  | { readonly op: 'setData'; readonly path: string; readonly data: Buffer; readonly version?: number };

/** Outcome of one operation of a committed transaction: the created path for a create. */
export interface MultiResult {
  readonly path?: string;
}

/** A transaction was refused: `index` is the operation that failed (the others were rolled back). */
export class MultiError extends ServerError {
  constructor(zkCode: number, zkName: string, readonly index: number, options?: { cause?: unknown }) {
    super(zkCode, zkName, options);
  }
}

/** The most operations one `multi()` carries; larger batches are split (each chunk is its own transaction). */
export const MULTI_CHUNK = 500;

const KNOWN_MODES = new Set<number>(Object.values(zookeeper.CreateMode as Record<string, number>));

interface RawTransaction {
  ops: Array<{ version?: number }>;
  create(path: string, data: Buffer | undefined, acls: unknown, mode: number): RawTransaction;
  remove(path: string, version: number): RawTransaction;
  check(path: string, version: number): RawTransaction;
  setData(path: string, data: Buffer, version: number): RawTransaction;
  commit(callback: (error: unknown, results?: Array<{ type: number; path?: string; err?: number }>) => void): void;
}

/**
 * Runs `ops` as one ZooKeeper transaction, working around node-zookeeper-client 1.1.3:
 * - it turns version `0` into -1 (`version || -1`) in `check`/`setData`/`remove`, so a compare-and-set on a fresh
 *   node would match anything: the version is written into the queued operation after the client built it;
 * - it has no CONTAINER (or TTL) create mode and would send the flag as a plain create: such modes are refused;
 * - with `retries` > 0 it re-sends a sequential create on a connection loss: sessions here run with `retries: 0`,
 *   and callers give sequential nodes a protected-mode GUID to find out whether a create whose reply was lost
 *   happened.
 * Rejects with {@link MultiError} (with the failing operation's index) when the server refuses it, and with the
 * session's `ConnectionTrouble` when the outcome is unknown.
 */
export async function multi(session: ZkSession, ops: readonly MultiOp[], options: CallOptions = {}): Promise<MultiResult[]> {
  for (const op of ops) {
    if (op.op === 'create' && !KNOWN_MODES.has(op.mode)) {
      throw new InvalidArgumentError(`create mode ${op.mode} is not supported by node-zookeeper-client 1.1.3`);
    }
    const version = 'version' in op ? op.version : undefined;
    if (version !== undefined && (!Number.isInteger(version) || version < -1)) {
      throw new InvalidArgumentError(`version must be an integer >= -1, got ${version}`);
    }
  }
  let failed = -1;
  const results = await session.call<[Array<{ type: number; path?: string; err?: number }>]>(
    (client, callback) => {
      const tx = client.transaction() as unknown as RawTransaction;
      for (const op of ops) {
        switch (op.op) {
          case 'create':
            tx.create(op.path, op.data, session.acl, op.mode);
            break;
          case 'remove':
            tx.remove(op.path, -1);
            setVersion(tx, op.version);
            break;
          case 'check':
            tx.check(op.path, -1);
            setVersion(tx, op.version);
            break;
          case 'setData':
            tx.setData(op.path, op.data, -1);
            setVersion(tx, op.version);
            break;
        }
      }
      tx.commit((error, raw) => {
        if (error && raw) failed = raw.findIndex((r) => r.err !== undefined && r.err !== 0 && r.err !== ZK['RUNTIME_INCONSISTENCY']);
        if (error) callback(error);
        else callback(null, raw ?? []);
      });
    },
    options,
  ).catch((error: unknown) => {
    if (error instanceof ServerError) throw new MultiError(error.zkCode, error.zkName, failed, { cause: error });
    throw error;
  });
  return results[0].map((r) => (r.path === undefined ? {} : { path: r.path }));
}

function setVersion(tx: RawTransaction, version: number | undefined): void {
  const queued = tx.ops[tx.ops.length - 1];
  if (queued) queued.version = version ?? -1;
}
