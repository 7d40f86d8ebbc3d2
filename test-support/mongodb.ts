/*
 * MongoDB for integration tests. MongoDB cannot be installed on every machine: tests run against the replica set
 * named by MONGODB_URI (transactions need a replica set) and are skipped, visibly, without one.
 */
import { randomBytes } from 'node:crypto';

/** The replica-set URI to test against, or undefined when the MongoDB tests must be skipped. */
export function mongoUriFromEnv(): string | undefined {
  const uri = process.env['MONGODB_URI'];
  return uri === undefined || uri.trim() === '' ? undefined : uri.trim();
}

/** A database name no other test run uses: `catraca_test_<random>`. */
export function throwawayDatabaseName(): string {
  return `catraca_test_${randomBytes(6).toString('hex')}`;
}

/** The part of a MongoClient this module needs (test-support has no driver dependency of its own). */
export interface DroppableClient {
  db(name: string): { dropDatabase(): Promise<unknown> };
}

/** Drops a throwaway database; `client` is any connected MongoClient. */
export async function dropDatabase(client: DroppableClient, name: string): Promise<void> {
  await client.db(name).dropDatabase();
}
