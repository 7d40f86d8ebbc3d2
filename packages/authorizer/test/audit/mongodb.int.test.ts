import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe } from 'vitest';
import { dropDatabase, mongoUriFromEnv, throwawayDatabaseName } from '../../../../test-support/mongodb.js';
import { MongoAuditLog } from '../../src/audit/mongo-audit.js';
import { describeAuditContract } from '../audit-contract.js';

const uri = mongoUriFromEnv();

if (uri === undefined) {
  console.log('SKIP mongodb audit contract: MONGODB_URI not set');
  describe.skip('audit trail contract: mongodb (MONGODB_URI not set)', () => {});
} else {
  let admin: MongoClient;
  beforeAll(async () => {
    admin = new MongoClient(uri);
    await admin.connect();
  });
  afterAll(async () => {
    await admin.close();
  });
  describeAuditContract('mongodb', async () => {
    const databaseName = throwawayDatabaseName();
    return {
      log: new MongoAuditLog({ uri, databaseName }),
      peer: async () => new MongoAuditLog({ uri, databaseName }),
      cleanup: () => dropDatabase(admin, databaseName),
    };
  });
}
