import { createThrowawayDatabase } from '../../../../test-support/postgres.js';
import { PostgresAuditLog } from '../../src/audit/postgres-audit.js';
import { describeAuditContract } from '../audit-contract.js';

describeAuditContract('postgres', async () => {
  const db = await createThrowawayDatabase();
  return {
    log: new PostgresAuditLog({ connectionString: db.connectionString }),
    peer: async () => new PostgresAuditLog({ connectionString: db.connectionString }),
    cleanup: () => db.drop(),
  };
});
