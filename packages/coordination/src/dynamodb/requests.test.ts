import { describe, expect, test } from 'vitest';
import {
  acquireRequest,
  fenceOf,
  isConditionFailed,
  recordOf,
  releaseRequest,
  renewRequest,
  revocationRequested,
  revokeRequest,
} from './requests.js';

describe('lock requests', () => {
  test('acquire takes a free lock, or one whose stale record version is given, and increments the fence', () => {
    const free = acquireRequest('t', 'lock:k', 'o1', 'r1', 900, 's1');
    expect(free.ConditionExpression).toBe('attribute_not_exists(#owner)');
    expect(free.UpdateExpression).toContain('ADD #fence :one');
    expect(free.ExpressionAttributeValues?.[':stale']).toBeUndefined();
    const stale = acquireRequest('t', 'lock:k', 'o1', 'r1', 900, 's1', 'r0');
    expect(stale.ConditionExpression).toBe('attribute_not_exists(#owner) OR #rvn = :stale');
    expect(stale.ExpressionAttributeValues?.[':stale']).toEqual({ S: 'r0' });
  });

  test('renew and release are conditional on the owner id', () => {
    expect(renewRequest('t', 'pk', 'o1', 'r2', 900)).toMatchObject({
      ConditionExpression: '#owner = :owner',
      ExpressionAttributeValues: { ':owner': { S: 'o1' }, ':rvn': { S: 'r2' } },
    });
    const release = releaseRequest('t', 'pk', 'o1', 'r3');
    expect(release.ConditionExpression).toBe('#owner = :owner');
    expect(release.UpdateExpression).toBe('REMOVE #owner SET #rvn = :rvn');
  });

  test('the fence is exact beyond 2^53', () => {
    expect(fenceOf({ fence: { N: '9007199254740993' } })).toBe(9007199254740993n);
    expect(() => fenceOf({})).toThrow();
    expect(() => fenceOf({ fence: { N: '1.5' } })).toThrow();
  });

  test('records: free, held, and malformed leases', () => {
    expect(recordOf(undefined)).toEqual({ owner: undefined, rvn: undefined, leaseMs: undefined, fence: undefined, session: undefined });
    expect(recordOf({ owner: { S: 'o' }, rvn: { S: 'r' }, leaseMs: { N: '900' }, fence: { N: '7' }, session: { S: 's' } })).toEqual({
      owner: 'o',
      rvn: 'r',
      leaseMs: 900,
      fence: 7n,
      session: 's',
    });
    expect(recordOf({ rvn: { S: 'r' }, leaseMs: { N: '-1' } }).leaseMs).toBeUndefined();
  });

  test('revocation: the holder is marked by its owner id, and sees it in its renewal\'s answer', () => {
    expect(revokeRequest('t', 'pk')).toMatchObject({ UpdateExpression: 'SET #revoke = #owner', ConditionExpression: 'attribute_exists(#owner)' });
    expect(renewRequest('t', 'pk', 'o1', 'r2', 900).ReturnValues).toBe('ALL_NEW');
    expect(revocationRequested({ revoke: { S: 'o1' } }, 'o1')).toBe(true);
    expect(revocationRequested({ revoke: { S: 'o0' } }, 'o1')).toBe(false);
    expect(revocationRequested(undefined, 'o1')).toBe(false);
  });

  test('only a conditional-check failure is an answer', () => {
    const failed = Object.assign(new Error('The conditional request failed'), { name: 'ConditionalCheckFailedException' });
    expect(isConditionFailed(failed)).toBe(true);
    expect(isConditionFailed(new Error('ECONNREFUSED'))).toBe(false);
    expect(isConditionFailed('ConditionalCheckFailedException')).toBe(false);
  });
});
