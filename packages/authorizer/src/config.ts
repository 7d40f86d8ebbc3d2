import path from 'node:path';
import { z } from 'zod';
import { ConfigError } from './errors.js';
import { credentialEntries, credentialProblems } from './security/credentials.js';

/** A credential variable's entries (`name:secret`, comma-separated); judged by {@link credentialProblems}. */
const tokenList = z
  .string()
  .optional()
  .transform((value) => credentialEntries(value));

const boolean = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** Every environment variable the service reads, with its default. Documented in the README's configuration table. */
export const configSchema = z.object({
    HOST: z.string().min(1).default('127.0.0.1'),
    PORT: int(0, 65535).default(8080),
    DATA_DIR: z.string().min(1).default('./data'),
    DEADLINE_MS: int(1, 60_000).default(80),
    ADMIN_DEADLINE_MS: int(1, 600_000).default(2_000),
    STORE_COMMIT_TIMEOUT_MS: int(1, 60_000).default(2_000),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    BODY_LIMIT_BYTES: int(256, 10 * 1024 * 1024).default(16 * 1024),
    SHUTDOWN_GRACE_MS: int(0, 600_000).default(10_000),

    STORE: z.enum(['sqlite', 'postgres', 'mongodb']).default('sqlite'),
    SQLITE_DURABILITY: z.enum(['full', 'normal']).default('full'),
    POSTGRES_URL: z.string().url().optional(),
    POSTGRES_POOL_SIZE: int(1, 1000).default(10),
    MONGODB_URI: z.string().min(1).optional(),
    MONGODB_DB: z.string().min(1).default('catraca'),

    LOCK: z.enum(['local', 'zookeeper', 'redis', 'none']).default('local'),
    LOCK_REDIS_URL: z.string().url().optional(),
    LOCK_LEASE_MS: int(100, 600_000).default(5_000),
    LOCK_UNAVAILABLE: z.enum(['fence-only', 'fail-closed']).default('fence-only'),
    LOCK_BATCH_MAX: int(1, 10_000).default(64),
    LOCK_BATCH_HOLD_MS: int(0, 10_000).default(20),
    ZOOKEEPER_CONNECT: z.string().min(1).optional(),
    ZOOKEEPER_NAMESPACE: z.string().regex(/^[A-Za-z0-9._-]+$/).default('catraca'),
    ZOOKEEPER_SESSION_TIMEOUT_MS: int(1_000, 120_000).default(6_000),
    ZOOKEEPER_AUTH: z.string().min(3).optional(),
    ZOOKEEPER_REAP_DELAY_MS: int(0, 3_600_000).default(120_000),

    // Cluster routing and ownership (LOCK=zookeeper with CLUSTER_SECRET set): see cluster/ and the README.
    CLUSTER_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
    CLUSTER_HOST: z.string().min(1).optional(),
    CLUSTER_PORT: int(0, 65535).default(0),
    CLUSTER_ADVERTISE_HOST: z.string().min(1).optional(),
    CLUSTER_ADVERTISE_PORT: int(1, 65535).optional(),
    CLUSTER_MEMBER_ID: z.string().regex(/^[A-Za-z0-9._-]{1,128}$/).optional(),
    CLUSTER_REPLY_MARGIN_MS: int(0, 10_000).default(10),
    CLUSTER_COMMIT_GRACE_MS: int(0, 60_000).default(100),
    CLUSTER_FORWARD_CONNECTIONS: int(1, 1_000).default(32),
    CLUSTER_HANDOVER_PER_TICK: int(1, 1_000_000).default(500),
    CLUSTER_HANDOVER_TICK_MS: int(1, 60_000).default(100),
    OWNERSHIP_MAX_LOCKS: int(0, 10_000_000).default(10_000),
    OWNERSHIP_IDLE_MS: int(1, 3_600_000).default(30_000),

    CACHE: z.enum(['memory', 'redis']).default('memory'),
    CACHE_TTL_MS: int(1_000, 365 * 24 * 3600 * 1000).default(24 * 3600 * 1000),
    CACHE_MAX_ENTRIES: int(1, 100_000_000).default(100_000),
    REDIS_URL: z.string().url().optional(),
    REDIS_KEY_PREFIX: z.string().default('catraca:'),
    REDIS_CALL_TIMEOUT_MS: int(1, 10_000).default(15),
    REDIS_USERNAME: z.string().min(1).optional(),
    REDIS_PASSWORD: z.string().min(1).optional(),
    REDIS_TLS_CA_FILE: z.string().min(1).optional(),
    CACHE_SIGNING_KEY: z.string().min(32, 'must be at least 32 characters (e.g. openssl rand -hex 32)').optional(),

    RULES_REFRESH_MS: int(50, 60_000).default(500),
    MERCHANT_RULES_SEED: boolean.default(true),

    KAFKA_BROKERS: z
      .string()
      .optional()
      .transform((value) => (value ?? '').split(',').map((b) => b.trim()).filter((b) => b.length > 0)),
    ASYNC: z.enum(['on', 'off']).default('off'),
    KAFKA_TOPIC: z.string().regex(/^[A-Za-z0-9._-]{1,200}$/).default('catraca.transactions'),
    KAFKA_GROUP: z.string().min(1).default('catraca-authorizer'),
    KAFKA_PARTITIONS: int(1, 10_000).default(12),
    KAFKA_REPLICATION: int(1, 32).default(1),
    ASYNC_DEADLINE_MS: int(1, 600_000).default(2_000),
    ASYNC_ACCEPT_DEADLINE_MS: int(1, 600_000).default(5_000),
    ASYNC_MAX_IN_FLIGHT: int(1, 1_000_000).default(1_024),
    WEBHOOK_TIMEOUT_MS: int(1, 600_000).default(5_000),
    WEBHOOK_RETRY_FOR_MS: int(0, 7 * 24 * 3600 * 1000).default(60_000),
    WEBHOOK_BACKOFF_BASE_MS: int(1, 600_000).default(200),
    WEBHOOK_BACKOFF_MAX_MS: int(1, 3_600_000).default(10_000),
    RATE_LIMIT_AUTHORIZE_RPS: int(0, 1_000_000).default(0),
    RATE_LIMIT_ADMIN_RPS: int(0, 1_000_000).default(0),
    RATE_LIMIT_BURST_SECONDS: int(1, 3_600).default(1),
    RATE_LIMIT_ADDRESS_RPS: int(0, 1_000_000).default(0),
    REQUEST_TIMEOUT_MS: int(100, 600_000).optional(),
    KEEP_ALIVE_TIMEOUT_MS: int(100, 600_000).default(65_000),
    MAX_CONNECTIONS: int(1, 1_000_000).default(1_024),
    MERCHANT_RULES_MAX: int(1, 1_000_000).default(10_000),
    REQUEST_SIGNING_SECRETS: z
      .string()
      .optional()
      .transform((value) => credentialEntries(value))
      .pipe(z.array(z.string().min(32, 'each secret must be at least 32 characters'))),
    REQUEST_SIGNING_WINDOW_S: int(1, 3_600).default(300),
    TLS_CERT_FILE: z.string().min(1).optional(),
    TLS_KEY_FILE: z.string().min(1).optional(),
    TLS_CLIENT_CA_FILE: z.string().min(1).optional(),

    AUTHORIZE_TOKENS: tokenList,
    ADMIN_TOKENS: tokenList,
    ALLOW_UNAUTHENTICATED: boolean.default(false),
});

