import zookeeper from 'node-zookeeper-client';
import type { ACL, Client } from 'node-zookeeper-client';
import { CoordinationUnavailableError, InvalidArgumentError } from '../errors.js';
import { silentLogger, type Logger } from '../types.js';
import { closeSession, shutDown } from './client-fixes.js';
import type { DigestAuth } from './options.js';
import { zookeeperDigest } from './session.js';

/** Options of {@link repairNamespaceAcls}. */
export interface AclRepairOptions {
  /** ZooKeeper connection string, `host:port[,host:port...][/chroot]` (the same as the lock manager's). */
  connectionString: string;
  /** The namespace whose tree is repaired: `/<namespace>` and everything under it. */
  namespace: string;
  /** The identity that must own the tree: every node gets a digest ACL with all permissions for it alone. */
  auth: DigestAuth;
  /** Bound of the whole repair, connection included. Default 30 000 ms. */
  timeoutMs?: number;
  /** Structured logger. Default: silent. */
  logger?: Logger;
}

/** Defaults of {@link AclRepairOptions}. */
export const ACL_REPAIR_DEFAULTS = Object.freeze({ timeoutMs: 30_000 });

/** What {@link repairNamespaceAcls} did. */
export interface AclRepairReport {
  /** Nodes visited. */
  checked: number;
  /** Nodes whose ACL was replaced (they were open to others, e.g. created before credentials were configured). */
  repaired: number;
  /** Nodes whose ACL could not be changed (another identity owns them): listed for the operator. */
  refused: string[];
}

const NO_NODE = -101;
const WALK_SLICE = 256;
const NO_AUTH = -102;

function call<T>(run: (cb: (error: unknown, result: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => run((error, result) => (error ? reject(error) : resolve(result))));
}

const codeOf = (error: unknown): number | undefined => (error as { code?: unknown }).code as number | undefined;

/**
 * Restricts an existing namespace to one identity: walks `/<namespace>` and sets a digest ACL (all permissions, this
 * identity only) on every node whose ACL is anything else. A lock manager given `auth` creates new nodes that way
 * already; this repairs a tree created before credentials were turned on, which anyone could otherwise still write
 * (and so block a key by creating a lock node under it). Nodes that vanish during the walk are skipped; a node owned
 * by someone else is reported in `refused`. Opens and closes its own session.
 *
 * @throws CoordinationUnavailableError when ZooKeeper cannot be reached or the walk exceeds `timeoutMs`.
 */
export async function repairNamespaceAcls(options: AclRepairOptions): Promise<AclRepairReport> {
  const { auth, namespace } = options;
  if (!auth || !auth.user || auth.user.includes(':') || !auth.password) {
    throw new InvalidArgumentError('auth needs a non-empty user without ":" and a non-empty password');
  }
  if (!/^[A-Za-z0-9._-]{1,128}$/.test(namespace) || namespace === '.' || namespace === '..' || namespace === 'zookeeper') {
    throw new InvalidArgumentError(`namespace must be 1-128 chars of [A-Za-z0-9._-], got ${JSON.stringify(namespace)}`);
  }
  const timeoutMs = options.timeoutMs ?? ACL_REPAIR_DEFAULTS.timeoutMs;
  const logger = options.logger ?? silentLogger;
  const wanted: ACL[] = [
    new zookeeper.ACL(zookeeper.Permission.ALL, new zookeeper.Id('digest', zookeeperDigest(auth.user, auth.password))),
  ];
  const client = zookeeper.createClient(options.connectionString, { sessionTimeout: 10_000, retries: 0, spinDelay: 250 });
  client.addAuthInfo('digest', Buffer.from(`${auth.user}:${auth.password}`));
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new CoordinationUnavailableError(`ZooKeeper ACL repair did not finish within ${String(timeoutMs)} ms`)),
      timeoutMs,
    );
  });
  try {
    const connected = new Promise<void>((resolve) => client.once('connected', () => resolve()));
    client.connect();
    await Promise.race([connected, deadline]);
    const report = await Promise.race([walk(client, `/${namespace}`, wanted), deadline]);
    if (report.repaired > 0 || report.refused.length > 0) {
      logger.warn({ namespace, ...report }, 'ZooKeeper namespace ACLs repaired');
    } else {
      logger.info({ namespace, checked: report.checked }, 'ZooKeeper namespace ACLs checked');
    }
    return report;
  } catch (error) {
    if (error instanceof CoordinationUnavailableError) throw error;
    throw new CoordinationUnavailableError('ZooKeeper ACL repair failed', { cause: error });
  } finally {
    clearTimeout(timer);
    // Connected or not (an unreachable ensemble): end the session if there is one and stop the reconnect loop.
    closeSession(client);
    shutDown(client);
  }
}

/** The client's ACL objects carry `permission` (its type declarations say `perms`). */
const permissionOf = (acl: ACL): number => (acl as unknown as { permission: number }).permission;

function sameAcl(current: readonly ACL[], wanted: readonly ACL[]): boolean {
  return (
    current.length === wanted.length &&
    current.every(
      (acl, i) =>
        permissionOf(acl) === permissionOf(wanted[i]!) && acl.id.scheme === wanted[i]!.id.scheme && acl.id.id === wanted[i]!.id.id,
    )
  );
}

async function walk(client: Client, root: string, wanted: ACL[]): Promise<AclRepairReport> {
  const report: AclRepairReport = { checked: 0, repaired: 0, refused: [] };
  const visit = async (path: string, next: string[]): Promise<void> => {
    try {
      const acl = await call<ACL[]>((cb) => client.getACL(path, cb as never));
      report.checked += 1;
      if (!sameAcl(acl, wanted)) {
        await call((cb) => client.setACL(path, wanted, -1, cb as never));
        report.repaired += 1;
      }
      const names = await call<string[]>((cb) => client.getChildren(path, cb as never));
      for (const name of names) next.push(`${path}/${name}`);
    } catch (error) {
      const code = codeOf(error);
      if (code === NO_NODE) return;
      if (code === NO_AUTH) {
        report.refused.push(path);
        return;
      }
      throw error;
    }
  };
  let level = [root];
  while (level.length > 0) {
    const next: string[] = [];
    // One level at a time, in slices of requests pipelined on the one connection (bounded memory on a big tree).
    for (let start = 0; start < level.length; start += WALK_SLICE) {
      await Promise.all(level.slice(start, start + WALK_SLICE).map((path) => visit(path, next)));
    }
    level = next;
  }
  return report;
}
