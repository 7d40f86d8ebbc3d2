import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SqliteAuditLog } from '../../src/audit/sqlite-audit.js';
import { describeAuditContract } from '../audit-contract.js';

describeAuditContract('sqlite', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'catraca-audit-'));
  const file = path.join(dir, 'catraca.db');
  return {
    log: new SqliteAuditLog({ path: file }),
    peer: async () => new SqliteAuditLog({ path: file }),
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
});
