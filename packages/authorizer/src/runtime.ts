import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { MemoryCache, RedisCache, SignedCache, type ResultCache } from '@catraca/cache';
import { LocalLockManager, type Coordinator, type LockManager } from '@catraca/coordination';
import type { Logger } from 'pino';
import type { AsyncPath } from './async/async-path.js';
import type { Config } from './config.js';
import { DEFAULT_MERCHANT_RULES } from './domain/index.js';
import { createApp, type RouteMount } from './http/app.js';
import { Metrics } from './metrics.js';
import { createReadiness } from './readiness.js';
import { Authorizer } from './service/authorizer.js';
import { RuleBook, type RuleChangeNotifier } from './service/rule-book.js';
import { openAuditLog } from './audit/open-audit.js';
import type { AuditLog } from './audit/port.js';
import type { Store } from './store/port.js';
import { openSqliteStore } from './store/sqlite/sqlite-store.js';

/** Everything a running service holds, built from the configuration, with one orderly way to stop it. */
export interface Runtime {
  config: Config;
  app: ReturnType<typeof createApp>;
  store: Store;
  audit: AuditLog;
  locks: LockManager | undefined;
  cache: ResultCache;
  authorizer: Authorizer;
  rules: RuleBook;
  metrics: Metrics;
  /** The async path (Kafka intake, and with `ASYNC=on` the decider and webhook groups), when `KAFKA_BROKERS` is set. */
  async: AsyncPath | undefined;
  /** Makes readiness fail (first step of a graceful shutdown). */
  drain(): void;
  /** Waits for in-flight transactions, then releases locks and closes every connection. */
  close(): Promise<void>;
}

async function openStore(config: Config, logger: Logger): Promise<Store> {
  switch (config.STORE) {
    case 'sqlite': {
      const file = path.join(config.DATA_DIR, 'catraca.db');
      ownerOnlyDataFiles(config.DATA_DIR, file, logger);
      return openSqliteStore({
        path: file,
        durability: config.SQLITE_DURABILITY,
        logger: logger.child({ component: 'store' }),
      });
    }
    default: {
      const { openClusterStore } = await import('./cluster-store.js');
      return openClusterStore(config, logger.child({ component: 'store' }));
    }
  }
}

/**
 * Balances and the ledger are readable by this user only: the directory is created 0700, the database file 0600
 * (SQLite gives its -wal and -shm files the database file's mode), and an existing file is narrowed to 0600.
 */
function ownerOnlyDataFiles(dir: string, file: string, logger: Logger): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (!existsSync(file)) closeSync(openSync(file, 'a', 0o600));
  for (const f of [file, `${file}-wal`, `${file}-shm`]) {
    try {
      if (existsSync(f)) chmodSync(f, 0o600);
    } catch (error) {
      logger.warn({ err: error, file: f }, 'could not make a data file readable by its owner only');
    }
  }
}

async function openLocks(config: Config, logger: Logger): Promise<LockManager | undefined> {
  switch (config.LOCK) {
    case 'local':
      return new LocalLockManager();
    case 'none':
      return undefined;
    case 'zookeeper': {
      const { openZooKeeperLocks } = await import('./cluster-locks.js');
      return openZooKeeperLocks(config, logger.child({ component: 'locks' }));
    }
    case 'redis': {
      const { openRedisLocks } = await import('./cluster-locks.js');
      return openRedisLocks(config, logger.child({ component: 'locks' }));
    }
  }
}

/**
 * The result cache, signed (SPEC §6): an entry approves a replay only if this process can verify that a replica wrote
 * it. The key comes from `CACHE_SIGNING_KEY` (required with Redis, shared by every replica); the in-process cache of
 * the embedded mode gets a random key per process.
 */
function openCache(config: Config, logger: Logger, metrics: Metrics): ResultCache {
  const log = logger.child({ component: 'cache' });
  const inner: ResultCache =
    config.CACHE === 'memory'
      ? new MemoryCache({ maxEntries: config.CACHE_MAX_ENTRIES, ttlMs: config.CACHE_TTL_MS })
      : new RedisCache({
          url: config.REDIS_URL!,
          keyPrefix: config.REDIS_KEY_PREFIX,
          ttlMs: config.CACHE_TTL_MS,
          callTimeoutMs: config.REDIS_CALL_TIMEOUT_MS,
          redis: {
            ...(config.REDIS_USERNAME === undefined ? {} : { username: config.REDIS_USERNAME }),
            ...(config.REDIS_PASSWORD === undefined ? {} : { password: config.REDIS_PASSWORD }),
            ...(config.REDIS_TLS_CA_FILE === undefined ? {} : { tls: { ca: readFileSync(config.REDIS_TLS_CA_FILE) } }),
          },
          logger: log,
        });
  return new SignedCache(inner, {
    key: config.CACHE_SIGNING_KEY ?? randomBytes(32),
    onInvalid: () => metrics.cacheInvalidEntries.inc(),
    logger: log,
  });
}

