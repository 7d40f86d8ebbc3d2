/**
 * `@catraca/coordination/dynamodb`: the DynamoDB lease lock. A separate entry so that only its users load the AWS SDK.
 */
export { DynamoDbLockManager } from './dynamodb-lock-manager.js';
export { DYNAMODB_LOCK_DEFAULTS } from './options.js';
export type { DynamoDbLockManagerOptions } from './options.js';
export { createLockTable } from './table.js';
export type { CreateLockTableOptions } from './table.js';
