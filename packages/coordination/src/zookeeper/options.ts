import { InvalidArgumentError } from '../errors.js';
import { silentLogger, type Logger } from '../types.js';

/** Digest credentials: the session authenticates with them and every node the library creates is readable and
 * writable by this identity only. */
export interface DigestAuth {
  readonly user: string;
  readonly password: string;
}

/** Options of {@link ZooKeeperLockManager}. Every optional field has its default in {@link ZOOKEEPER_DEFAULTS}. */
export interface ZooKeeperLockManagerOptions {
  /**
   * ZooKeeper connection string, `host:port[,host:port...][/chroot]`. With a chroot, every path the library uses lives
   * under it; the chroot node itself must already exist.
   */
  connectionString: string;
  /** Requested session timeout; the server may negotiate it into its [min, max] range. Default 10 000 ms. */
  sessionTimeoutMs?: number;
  /** Root node name of every path the library creates: `/<namespace>/locks/<key>/...`. Default `coordination`. */
  namespace?: string;
  /** Digest credentials; when given, every node the library creates carries a digest ACL for this identity only. */
  auth?: DigestAuth;
  /**
   * Upper bound of one ZooKeeper request, including the wait for a connection. Default 5 000 ms. A request that
   * exceeds it fails with `CoordinationUnavailableError`; the library never relies on the client's own queueing.
   */
  operationTimeoutMs?: number;
  /**
   * How long a released key's empty parent node is left before the library deletes it; 0 deletes it as soon as the
   * release is done; `Infinity` never deletes parents (persistent per-key parents for long-lived keys: no reap
   * writes, no NO_NODE race with a reap). Default 2 000 ms (a key locked again soon keeps its parent and skips a
   * round trip).
   */
  reapDelayMs?: number;
  /** Pause between two rounds over every server of the ensemble when none answers. Default 250 ms. */
  reconnectDelayMs?: number;
  /** Structured logger. Default: silent. */
  logger?: Logger;
}

/** Defaults of {@link ZooKeeperLockManagerOptions}. */
export const ZOOKEEPER_DEFAULTS = Object.freeze({
  sessionTimeoutMs: 10_000,
  namespace: 'coordination',
  operationTimeoutMs: 5_000,
  reapDelayMs: 2_000,
  reconnectDelayMs: 250,
});

export interface ResolvedOptions {
  readonly connectionString: string;
  readonly sessionTimeoutMs: number;
  readonly namespace: string;
  readonly auth: DigestAuth | undefined;
  readonly operationTimeoutMs: number;
  readonly reapDelayMs: number;
  readonly reconnectDelayMs: number;
  readonly logger: Logger;
}

function duration(name: string, value: number, min: number): number {
  if (!Number.isFinite(value) || value < min) {
    throw new InvalidArgumentError(`${name} must be a finite number >= ${min}, got ${value}`);
  }
  return value;
}

/** `reapDelayMs`: a finite delay, or `Infinity` to keep parents (no reaping). */
function reapDelay(value: number): number {
  return value === Infinity ? value : duration('reapDelayMs', value, 0);
}

/** Applies the defaults and validates; throws {@link InvalidArgumentError} with a clear message. */
export function resolveOptions(options: ZooKeeperLockManagerOptions): ResolvedOptions {
  const connectionString = options?.connectionString;
  if (typeof connectionString !== 'string' || !/^[^/,\s]+(,[^/,\s]+)*(\/[^\s]*)?$/.test(connectionString)) {
    throw new InvalidArgumentError(
      `connectionString must look like "host:port[,host:port...][/chroot]", got ${JSON.stringify(connectionString)}`,
    );
  }
  const namespace = options.namespace ?? ZOOKEEPER_DEFAULTS.namespace;
  if (!/^[A-Za-z0-9._-]{1,128}$/.test(namespace) || namespace === '.' || namespace === '..' || namespace === 'zookeeper') {
    throw new InvalidArgumentError(`namespace must be 1-128 chars of [A-Za-z0-9._-], got ${JSON.stringify(namespace)}`);
  }
  const auth = options.auth;
  if (auth !== undefined && (typeof auth.user !== 'string' || !auth.user || auth.user.includes(':') || typeof auth.password !== 'string' || !auth.password)) {
    throw new InvalidArgumentError('auth needs a non-empty user without ":" and a non-empty password');
  }
  return Object.freeze({
    connectionString,
    sessionTimeoutMs: duration('sessionTimeoutMs', options.sessionTimeoutMs ?? ZOOKEEPER_DEFAULTS.sessionTimeoutMs, 100),
    namespace,
    auth,
    operationTimeoutMs: duration('operationTimeoutMs', options.operationTimeoutMs ?? ZOOKEEPER_DEFAULTS.operationTimeoutMs, 1),
    reapDelayMs: reapDelay(options.reapDelayMs ?? ZOOKEEPER_DEFAULTS.reapDelayMs),
    reconnectDelayMs: duration('reconnectDelayMs', options.reconnectDelayMs ?? ZOOKEEPER_DEFAULTS.reconnectDelayMs, 0),
    logger: options.logger ?? silentLogger,
  });
}
