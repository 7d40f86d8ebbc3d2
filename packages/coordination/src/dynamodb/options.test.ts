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

describe('resolveDynamoDbOptions messages and edges', () => {
  test.each<[DynamoDbLockManagerOptions, string]>([
    [{ tableName: 'ab', clientConfig }, 'tableName must be 3-255 characters of [a-zA-Z0-9_.-], got "ab"'],
    [{ tableName }, 'give exactly one of "client" and "clientConfig"'],
    [{ tableName, client: null as never }, 'client must be a DynamoDBClient'],
    [{ tableName, client: 'c' as never }, 'client must be a DynamoDBClient'],
    [{ tableName, client: { send: 1 } as never }, 'client must be a DynamoDBClient'],
    [{ tableName, clientConfig: null as never }, 'clientConfig must be a DynamoDBClientConfig object'],
    [{ tableName, clientConfig: 'x' as never }, 'clientConfig must be a DynamoDBClientConfig object'],
    [{ tableName, clientConfig, keyPrefix: 'k'.repeat(257) }, 'keyPrefix must be a string of at most 256 characters'],
    [{ tableName, clientConfig, leaseMs: 29 }, 'leaseMs must be a finite number >= 30, got 29'],
    [{ tableName, clientConfig, retryMinMs: 0 }, 'retryMinMs must be a finite number >= 1, got 0'],
    [{ tableName, clientConfig, retryMinMs: 5, retryMaxMs: 4 }, 'retryMaxMs must be a finite number >= 5, got 4'],
    [{ tableName, clientConfig, requestTimeoutMs: '5' as never }, 'requestTimeoutMs must be a finite number >= 1, got 5'],
  ])('%j', (options, message) => {
    expect(() => resolveDynamoDbOptions(options)).toThrow(message);
  });

  test('accepts a 256-character prefix and a DynamoDBClient-like client; keeps the logger; rounds the lease', () => {
    expect(resolveDynamoDbOptions({ tableName, clientConfig, keyPrefix: 'k'.repeat(256) }).keyPrefix).toHaveLength(256);
    const client = { send: () => undefined } as never;
    expect(resolveDynamoDbOptions({ tableName, client }).client).toBe(client);
    const logger = { debug() {}, info() {}, warn() {}, error() {} };
    expect(resolveDynamoDbOptions({ tableName, clientConfig, logger }).logger).toBe(logger);
    expect(resolveDynamoDbOptions({ tableName, clientConfig, leaseMs: 100.6 }).leaseMs).toBe(101);
  });
});
