/*
 * MongoStore under network faults, with no MongoDB server: the store talks to a wire-protocol stub
 * (mongo-wire-stub.ts) through the TCP fault proxy (test-support/fault-proxy.ts), which blackholes, delays or resets
 * the connection. These tests check the store's bounds and error paths on the wire; MongoDB's own semantics are the
 * contract suite's business (mongodb.int.test.ts, against a real replica set or the mongo-java-server stand-in).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FaultProxy } from '../../../../test-support/fault-proxy.js';
import type { Account } from '../../src/domain/types.js';
import { ConfigError, StoreUnavailableError } from '../../src/errors.js';
import { MONGO_STORE_DEFAULTS, MongoStore, type MongoStoreOptions } from '../../src/store/index.js';
import { debit } from '../store-contract.js';
import { MongoWireStub } from './mongo-wire-stub.js';

/** The service's default STORE_COMMIT_TIMEOUT_MS, which it passes as the store's commitTimeoutMs. */
const COMMIT_TIMEOUT_MS = MONGO_STORE_DEFAULTS.commitTimeoutMs;
const OPERATION_TIMEOUT_MS = 1_000;
/** The must-show margin: a bounded call gives up within its bound + 10 %. */
const MARGIN = 1.1;

const account: Account = {
  id: 'acc-1',
  balances: { FOOD: 10_000, MEAL: 0, CASH: 0 },
  version: 0,
  createdAt: new Date(0).toISOString(),
};

let stub: MongoWireStub;
let proxy: FaultProxy;
const stores: MongoStore[] = [];

function open(options: Partial<MongoStoreOptions> = {}): MongoStore {
  const store = new MongoStore({
    uri: `mongodb://127.0.0.1:${proxy.port}/?directConnection=true`,
    databaseName: 'catraca_faults',
    commitTimeoutMs: COMMIT_TIMEOUT_MS,
    operationTimeoutMs: OPERATION_TIMEOUT_MS,
    ...options,
  });
  stores.push(store);
  return store;
}

/**
 * How long `call` took to settle, how it settled, and how late a plain timer armed at the same instant for `boundMs`
 * fired (`lateMs`): on a loaded machine every timer fires late, so a bound is checked on `ms - lateMs`, the time the
 * store itself took beyond what the event loop imposes on any timer.
 */
async function timed<T>(call: () => Promise<T>, boundMs = 0): Promise<{ ms: number; error: unknown; lateMs: number }> {
  const started = performance.now();
  let firedAt: number | undefined;
  const control = setTimeout(() => (firedAt = performance.now()), boundMs);
  let error: unknown;
  try {
    await call();
  } catch (caught) {
    error = caught;
  }
  const ms = performance.now() - started;
  // The call may settle a hair before its own timer's twin: wait for the twin, then measure how late it was.
  while (firedAt === undefined && boundMs > 0 && performance.now() - started < boundMs * 3) await sleep(5);
  clearTimeout(control);
  const lateMs = firedAt === undefined ? 0 : Math.max(0, firedAt - started - boundMs);
  return { ms, error, lateMs };
}

beforeEach(async () => {
  stub = await MongoWireStub.start();
  proxy = await FaultProxy.start({ port: stub.port }, { framing: 'none' });
});

afterEach(async () => {
  proxy.setMode('pass');
  for (const store of stores.splice(0)) await store.close();
  await proxy.close();
  await stub.close();
});

