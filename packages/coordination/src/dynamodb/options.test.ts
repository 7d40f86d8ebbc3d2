import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { describe, expect, test } from 'vitest';
import { InvalidArgumentError } from '../errors.js';
import { DYNAMODB_LOCK_DEFAULTS, resolveDynamoDbOptions, type DynamoDbLockManagerOptions } from './options.js';

const clientConfig = { region: 'local', endpoint: 'http://127.0.0.1:1' };
const tableName = 'locks';

describe('resolveDynamoDbOptions', () => {
  test('applies the frozen defaults', () => {
    expect(Object.isFrozen(DYNAMODB_LOCK_DEFAULTS)).toBe(true);
    const resolved = resolveDynamoDbOptions({ tableName, clientConfig });
    expect(resolved).toMatchObject({ tableName, clientConfig, ...DYNAMODB_LOCK_DEFAULTS });
    expect(Object.isFrozen(resolved)).toBe(true);
  });

  test('keeps explicit values, including an empty key prefix', () => {
    const client = new DynamoDBClient(clientConfig);
    const resolved = resolveDynamoDbOptions({ tableName, client, keyPrefix: '', leaseMs: 900, retryMinMs: 1, retryMaxMs: 1, requestTimeoutMs: 50 });
    expect(resolved).toMatchObject({ client, keyPrefix: '', leaseMs: 900, retryMinMs: 1, retryMaxMs: 1, requestTimeoutMs: 50 });
    client.destroy();
  });

  test.each<[string, DynamoDbLockManagerOptions]>([
    ['no table name', { clientConfig } as DynamoDbLockManagerOptions],
    ['a table name too short', { tableName: 'ab', clientConfig }],
    ['a table name with a space', { tableName: 'my locks', clientConfig }],
    ['neither client nor clientConfig', { tableName }],
    ['both client and clientConfig', { tableName, clientConfig, client: { send() {} } as never }],
    ['a client that is not a DynamoDBClient', { tableName, client: {} as never }],
    ['leaseMs 0', { tableName, clientConfig, leaseMs: 0 }],
    ['leaseMs NaN', { tableName, clientConfig, leaseMs: Number.NaN }],
    ['retryMinMs 0', { tableName, clientConfig, retryMinMs: 0 }],
    ['retryMaxMs below retryMinMs', { tableName, clientConfig, retryMinMs: 5, retryMaxMs: 4 }],
    ['requestTimeoutMs Infinity', { tableName, clientConfig, requestTimeoutMs: Number.POSITIVE_INFINITY }],
    ['a key prefix that is not a string', { tableName, clientConfig, keyPrefix: 3 as never }],
  ])('rejects %s', (_, options) => {
    expect(() => resolveDynamoDbOptions(options)).toThrow(InvalidArgumentError);
  });
});
