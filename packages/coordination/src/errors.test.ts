import { describe, expect, test } from 'vitest';
import {
  ClosedError,
  CoordinationUnavailableError,
  InvalidArgumentError,
  LockLostError,
  LockTimeoutError,
  ReentrantLockError,
} from './errors.js';

describe('coordination errors', () => {
  test('name the key and the reason, carry their code and cause', () => {
    const cause = new Error('root');
    const timeout = new LockTimeoutError('accounts/1', { cause });
    expect(timeout.message).toBe('timed out waiting for the lock on "accounts/1"');
    expect(timeout).toMatchObject({ code: 'LOCK_TIMEOUT', key: 'accounts/1', cause });
    const lost = new LockLostError('k', 'session-lost');
    expect(lost.message).toBe('lock on "k" lost (session-lost)');
    expect(lost).toMatchObject({ code: 'LOCK_LOST', key: 'k', reason: 'session-lost' });
    expect(new CoordinationUnavailableError().message).toBe('coordination service unavailable');
    expect(new CoordinationUnavailableError('no quorum', { cause }).cause).toBe(cause);
    expect(new ClosedError().message).toBe('lock manager is closed');
    expect(new ClosedError().code).toBe('CLOSED');
    expect(new ReentrantLockError('k').message).toBe('the lock on "k" is already held by this caller (locks are not reentrant)');
    expect(new InvalidArgumentError('bad').code).toBe('INVALID_ARGUMENT');
  });
});
