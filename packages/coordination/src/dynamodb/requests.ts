/**
 * The DynamoDB requests of the lease lock, as plain inputs (no I/O here). One item per lock key:
 *
 * | attribute | meaning |
 * |---|---|
 * | `pk` (S) | `<keyPrefix><key>`, the partition key |
 * | `owner` (S) | id of the acquisition that holds the lock; absent when free |
 * | `session` (S) | id of the lock manager (the process) that made that acquisition, for `participants()` |
 * | `rvn` (S) | record version: a fresh random id on every acquisition, renewal and release |
 * | `leaseMs` (N) | the holder's lease; waiters in other processes use it, not their own option |
 * | `fence` (N) | counter incremented by every acquisition: the fencing token; never decremented, the item never deleted |
 * | `revoke` (S) | the owner id a revocation was requested of (Curator's `Revoker`); ignored once another owner holds |
 *
 * Every write is conditional, so a check and the write that depends on it cannot interleave with another client's
 * write. Expiry is decided by the waiters on their own monotonic clock (a record whose `rvn` has not changed for
 * `leaseMs` is stale), after Amazon's DynamoDB Lock Client: no wall clock is compared across machines.
 */
import type {
  AttributeValue,
  GetItemCommandInput,
  UpdateItemCommandInput,
} from '@aws-sdk/client-dynamodb';

const NAMES = Object.freeze({ '#owner': 'owner', '#rvn': 'rvn', '#lease': 'leaseMs', '#fence': 'fence', '#session': 'session' });
const REVOKE = 'revoke';

/** What a consistent read of a lock item tells a waiter. */
export interface LockRecord {
  /** Acquisition id of the holder, undefined when the lock is free. */
  readonly owner: string | undefined;
  readonly rvn: string | undefined;
  /** The holder's lease, undefined when free or unreadable. */
  readonly leaseMs: number | undefined;
  /** The fence counter: the fencing token of the latest acquisition (undefined before the first). */
  readonly fence: bigint | undefined;
  /** The lock manager that made the holder's acquisition. */
  readonly session: string | undefined;
}

/**
 * Takes the lock when it is free (no owner) or, with `staleRvn`, when its record still carries that version (the
 * caller has seen it unchanged for a whole lease). Increments the fence counter in the same write.
 */
export function acquireRequest(
  tableName: string,
  pk: string,
  owner: string,
  rvn: string,
  leaseMs: number,
  session: string,
  staleRvn?: string,
): UpdateItemCommandInput {
  const values: Record<string, AttributeValue> = {
    ':owner': { S: owner },
    ':session': { S: session },
    ':rvn': { S: rvn },
    ':lease': { N: String(leaseMs) },
    ':one': { N: '1' },
  };
  if (staleRvn !== undefined) values[':stale'] = { S: staleRvn };
  return {
    TableName: tableName,
    Key: { pk: { S: pk } },
    UpdateExpression: 'SET #owner = :owner, #rvn = :rvn, #lease = :lease, #session = :session ADD #fence :one',
    ConditionExpression:
      staleRvn === undefined ? 'attribute_not_exists(#owner)' : 'attribute_not_exists(#owner) OR #rvn = :stale',
    ExpressionAttributeNames: { ...NAMES },
    ExpressionAttributeValues: values,
    ReturnValues: 'UPDATED_NEW',
  };
}

/**
 * Extends the lease of `owner`'s acquisition: a new record version, only while `owner` still holds the lock. Returns
 * the item, so that the holder sees a revocation request at its next renewal.
 */
export function renewRequest(tableName: string, pk: string, owner: string, rvn: string, leaseMs: number): UpdateItemCommandInput {
  return {
    TableName: tableName,
    Key: { pk: { S: pk } },
    UpdateExpression: 'SET #rvn = :rvn, #lease = :lease',
    ConditionExpression: '#owner = :owner',
    ExpressionAttributeNames: { '#owner': NAMES['#owner'], '#rvn': NAMES['#rvn'], '#lease': NAMES['#lease'] },
    ExpressionAttributeValues: { ':owner': { S: owner }, ':rvn': { S: rvn }, ':lease': { N: String(leaseMs) } },
    ReturnValues: 'ALL_NEW',
  };
}

/** Marks the current holder as asked to let go (`revoke` = its owner id); refused when nobody holds the lock. */
export function revokeRequest(tableName: string, pk: string): UpdateItemCommandInput {
  return {
    TableName: tableName,
    Key: { pk: { S: pk } },
    UpdateExpression: 'SET #revoke = #owner',
    ConditionExpression: 'attribute_exists(#owner)',
    ExpressionAttributeNames: { '#owner': NAMES['#owner'], '#revoke': REVOKE },
    ReturnValues: 'UPDATED_NEW',
  };
}

/** True when `attributes` (a renewal's answer) carry a revocation request for `owner`. */
export function revocationRequested(attributes: Record<string, AttributeValue> | undefined, owner: string): boolean {
  return attributes?.[REVOKE]?.S === owner;
}

/** Frees the lock if `owner`'s acquisition still holds it; the fence counter stays. */
export function releaseRequest(tableName: string, pk: string, owner: string, rvn: string): UpdateItemCommandInput {
  return {
    TableName: tableName,
    Key: { pk: { S: pk } },
    UpdateExpression: 'REMOVE #owner SET #rvn = :rvn',
    ConditionExpression: '#owner = :owner',
    ExpressionAttributeNames: { '#owner': NAMES['#owner'], '#rvn': NAMES['#rvn'] },
    ExpressionAttributeValues: { ':owner': { S: owner }, ':rvn': { S: rvn } },
    ReturnValues: 'NONE',
  };
}

/** A strongly consistent read of the lock's holder and record version. */
export function readRequest(tableName: string, pk: string): GetItemCommandInput {
  return {
    TableName: tableName,
    Key: { pk: { S: pk } },
    ConsistentRead: true,
    ProjectionExpression: '#owner, #rvn, #lease, #fence, #session',
    ExpressionAttributeNames: { ...NAMES },
  };
}

/** Reads the fencing token from an acquire's `UPDATED_NEW` attributes. */
export function fenceOf(attributes: Record<string, AttributeValue> | undefined): bigint {
  const n = attributes?.['fence']?.N;
  if (n === undefined || !/^\d+$/.test(n)) throw new Error(`acquire returned no fence counter: ${JSON.stringify(attributes)}`);
  return BigInt(n);
}

/** Interprets a read item (undefined: the key was never used). */
export function recordOf(item: Record<string, AttributeValue> | undefined): LockRecord {
  const lease = item?.['leaseMs']?.N;
  const fence = item?.['fence']?.N;
  const leaseMs = lease === undefined ? undefined : Number(lease);
  return {
    owner: item?.['owner']?.S,
    rvn: item?.['rvn']?.S,
    leaseMs: leaseMs !== undefined && Number.isFinite(leaseMs) && leaseMs > 0 ? leaseMs : undefined,
    fence: fence !== undefined && /^\d+$/.test(fence) ? BigInt(fence) : undefined,
    session: item?.['session']?.S,
  };
}

/** True for the answer "the condition did not hold" (busy, or no longer ours) — an answer, not an outage. */
export function isConditionFailed(error: unknown): boolean {
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}
