import { DynamoDBClient, GetItemCommand, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { dynaliteClientConfig, startDynalite, type DynaliteServer } from '../../../test-support/dynalite.js';
import { FaultProxy } from '../../../test-support/fault-proxy.js';
import { createLockTable, DynamoDbLockManager, type DynamoDbLockManagerOptions } from '../src/dynamodb/index.js';
import {
  CoordinationUnavailableError,
  InvalidArgumentError,
  LockLostError,
  LockTimeoutError,
  type ConnectionState,
} from '../src/index.js';
import { describeLockContract } from './lock-contract.js';
import { eventually, recordingLogger } from './helpers.js';

const TABLE = 'locks';
let dynalite: DynaliteServer;
let admin: DynamoDBClient;
const managers: DynamoDbLockManager[] = [];

function clientConfig(endpoint = dynalite.endpoint): NonNullable<DynamoDbLockManagerOptions['clientConfig']> {
  return dynaliteClientConfig(endpoint);
}

function manager(options: Partial<DynamoDbLockManagerOptions> = {}): DynamoDbLockManager {
  const m = new DynamoDbLockManager({ tableName: TABLE, clientConfig: clientConfig(), keyPrefix: 'test:', ...options });
  managers.push(m);
  return m;
}

async function item(pk: string): Promise<Record<string, unknown> | undefined> {
  const { Item } = await admin.send(new GetItemCommand({ TableName: TABLE, Key: { pk: { S: pk } }, ConsistentRead: true }));
  return Item;
}

beforeAll(async () => {
  dynalite = await startDynalite();
  admin = new DynamoDBClient({ ...clientConfig(), maxAttempts: 1 });
  await createLockTable(admin, TABLE);
});

afterAll(async () => {
  await Promise.allSettled(managers.map((m) => m.close()));
  admin?.destroy();
  await dynalite?.stop();
});

describeLockContract('DynamoDbLockManager (dynalite)', async () => {
  const keyPrefix = 'contract:';
  const m = new DynamoDbLockManager({ tableName: TABLE, clientConfig: clientConfig(), keyPrefix, retryMaxMs: 20 });
  return { manager: m, isFree: async (key) => (await item(keyPrefix + key))?.['owner'] === undefined };
});

describe('DynamoDbLockManager', () => {
  test('item: owner and record version while held; release removes the owner and keeps the fence counter', async () => {
    const m = manager();
    const lock = await m.acquire('layout');
    const held = await item('test:layout');
    expect(held?.['owner']).toEqual({ S: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    expect(held?.['leaseMs']).toEqual({ N: String(DynamoDbLockManager.DEFAULTS.leaseMs) });
    expect(held?.['fence']).toEqual({ N: String(lock.fencingToken) });
    await lock.release();
    const freed = await item('test:layout');
    expect(freed?.['owner']).toBeUndefined();
    expect(freed?.['fence']).toEqual({ N: String(lock.fencingToken) });
    expect(freed?.['rvn']).not.toEqual(held?.['rvn']);
    const again = await m.acquire('layout');
    expect(again.fencingToken).toBe(lock.fencingToken + 1n);
    expect((await item('test:layout'))?.['owner']).not.toEqual(held?.['owner']);
    await again.release();
  });

  test('two managers (two processes) exclude each other; tokens increase across them', async () => {
    const [a, b] = [manager({ retryMaxMs: 20 }), manager({ retryMaxMs: 20 })];
    let inside = 0;
    let overlap = false;
    const tokens: bigint[] = [];
    await Promise.all(
      [a, b, a, b].map(async (m) => {
        for (let i = 0; i < 5; i++) {
          await m.withLock('shared', async (lock) => {
            if (++inside > 1) overlap = true;
            tokens.push(lock.fencingToken);
            await sleep(2);
            inside--;
          }, { timeoutMs: 20_000 });
        }
      }),
    );
    expect(overlap).toBe(false);
    for (let i = 1; i < tokens.length; i++) expect(tokens[i]! > tokens[i - 1]!).toBe(true);
  });

  test('try-lock: timeoutMs 0 takes a free key, and fails with LockTimeoutError on a held one', async () => {
    const [a, b] = [manager(), manager()];
    const lock = await a.acquire('try', { timeoutMs: 0 });
    expect(lock.held).toBe(true);
    await expect(b.acquire('try', { timeoutMs: 0 })).rejects.toBeInstanceOf(LockTimeoutError);
    await lock.release();
    await (await b.acquire('try', { timeoutMs: 0 })).release();
  });

  test('participants: the holder (its acquisition and its manager), nobody when free', async () => {
    const [a, b] = [manager(), manager()];
    expect(await b.participants('who')).toEqual([]);
    const lock = await a.acquire('who');
    const [holder, ...rest] = await b.participants('who');
    expect(rest).toEqual([]);
    expect(holder).toEqual({ node: expect.stringMatching(/^[0-9a-f-]{36}$/), sessionId: expect.stringMatching(/^[0-9a-f-]{36}$/), isHolder: true });
    expect((await item('test:who'))?.['owner']).toEqual({ S: holder?.node });
    const again = await a.acquire('who2');
    expect((await b.participants('who2'))[0]?.sessionId).toBe(holder?.sessionId);
    await Promise.all([lock.release(), again.release()]);
    expect(await b.participants('who')).toEqual([]);
  });

  test('revocation: another process asks, the holder\'s callback runs (once) at its next renewal; a free key answers false', async () => {
    const holder = manager({ leaseMs: 1_500 });
    const asker = manager({ leaseMs: 1_500 });
    const asked: string[] = [];
    const lock = await holder.acquire('revoke', { onRevocationRequested: (l) => asked.push(l.key) });
    expect(await asker.requestRevocation('revoke')).toBe(true);
    await eventually(() => asked.length > 0, 10_000, 'the revocation callback');
    expect(await asker.requestRevocation('revoke')).toBe(true);
    await sleep(1_200); // two more renewals: the callback is not called again
    expect(asked).toEqual(['revoke']);
    expect(lock.held).toBe(true); // a request, not a release
    await lock.release();
    expect(await asker.requestRevocation('revoke')).toBe(false);
    // The next holder is not the one that was asked.
    const next: string[] = [];
    const again = await asker.acquire('revoke', { onRevocationRequested: () => next.push('x') });
    await sleep(1_200); // two renewals, each seeing the earlier holder's mark
    expect((await item('test:revoke'))?.['revoke']).toBeDefined();
    expect(next).toEqual([]);
    // Asked from the holding manager itself: at once.
    expect(await asker.requestRevocation('revoke')).toBe(true);
    expect(next).toEqual(['x']);
    await again.release();
  });

  test('the lease is renewed while held: a holder outlives several leases, others still time out', async () => {
    // Leases long enough for a loaded machine: a renewal has leaseMs / 3 to be answered.
    const m = manager({ leaseMs: 1_500 });
    const other = manager({ leaseMs: 1_500 });
    const lock = await m.acquire('renewed');
    await sleep(4_000);
    expect(lock.held).toBe(true);
    expect(lock.signal.aborted).toBe(false);
    await expect(other.acquire('renewed', { timeoutMs: 1_600 })).rejects.toBeInstanceOf(LockTimeoutError);
    await lock.release();
    await (await other.acquire('renewed', { timeoutMs: 5_000 })).release();
  });

  test('an item taken over behind the holder\'s back is noticed at the next renewal (signal fires, session-lost)', async () => {
    const m = manager({ leaseMs: 1_500 });
    const lock = await m.acquire('stolen');
    await admin.send(
      new UpdateItemCommand({
        TableName: TABLE,
        Key: { pk: { S: 'test:stolen' } },
        UpdateExpression: 'SET #o = :o',
        ExpressionAttributeNames: { '#o': 'owner' },
        ExpressionAttributeValues: { ':o': { S: 'someone-else' } },
      }),
    );
    await eventually(() => lock.signal.aborted, 5_000, 'the lost signal');
    expect((lock.signal.reason as LockLostError).reason).toBe('session-lost');
    await lock.release();
    // The release was conditional on our owner id: the other owner's record is untouched.
    expect((await item('test:stolen'))?.['owner']).toEqual({ S: 'someone-else' });
  });

  test('a crashed holder (no renewal, no release) is taken over after its lease, with a greater fencing token', async () => {
    await admin.send(
      new PutItemCommand({
        TableName: TABLE,
        Item: { pk: { S: 'test:crashed' }, owner: { S: 'dead' }, rvn: { S: 'v1' }, leaseMs: { N: '3000' }, fence: { N: '41' } },
      }),
    );
    // The waiter's own lease is shorter than the wait: the dead holder's lease (3 s, from the item) is what counts.
    const m = manager({ leaseMs: 300 });
    await expect(m.acquire('crashed', { timeoutMs: 1_000 })).rejects.toBeInstanceOf(LockTimeoutError);
    expect((await item('test:crashed'))?.['owner']).toEqual({ S: 'dead' });
    const lock = await m.acquire('crashed', { timeoutMs: 20_000 });
    expect(lock.fencingToken).toBe(42n);
    await lock.release();
  });

  test('holder cut off (renewals blackholed): its signal fires before another process acquires; token increases', async () => {
    const proxy = await FaultProxy.start({ port: dynalite.port }, { framing: 'none' });
    try {
      const logger = recordingLogger();
      const leaseMs = 3_000;
      const holder = manager({ clientConfig: clientConfig(`http://${proxy.address}`), leaseMs, requestTimeoutMs: 1_000, logger });
      const next = manager({ leaseMs, retryMaxMs: 20 });
      const lock = await holder.acquire('cut');
      let lostAt = Number.POSITIVE_INFINITY;
      lock.signal.addEventListener('abort', () => (lostAt = performance.now()));
      const cutAt = performance.now();
      proxy.setMode('blackhole');
      const taken = await next.acquire('cut', { timeoutMs: 20_000 });
      const acquiredAt = performance.now();
      expect(lock.signal.aborted).toBe(true);
      expect(lostAt).toBeLessThan(acquiredAt);
      expect((lock.signal.reason as LockLostError).reason).toBe('session-lost');
      expect(taken.fencingToken > lock.fencingToken).toBe(true);
      const lost = logger.entries.find((e) => e.obj['event'] === 'lock-lost');
      expect(lost?.obj['msSinceRenewal']).toBeLessThan(leaseMs);
      expect(holder.state).toBe('suspended');
      logger.info({ noticeMs: lostAt - cutAt, acquireMs: acquiredAt - cutAt }, 'fault timings');
      proxy.setMode('pass');
      // The late renewal reaches the server after the takeover: refused, the new holder keeps the lock.
      await sleep(300);
      expect(taken.held).toBe(true);
      expect((await item('test:cut'))?.['owner']).toBeDefined();
      await taken.release();
      await lock.release();
    } finally {
      await proxy.close();
    }
  });

  test('a grant that arrives after the caller gave up is given back (no lock kept for a whole lease)', async () => {
    const proxy = await FaultProxy.start({ port: dynalite.port }, { framing: 'none' });
    try {
      const m = manager({ clientConfig: clientConfig(`http://${proxy.address}`), requestTimeoutMs: 5_000 });
      await (await m.acquire('late', { timeoutMs: 5_000 })).release();
      const before = await item('test:late');
      proxy.setMode('delay', { delayMs: 400 });
      const error = await m.acquire('late', { timeoutMs: 100 }).catch((e: unknown) => e);
      // No answer at all before the deadline: an outage as far as the caller can tell, not "busy".
      expect(error).toBeInstanceOf(CoordinationUnavailableError);
      // The write was applied (the fence moved on) and then given back.
      await eventually(async () => {
        const now = await item('test:late');
        return now?.['fence'] !== undefined && (now['fence'] as { N: string }).N !== (before?.['fence'] as { N: string }).N && now['owner'] === undefined;
      }, 10_000, 'the late grant to be released');
    } finally {
      await proxy.close();
    }
  });

  test('dynalite paused: acquire fails with CoordinationUnavailableError after requestTimeoutMs, not a hang', async () => {
    const m = manager({ requestTimeoutMs: 1_000 });
    await (await m.acquire('paused')).release();
    dynalite.pause();
    try {
      await expect(m.acquire('paused', { timeoutMs: 60_000 })).rejects.toBeInstanceOf(CoordinationUnavailableError);
      expect(m.state).toBe('suspended');
    } finally {
      dynalite.resume();
    }
    await (await m.acquire('paused', { timeoutMs: 5_000 })).release();
    expect(m.state).toBe('reconnected');
  });

  test('a missing table is an outage (CoordinationUnavailableError), not a busy lock', async () => {
    const m = manager({ tableName: 'no-such-table' });
    const error = await m.acquire('x', { timeoutMs: 5_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CoordinationUnavailableError);
    expect(String((error as Error).message)).toMatch(/ResourceNotFound/);
  });

  test('a key too long for a partition key (over 2048 UTF-8 bytes with the prefix) is an InvalidArgumentError', async () => {
    const wide = manager({ keyPrefix: '€'.repeat(256) });
    await expect(wide.acquire('€'.repeat(512))).rejects.toBeInstanceOf(InvalidArgumentError);
  });

  test('a caller-owned client is used but not destroyed by close()', async () => {
    const client = new DynamoDBClient({ ...clientConfig(), maxAttempts: 1 });
    const m = new DynamoDbLockManager({ tableName: TABLE, client, keyPrefix: 'test:' });
    const lock = await m.acquire('owned');
    await m.close();
    expect(lock.signal.aborted).toBe(true);
    expect((await item('test:owned'))?.['owner']).toBeUndefined();
    await client.send(new GetItemCommand({ TableName: TABLE, Key: { pk: { S: 'test:owned' } } }));
    client.destroy();
  });

  // Last: the server loses every table on restart.
  test('dynalite killed: acquire fails fast with CoordinationUnavailableError, held signal fires in time; restart works again', async () => {
    const logger = recordingLogger();
    const m = manager({ leaseMs: 3_000, requestTimeoutMs: 1_000, logger });
    const states: ConnectionState[] = [];
    m.onStateChange((s) => states.push(s));
    const lock = await m.acquire('killed');
    await dynalite.kill();
    try {
      expect(await m.acquire('another').catch((e: unknown) => e)).toBeInstanceOf(CoordinationUnavailableError);
      expect(await m.acquire('another', { timeoutMs: 60_000 }).catch((e: unknown) => e)).toBeInstanceOf(CoordinationUnavailableError);
      await eventually(() => lock.signal.aborted, 10_000, 'the lost signal');
      expect((lock.signal.reason as LockLostError).reason).toBe('session-lost');
      const lost = logger.entries.find((e) => e.obj['event'] === 'lock-lost');
      expect(lost?.obj['msSinceRenewal']).toBeLessThan(3_000);
      expect(m.state).toBe('suspended');
      await lock.release(); // never throws for a lost lock
    } finally {
      await dynalite.restart();
      await createLockTable(admin, TABLE);
    }
    const again = await m.acquire('killed', { timeoutMs: 5_000 });
    expect(again.held).toBe(true);
    expect(m.state).toBe('reconnected');
    expect(states).toEqual(expect.arrayContaining(['suspended', 'reconnected']));
    await again.release();
  });
});
