/**
 * `POST /transactions` says why a request is invalid in the `Catraca-Error` header, while the body stays exactly
 * `{"code":"07"}` (SPEC §1). Each reason is asserted word for word: a client's logs are only as good as this text.
 * In-process (app.callback() on a temporary SQLite file), so the mutation run executes it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { createRuntime, type Runtime } from '../src/runtime.js';
import { authorize, createAccount } from './helpers.js';

let rt: Runtime;
let dir: string;
/** The runtime's debug log lines, parsed. */
const lines: Array<Record<string, unknown>> = [];

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'catraca-diag-'));
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  rt = await createRuntime(loadConfig({ DATA_DIR: dir, SQLITE_DURABILITY: 'normal' }), pino({ level: 'debug' }, sink));
  await createAccount(rt, 'acc-1', { FOOD: '100.00', MEAL: '50.00', CASH: '30.00' });
});
afterAll(async () => {
  await rt.close();
  rmSync(dir, { recursive: true, force: true });
});

const body = { account: 'acc-1', totalAmount: '1.00', mcc: '5411', merchant: 'PADARIA' };

describe('Catraca-Error names what is wrong', () => {
  it.each<[string, unknown, string]>([
    ['not JSON', '{"account":', 'body is not valid JSON'],
    ['an empty body', '', 'body is empty'],
    ['an array', '[1]', 'body must be a JSON object'],
    ['no account', { ...body, account: undefined }, 'account is required'],
    ['no amount', { ...body, totalAmount: undefined }, 'totalAmount is required'],
    ['two accounts', { ...body, accountId: 'acc-2' }, 'account and accountId differ; send one of them'],
    ['a bad mcc', { ...body, mcc: '54x1' }, 'mcc: mcc must be exactly 4 digits'],
    ['a blank merchant', { ...body, merchant: ' ' }, 'merchant: merchant must not be blank'],
  ])('%s', async (_name, payload, reason) => {
    const reply = await authorize(rt, payload);
    expect(reply.status).toBe(200);
    expect(reply.body).toBe('{"code":"07"}');
    expect(reply.headers['catraca-error']).toBe(reason);
    expect(reply.headers['catraca-reason']).toBe('invalid_request');
    expect(reply.headers['catraca-transaction-id']).toBeUndefined();
    expect(reply.headers['catraca-replayed']).toBeUndefined();
  });

  it('a valid request carries no Catraca-Error, and a first answer is not marked replayed', async () => {
    const reply = await authorize(rt, { ...body, id: 'diag-1' });
    expect(reply.body).toBe('{"code":"00"}');
    expect(reply.headers['catraca-error']).toBeUndefined();
    expect(reply.headers['catraca-reason']).toBe('approved');
    expect(reply.headers['catraca-transaction-id']).toBe('diag-1');
    expect(reply.headers['catraca-replayed']).toBeUndefined();
  });
});

describe('replays and log lines', () => {
  it('a replay is marked; each answer logs one debug line with its outcome and no card data', async () => {
    lines.length = 0;
    await authorize(rt, { ...body, id: 'diag-2' });
    const again = await authorize(rt, { ...body, id: 'diag-2' });
    expect(again.body).toBe('{"code":"00"}');
    expect(again.headers['catraca-replayed']).toBe('true');
    expect(again.headers['catraca-transaction-id']).toBe('diag-2');
    await authorize(rt, { ...body, mcc: 'x' });
    const answers = lines.filter((l) => l.msg === 'authorization' || l.msg === 'invalid authorization request');
    expect(answers).toEqual([
      expect.objectContaining({ msg: 'authorization', account: 'acc-1', transaction: 'diag-2', code: '00', reason: 'approved', replayed: false }),
      expect.objectContaining({ msg: 'authorization', account: 'acc-1', transaction: 'diag-2', code: '00', reason: 'approved', replayed: true }),
      expect.objectContaining({ msg: 'invalid authorization request', reason: 'invalid_request', error: 'mcc: mcc must be exactly 4 digits' }),
    ]);
    expect(JSON.stringify(answers)).not.toContain('PADARIA');
  });
});