/** Rule changes pushed through the coordination service (ZooKeeper data watch), when the lock manager has topics. */
function ruleNotifier(locks: LockManager | undefined): RuleChangeNotifier | undefined {
  const topics = locks as (LockManager & Partial<Pick<Coordinator, 'notify' | 'watch'>>) | undefined;
  if (!topics || typeof topics.notify !== 'function' || typeof topics.watch !== 'function' || locks instanceof LocalLockManager) {
    return undefined;
  }
  return {
    notify: (options) => topics.notify!('merchant-rules', options),
    watch: (listener) => topics.watch!('merchant-rules', listener),
    healthy: () => topics.state === 'connected' || topics.state === 'reconnected',
  };
}

/** Opens the store, lock manager and cache named by `config`, and builds the app on them. */
export async function createRuntime(config: Config, logger: Logger): Promise<Runtime> {
  const metrics = new Metrics();
  const openedStore = await openStore(config, logger);
  const baseLocks = await openLocks(config, logger);
  // Cluster routing and ownership: each account is served by its home replica, which keeps the account's lock.
  const cluster =
    baseLocks && config.LOCK === 'zookeeper' && config.CLUSTER_SECRET !== undefined
      ? await (await import('./cluster/open-cluster.js')).openCluster(config, baseLocks, metrics, logger)
      : undefined;
  const locks: LockManager | undefined = cluster?.locks ?? baseLocks;
  const store =
    cluster && baseLocks
      ? (await import('./cluster/lock-parents.js')).withLockParents(
          openedStore,
          baseLocks,
          (accountId) => `account-${accountId}`,
          logger.child({ component: 'cluster' }),
        )
      : openedStore;
  const audit = await openAuditLog(config);
  const cache = openCache(config, logger, metrics);
  cache.onOutcome((outcome) => metrics.cacheLookups.inc({ outcome }));
  if (locks) {
    metrics.setCoordinationState(locks.state);
    locks.onStateChange((state) => {
      metrics.setCoordinationState(state);
      logger.info({ state }, 'lock service state');
    });
  }

  const rules = new RuleBook(store, logger.child({ component: 'rules' }), config.RULES_REFRESH_MS, ruleNotifier(baseLocks));
  await rules.start(config.MERCHANT_RULES_SEED ? DEFAULT_MERCHANT_RULES : undefined);

  const authorizer = new Authorizer({
    store,
    cache,
    locks,
    lockKey: (accountId) => `account-${accountId}`,
    ...(cluster
      ? {
          router: cluster.requestRouter,
          fenceWithLockToken: true,
          onFenced: (key: string) => cluster.locks.letGo((k) => k === key),
          checkAccountBeforeLock: (accountId: string) => cluster.locks.tokenOf(`account-${accountId}`) === undefined,
        }
      : {}),
    lockUnavailable: config.LOCK_UNAVAILABLE,
    maxBatch: config.LOCK_BATCH_MAX,
    maxHoldMs: config.LOCK_BATCH_HOLD_MS,
    rules,
    metrics,
    logger: logger.child({ component: 'authorizer' }),
    commitTimeoutMs: config.STORE_COMMIT_TIMEOUT_MS,
  });

  await cluster?.start(authorizer);
  let asyncPath: AsyncPath | undefined;
  if (config.KAFKA_BROKERS.length > 0) {
    const { AsyncPath } = await import('./async/async-path.js');
    asyncPath = await AsyncPath.open({
      config,
      authorizer,
      registry: metrics.registry,
      logger: logger.child({ component: 'async' }),
    });
  }

  let draining = false;
  const dependencies = createReadiness({ config, store, locks, cache, metrics, draining: () => draining });
  const readiness = dependencies.check;

  const mounts: RouteMount[] = [];
  if (asyncPath) {
    const { asyncRoutes } = await import('./async/routes.js');
    const path = asyncPath;
    mounts.push((router, scopes) => asyncRoutes(router, { store, audit, config }, path, scopes.authorize, scopes.admin));
  }
  const app = createApp({ authorizer, store, audit, rules, metrics, logger, readiness, config, mounts });

  let closed: Promise<void> | undefined;
  return {
    config,
    app,
    store,
    audit,
    locks,
    cache,
    authorizer,
    rules,
    metrics,
    async: asyncPath,
    drain: () => {
      draining = true;
      void cluster?.drain();
    },
    close: () =>
      (closed ??= (async () => {
        draining = true;
        await cluster?.drain();
        await asyncPath?.close(config.SHUTDOWN_GRACE_MS);
        await authorizer.idle();
        await cluster?.close();
        await rules.stop();
        await locks?.close();
        await cache.close();
        dependencies.stop();
        await audit.close();
        await store.close();
      })()),
  };
}