export type Config = z.output<typeof configSchema>;

/**
 * Rules across variables, checked on the raw values so that they are reported together with field errors (zod would
 * skip them once a field fails).
 */
function crossFieldProblems(raw: Record<string, string>, env: NodeJS.ProcessEnv): string[] {
  const problems: string[] = [];
  const need = (when: boolean, key: string, why: string) => {
    if (when && !raw[key]) problems.push(`  ${key}: required when ${why}`);
  };
  need(raw['STORE'] === 'postgres', 'POSTGRES_URL', 'STORE=postgres');
  need(raw['STORE'] === 'mongodb', 'MONGODB_URI', 'STORE=mongodb');
  need(raw['LOCK'] === 'zookeeper', 'ZOOKEEPER_CONNECT', 'LOCK=zookeeper');
  need(raw['CACHE'] === 'redis', 'REDIS_URL', 'CACHE=redis');
  need(raw['ASYNC'] === 'on', 'KAFKA_BROKERS', 'ASYNC=on');
  need(raw['CACHE'] === 'redis', 'CACHE_SIGNING_KEY', 'CACHE=redis (entries in a shared cache must be signed)');
  if (raw['CACHE_SIGNING_KEY'] !== undefined && /replace[-_ ]?me|change[-_ ]?me|placeholder/i.test(raw['CACHE_SIGNING_KEY'])) {
    problems.push('  CACHE_SIGNING_KEY: is a placeholder from the examples; generate one (openssl rand -hex 32)');
  }
  need(raw['LOCK'] === 'redis' && !raw['REDIS_URL'], 'LOCK_REDIS_URL', 'LOCK=redis and REDIS_URL is not set');
  if ((raw['TLS_CERT_FILE'] === undefined) !== (raw['TLS_KEY_FILE'] === undefined)) {
    problems.push('  TLS_CERT_FILE, TLS_KEY_FILE: set both (TLS on the listener) or neither');
  }
  need(raw['TLS_CLIENT_CA_FILE'] !== undefined, 'TLS_CERT_FILE', 'TLS_CLIENT_CA_FILE is set (mutual TLS needs TLS)');
  const zkAuth = raw['ZOOKEEPER_AUTH'];
  if (zkAuth !== undefined && /^digest:[^:]*:/.test(zkAuth)) {
    problems.push('  ZOOKEEPER_AUTH: is user:password; drop the "digest:" scheme prefix (it would be read as user "digest")');
  }
  const host = raw['HOST'] ?? '127.0.0.1';
  const loopback = host === '127.0.0.1' || host === 'localhost' || host === '::1';
  // Set-but-empty counts as set: an operator who wrote the variable meant to turn authentication on.
  problems.push(...credentialProblems('AUTHORIZE_TOKENS', env['AUTHORIZE_TOKENS'], 'authorize'));
  problems.push(...credentialProblems('ADMIN_TOKENS', env['ADMIN_TOKENS'], 'admin'));
  // The parsed lists, never the raw strings: "," is not a credential.
  const open =
    credentialEntries(raw['AUTHORIZE_TOKENS']).length === 0 || credentialEntries(raw['ADMIN_TOKENS']).length === 0;
  const allowed = ['true', '1', 'yes'].includes(raw['ALLOW_UNAUTHENTICATED'] ?? '');
  if (!loopback && open && !allowed) {
    problems.push(
      '  HOST: binding to a non-loopback address needs AUTHORIZE_TOKENS and ADMIN_TOKENS, or ALLOW_UNAUTHENTICATED=true',
    );
  }
  return problems;
}

/** Parses the environment once at start-up; throws a {@link ConfigError} that lists every problem. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const relevant = Object.fromEntries(
    Object.keys(configSchema.shape).flatMap((key) => {
      const value = env[key];
      return value === undefined || value === '' ? [] : [[key, value]];
    }),
  );
  const parsed = configSchema.safeParse(relevant);
  const lines = [
    ...(parsed.success ? [] : parsed.error.issues.map((issue) => `  ${issue.path.join('.') || '(config)'}: ${issue.message}`)),
    ...crossFieldProblems(relevant, env),
  ];
  if (!parsed.success || lines.length > 0) throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  return { ...parsed.data, DATA_DIR: path.resolve(parsed.data.DATA_DIR) };
}
