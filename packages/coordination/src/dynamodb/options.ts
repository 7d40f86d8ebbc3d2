import type { DynamoDBClient, DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { InvalidArgumentError } from '../errors.js';
import { silentLogger, type Logger } from '../types.js';

/**
 * Options of {@link DynamoDbLockManager}. Give exactly one of `client` and `clientConfig`. Every optional field has its
 * default in {@link DYNAMODB_LOCK_DEFAULTS}.
 */
export interface DynamoDbLockManagerOptions {
  /** Name of the lock table: partition key `pk` (string), nothing else (see `createLockTable`). */
  tableName: string;
  /**
   * A `DynamoDBClient` owned by the caller: the manager uses it but never destroys it. Its own retries are bounded by
   * `requestTimeoutMs` per request; a retried write is safe (every acquisition attempt carries its own owner id).
   */
  client?: DynamoDBClient;
  /**
   * Configuration of a client the manager makes (region, endpoint, credentials) with `maxAttempts: 1` (the manager
   * retries itself) and destroys on `close()`.
   */
  clientConfig?: DynamoDBClientConfig;
  /** Prefix of every partition key the manager writes: `<prefix><key>`. Default `'lock:'`. */
  keyPrefix?: string;
  /**
   * Lease of a held lock, renewed every `leaseMs / 3` while held. The holder's `signal` fires when no renewal has
   * succeeded for `2/3 · leaseMs`; a waiter takes over a lock only after it has seen the lock's record unchanged for a
   * whole `leaseMs` on its own clock. Default 10 000 ms.
   */
  leaseMs?: number;
  /** Shortest pause between two polls of a busy key. Default 5 ms. */
  retryMinMs?: number;
  /** Longest pause between two polls of a busy key (the pause doubles from `retryMinMs`, with jitter). Default 100 ms. */
  retryMaxMs?: number;
  /** Upper bound of one DynamoDB request; a request that exceeds it fails with `CoordinationUnavailableError`. Default 2 000 ms. */
  requestTimeoutMs?: number;
  /** Structured logger. Default: silent. */
  logger?: Logger;
}

/** Defaults of {@link DynamoDbLockManagerOptions}. */
export const DYNAMODB_LOCK_DEFAULTS = Object.freeze({
  keyPrefix: 'lock:',
  leaseMs: 10_000,
  retryMinMs: 5,
  retryMaxMs: 100,
  requestTimeoutMs: 2_000,
});

export interface ResolvedDynamoDbOptions {
  readonly tableName: string;
  readonly client: DynamoDBClient | undefined;
  readonly clientConfig: DynamoDBClientConfig | undefined;
  readonly keyPrefix: string;
  readonly leaseMs: number;
  readonly retryMinMs: number;
  readonly retryMaxMs: number;
  readonly requestTimeoutMs: number;
  readonly logger: Logger;
}

/** DynamoDB's limit for a partition key value, in UTF-8 bytes. */
export const MAX_PARTITION_KEY_BYTES = 2048;
const TABLE_NAME = /^[a-zA-Z0-9_.-]{3,255}$/;

function duration(name: string, value: number, min: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
    throw new InvalidArgumentError(`${name} must be a finite number >= ${min}, got ${value}`);
  }
  return value;
}

/** Applies the defaults and validates; throws {@link InvalidArgumentError} with a clear message. */
export function resolveDynamoDbOptions(options: DynamoDbLockManagerOptions): ResolvedDynamoDbOptions {
  const { tableName, client, clientConfig } = options ?? ({} as Partial<DynamoDbLockManagerOptions>);
  if (typeof tableName !== 'string' || !TABLE_NAME.test(tableName)) {
    throw new InvalidArgumentError(`tableName must be 3-255 characters of [a-zA-Z0-9_.-], got ${JSON.stringify(tableName)}`);
  }
  if ((client === undefined) === (clientConfig === undefined)) {
    throw new InvalidArgumentError('give exactly one of "client" and "clientConfig"');
  }
  if (client !== undefined && (typeof client !== 'object' || client === null || typeof client.send !== 'function')) {
    throw new InvalidArgumentError('client must be a DynamoDBClient');
  }
  if (clientConfig !== undefined && (typeof clientConfig !== 'object' || clientConfig === null)) {
    throw new InvalidArgumentError('clientConfig must be a DynamoDBClientConfig object');
  }
  const keyPrefix = options.keyPrefix ?? DYNAMODB_LOCK_DEFAULTS.keyPrefix;
  if (typeof keyPrefix !== 'string' || keyPrefix.length > 256) {
    throw new InvalidArgumentError(`keyPrefix must be a string of at most 256 characters, got ${JSON.stringify(keyPrefix)}`);
  }
  const leaseMs = Math.round(duration('leaseMs', options.leaseMs ?? DYNAMODB_LOCK_DEFAULTS.leaseMs, 30));
  const retryMinMs = duration('retryMinMs', options.retryMinMs ?? DYNAMODB_LOCK_DEFAULTS.retryMinMs, 1);
  const retryMaxMs = duration('retryMaxMs', options.retryMaxMs ?? DYNAMODB_LOCK_DEFAULTS.retryMaxMs, retryMinMs);
  const requestTimeoutMs = duration('requestTimeoutMs', options.requestTimeoutMs ?? DYNAMODB_LOCK_DEFAULTS.requestTimeoutMs, 1);
  return Object.freeze({
    tableName,
    client,
    clientConfig,
    keyPrefix,
    // 30 ms keeps the renewal period (leaseMs / 3) at 10 ms or more.
    leaseMs,
    retryMinMs,
    retryMaxMs,
    requestTimeoutMs,
    logger: options.logger ?? silentLogger,
  });
}
