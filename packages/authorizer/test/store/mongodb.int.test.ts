import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../../test-support/ports.js';
import { dropDatabase, mongoUriFromEnv, throwawayDatabaseName } from '../../../../test-support/mongodb.js';
import { startMongoJavaServer, type MongoJavaServer } from '../../../../test-support/mongo-java-server.js';
import { ConfigError, StoreUnavailableError } from '../../src/errors.js';
import { MongoStore } from '../../src/store/index.js';
import { describeStoreContract } from '../store-contract.js';

const uri = mongoUriFromEnv();
/** scripts/mongo-standin-contract.sh sets it: the contract against mongo-java-server (no transactions; see there). */
const standIn = process.env['CATRACA_MONGO_STANDIN'] === '1';

if (standIn) {
  let server: MongoJavaServer;
  let admin: MongoClient;
  beforeAll(async () => {
    server = await startMongoJavaServer();
    admin = new MongoClient(server.uri);
    await admin.connect();
  }, 90_000);
  afterAll(async () => {
    await admin?.close();
    await server?.stop();
  });
  describeStoreContract('mongodb (mongo-java-server stand-in: no transactions)', async () => {
    const databaseName = throwawayDatabaseName();
    const options = { uri: server.uri, databaseName, requireReplicaSet: false };
    return {
      store: new MongoStore(options),
      peer: async () => new MongoStore(options),
      cleanup: () => dropDatabase(admin, databaseName),
    };
  });
} else if (uri === undefined) {
  console.log(
    'SKIP mongodb store contract: MONGODB_URI not set (needs a replica set, e.g. mongodb://127.0.0.1:27017/?replicaSet=rs0)',
  );
  describe.skip('store contract: mongodb (MONGODB_URI not set)', () => {});
} else {
  let admin: MongoClient;
  beforeAll(async () => {
    admin = new MongoClient(uri);
    await admin.connect();
  });
  afterAll(async () => {
    await admin.close();
  });

  describeStoreContract('mongodb', async () => {
    const databaseName = throwawayDatabaseName();
    return {
      store: new MongoStore({ uri, databaseName }),
      peer: async () => new MongoStore({ uri, databaseName }),
      cleanup: () => dropDatabase(admin, databaseName),
    };
  });
}

describe('MongoStore without a reachable server', () => {
  it('refuses invalid options at construction', () => {
    expect(() => new MongoStore({ uri: '' })).toThrow(ConfigError);
    expect(() => new MongoStore({ uri: 'mongodb://127.0.0.1:1', serverSelectionTimeoutMs: 0 })).toThrow(ConfigError);
  });

  it('rejects with StoreUnavailableError (aborted call, nobody listening) and closes cleanly', async () => {
    const port = await freePort();
    const store = new MongoStore({
      uri: `mongodb://127.0.0.1:${port}/?directConnection=true`,
      serverSelectionTimeoutMs: 300,
    });
    try {
      const controller = new AbortController();
      controller.abort();
      await expect(store.ping({ signal: controller.signal })).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(store.ping()).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(store.getAccount('acc-1')).rejects.toBeInstanceOf(StoreUnavailableError);
    } finally {
      await store.close();
    }
    await expect(store.ping()).rejects.toBeInstanceOf(StoreUnavailableError);
  });
});
