export type { CommitOutcome, CommitRequest, Store, StoreCallOptions, TransactionPage } from './port.js';
export type { StoreLogger } from './logger.js';
export { silentStoreLogger } from './logger.js';
export type { SqliteStoreOptions } from './sqlite/sqlite-store.js';
export { SQLITE_STORE_DEFAULTS, SqliteStore, openSqliteStore } from './sqlite/sqlite-store.js';
export type { PostgresStoreOptions } from './postgres/postgres-store.js';
export { POSTGRES_STORE_DEFAULTS, PostgresStore, openPostgresStore } from './postgres/postgres-store.js';
export type { MongoStoreOptions } from './mongodb/mongo-store.js';
export { MONGO_STORE_DEFAULTS, MongoStore, openMongoStore } from './mongodb/mongo-store.js';
