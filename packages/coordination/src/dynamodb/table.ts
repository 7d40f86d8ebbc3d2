import { CreateTableCommand, DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { setTimeout as sleep } from 'node:timers/promises';
import { CoordinationUnavailableError, InvalidArgumentError } from '../errors.js';

export interface CreateLockTableOptions {
  /** Gives up (with the signal's reason) when it fires. Default: {@link timeoutMs}. */
  signal?: AbortSignal;
  /** Gives up after this long. Default 60 000 ms. */
  timeoutMs?: number;
  /** Pause between two `DescribeTable` polls while the table is being created. Default 100 ms. */
  pollMs?: number;
}

/**
 * Creates the lock table (`pk` string partition key, on-demand billing) if it does not exist, and waits until it is
 * ACTIVE. For tests and development: production tables are better declared with the rest of the infrastructure
 * (same key schema; no TTL, no index, no stream needed).
 * @throws {CoordinationUnavailableError} DynamoDB refused or did not answer in time.
 */
export async function createLockTable(client: DynamoDBClient, tableName: string, options: CreateLockTableOptions = {}): Promise<void> {
  if (typeof tableName !== 'string' || tableName.length < 3) throw new InvalidArgumentError(`invalid table name ${JSON.stringify(tableName)}`);
  const timeoutMs = options.timeoutMs ?? 60_000;
  const pollMs = options.pollMs ?? 100;
  const deadline = AbortSignal.timeout(timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, deadline]) : deadline;
  try {
    try {
      await client.send(
        new CreateTableCommand({
          TableName: tableName,
          AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
          KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
          BillingMode: 'PAY_PER_REQUEST',
        }),
        { abortSignal: signal },
      );
    } catch (error) {
      if (!(error instanceof Error && error.name === 'ResourceInUseException')) throw error;
    }
    for (;;) {
      const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }), { abortSignal: signal });
      if (Table?.TableStatus === 'ACTIVE') return;
      await sleep(pollMs, undefined, { signal });
    }
  } catch (error) {
    if (options.signal?.aborted) throw options.signal.reason;
    throw new CoordinationUnavailableError(`could not create the lock table "${tableName}": ${String(error)}`, { cause: error });
  }
}
