#!/usr/bin/env node
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { loadConfig, type Config } from './config.js';
import { CatracaError } from './errors.js';
import { createServer } from './http/server.js';
import { createRuntime } from './runtime.js';

const USAGE = `Usage: catraca [--help]

Starts the Catraca authorizer. Configuration comes from environment variables (see the README's table):
embedded mode by default (SQLite under DATA_DIR, in-process lock and cache, 127.0.0.1:8080).`;

async function main(): Promise<void> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    process.stderr.write(`catraca: ${(error as Error).message}\n`);
    process.exitCode = 2;
    return;
  }
  const logger = pino({ level: config.LOG_LEVEL, base: { service: 'catraca' } });
  const loopback = ['127.0.0.1', 'localhost', '::1'].includes(config.HOST);
  if (!loopback && (config.AUTHORIZE_TOKENS.length === 0 || config.ADMIN_TOKENS.length === 0)) {
    logger.warn({ host: config.HOST }, 'listening on a non-loopback address without client credentials (ALLOW_UNAUTHENTICATED)');
  }

  const runtime = await createRuntime(config, logger);
  const server = createServer(config, runtime.app.callback());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.PORT, config.HOST, resolve);
  });
  const address = server.address() as AddressInfo;
  logger.info(
    { url: `${config.TLS_CERT_FILE === undefined ? 'http' : 'https'}://${address.address}:${address.port}`, store: config.STORE, lock: config.LOCK, cache: config.CACHE },
    'catraca listening',
  );

  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: readiness off, draining in-flight requests');
    runtime.drain();
    const force = setTimeout(() => server.closeAllConnections(), config.SHUTDOWN_GRACE_MS);
    force.unref();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
    });
    clearTimeout(force);
    await runtime.close();
    logger.info('stopped');
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}

main().catch((error: unknown) => {
  const message = error instanceof CatracaError ? error.message : (error as Error).stack ?? String(error);
  process.stderr.write(`catraca: failed to start: ${message}\n`);
  process.exitCode = 1;
});
