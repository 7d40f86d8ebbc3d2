import type { Db, Document } from 'mongodb';
import { MongoServerError } from 'mongodb';
import { ConfigError } from '../../errors.js';

const COMMAND_NOT_FOUND = 59;

/**
 * Refuses a deployment that cannot run multi-document transactions: a standalone `mongod` answers every read and
 * ping, so without this check every purchase would answer `07` while every replica looked healthy. Accepts a
 * replica-set member (`setName`) or a `mongos` (`msg: 'isdbgrid'`).
 */
export async function checkTransactionsSupported(admin: Db, signal: AbortSignal): Promise<void> {
  const hello = await handshake(admin, signal);
  if (hello['msg'] === 'isdbgrid') return;
  if (typeof hello['setName'] === 'string' && hello['setName'] !== '') {
    if (hello['logicalSessionTimeoutMinutes'] === undefined || hello['logicalSessionTimeoutMinutes'] === null) {
      const name = String(hello['setName']);
      throw new ConfigError(`mongodb replica set "${name}" reports no sessions: transactions are unavailable`);
    }
    return;
  }
  throw new ConfigError(
    'mongodb server is a standalone (no replica set): the store needs multi-document transactions, which need a ' +
      'replica set. Start mongod with --replSet <name> and run rs.initiate() once (a single-node replica set is ' +
      'enough), then connect with ?replicaSet=<name>.',
  );
}

/** `hello`, or the legacy `isMaster` on a server that does not know `hello`; `admin` is the `admin` database. */
async function handshake(admin: Db, signal: AbortSignal): Promise<Document> {
  try {
    return await admin.command({ hello: 1 }, { signal });
  } catch (error) {
    if (!(error instanceof MongoServerError && error.code === COMMAND_NOT_FOUND)) throw error;
    return await admin.command({ isMaster: 1 }, { signal });
  }
}