describe('MongoStore bounds (wire stub behind the fault proxy)', () => {
  it('a commit under a blackholed connection gives up within STORE_COMMIT_TIMEOUT_MS (+10%), writing nothing', async () => {
    const store = open();
    await store.init();
    proxy.setMode('blackhole');
    const { ms, error, lateMs } = await timed(() => store.commit(debit(account, 'tx-1', 100, 'FOOD')), COMMIT_TIMEOUT_MS);
    expect(error).toBeInstanceOf(StoreUnavailableError);
    // Blackholed before anything of the transaction reached the server: not an unknown outcome.
    expect(error).toMatchObject({ outcomeUnknown: false });
    expect(ms).toBeGreaterThanOrEqual(COMMIT_TIMEOUT_MS * 0.95);
    expect(ms - lateMs).toBeLessThanOrEqual(COMMIT_TIMEOUT_MS * MARGIN);
    expect(stub.named('commitTransaction')).toHaveLength(0);
  });

  it('the caller signal (the service passes AbortSignal.timeout(STORE_COMMIT_TIMEOUT_MS)) bounds it too', async () => {
    const store = open({ commitTimeoutMs: 60_000 });
    await store.init();
    proxy.setMode('blackhole');
    const bound = 1_500;
    const { ms, error, lateMs } = await timed(
      () => store.commit(debit(account, 'tx-1', 100, 'FOOD'), { signal: AbortSignal.timeout(bound) }),
      bound,
    );
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect(ms - lateMs).toBeLessThanOrEqual(bound * MARGIN);
  });

  it('a commit whose commitTransaction gets no answer reports an unknown outcome within the bound', async () => {
    const store = open();
    await store.init();
    stub.hang('commitTransaction');
    const { ms, error, lateMs } = await timed(() => store.commit(debit(account, 'tx-1', 100, 'FOOD')), COMMIT_TIMEOUT_MS);
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect(error).toMatchObject({ outcomeUnknown: true });
    expect(ms - lateMs).toBeLessThanOrEqual(COMMIT_TIMEOUT_MS * MARGIN);
    expect(stub.named('commitTransaction').length).toBeGreaterThanOrEqual(1);
    // The commit carried the server-side bound as well.
    expect(stub.named('commitTransaction')[0]?.body['maxTimeMS']).toBe(COMMIT_TIMEOUT_MS);
  });

  it('a blackholed read gives up within operationTimeoutMs (+10%); reads carry maxTimeMS', async () => {
    const store = open();
    await store.init();
    await store.getAccount('acc-1');
    expect(stub.named('find').at(-1)?.body['maxTimeMS']).toBe(OPERATION_TIMEOUT_MS);
    proxy.setMode('blackhole');
    const { ms, error, lateMs } = await timed(() => store.getAccount('acc-1'), OPERATION_TIMEOUT_MS);
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect(ms - lateMs).toBeLessThanOrEqual(OPERATION_TIMEOUT_MS * MARGIN);
    const rule = await timed(() => store.putMerchantRule({ match: 'UBER EATS', category: 'MEAL' }), OPERATION_TIMEOUT_MS);
    expect(rule.error).toBeInstanceOf(StoreUnavailableError);
    expect(rule.ms - rule.lateMs).toBeLessThanOrEqual(OPERATION_TIMEOUT_MS * MARGIN);
  });

  it('init against a server that never answers gives up (no start-up hang)', async () => {
    proxy.setMode('blackhole');
    const store = open({ serverSelectionTimeoutMs: 500 });
    const { error } = await timed(() => store.init());
    expect(error).toBeInstanceOf(StoreUnavailableError);
  });

  it('a delayed connection within the bound still commits; one beyond it does not', async () => {
    const store = open();
    await store.init();
    proxy.setMode('delay', { delayMs: 20 });
    await expect(store.commit(debit(account, 'tx-1', 100, 'FOOD'))).resolves.toEqual({ status: 'committed' });
    proxy.setMode('delay', { delayMs: COMMIT_TIMEOUT_MS });
    const { ms, error, lateMs } = await timed(() => store.commit(debit(account, 'tx-2', 100, 'FOOD')), COMMIT_TIMEOUT_MS);
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect(ms - lateMs).toBeLessThanOrEqual(COMMIT_TIMEOUT_MS * MARGIN);
  });

  it('a connection reset in the middle of a transaction runs it again on a new connection', async () => {
    const store = open();
    await store.init();
    const accepted = proxy.acceptedConnections;
    stub.onNext('update', () => proxy.drop());
    await expect(store.commit(debit(account, 'tx-1', 100, 'FOOD'))).resolves.toEqual({ status: 'committed' });
    expect(stub.named('update').length).toBeGreaterThanOrEqual(2);
    expect(proxy.acceptedConnections).toBeGreaterThan(accepted);
  });

  it('resets that lose every commitTransaction answer (the driver retry and ours) are an unknown outcome', async () => {
    const store = open();
    await store.init();
    const dropEach = (): void => {
      proxy.drop();
      stub.onNext('commitTransaction', dropEach);
    };
    stub.onNext('commitTransaction', dropEach);
    const { ms, error, lateMs } = await timed(() => store.commit(debit(account, 'tx-1', 100, 'FOOD')), COMMIT_TIMEOUT_MS);
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect(error).toMatchObject({ outcomeUnknown: true });
    expect(ms - lateMs).toBeLessThanOrEqual(COMMIT_TIMEOUT_MS * MARGIN);
    expect(stub.named('commitTransaction').length).toBeGreaterThanOrEqual(2);
  });
});

describe('MongoStore transactions, start-up checks and validators (wire stub)', () => {
  it('retries a transaction that meets transient write conflicts, then gives up after transactionAttempts', async () => {
    const store = open({ transactionAttempts: 3, transactionBackoffMs: 5 });
    await store.init();
    const conflict = { code: 112, codeName: 'WriteConflict', errorLabels: ['TransientTransactionError'] };
    stub.fail('update', 2, conflict);
    await expect(store.commit(debit(account, 'tx-1', 100, 'FOOD'))).resolves.toEqual({ status: 'committed' });
    expect(stub.named('update')).toHaveLength(3);
    stub.fail('update', 3, conflict);
    await expect(store.commit(debit(account, 'tx-2', 100, 'FOOD'))).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(stub.named('update')).toHaveLength(6);
  });

  it('refuses to start on a standalone server, with a clear error', async () => {
    await stub.close();
    await proxy.close();
    stub = await MongoWireStub.start({ replicaSet: null });
    proxy = await FaultProxy.start({ port: stub.port }, { framing: 'none' });
    const store = open();
    const { error } = await timed(() => store.init());
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(/standalone.*replica set/);
    expect(stub.named('create')).toHaveLength(0);
  });

  it('accepts a replica-set member and keeps the validators of existing collections current (collMod)', async () => {
    stub.existingCollections.add('accounts');
    stub.existingCollections.add('transactions');
    const store = open();
    await store.init();
    const modified = stub.named('collMod').map((command) => command.body['collMod']);
    expect(modified.sort()).toEqual(['accounts', 'transactions']);
    const accounts = stub.named('collMod').find((command) => command.body['collMod'] === 'accounts');
    expect(accounts?.body['validator']).toHaveProperty('$jsonSchema');
    expect(accounts?.body['validationLevel']).toBe('strict');
    expect(accounts?.body['validationAction']).toBe('error');
  });

  it('refuses invalid bounds at construction', () => {
    expect(() => open({ commitTimeoutMs: 0 })).toThrow(ConfigError);
    expect(() => open({ operationTimeoutMs: -1 })).toThrow(ConfigError);
    expect(() => open({ transactionAttempts: 0 })).toThrow(ConfigError);
    expect(() => open({ transactionBackoffMs: 1.5 })).toThrow(ConfigError);
  });
});
