import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { inject } from 'light-my-request';
import { pino } from 'pino';
import { loadConfig } from '../src/config.js';
import { createRuntime, type Runtime } from '../src/runtime.js';

export const silent = pino({ level: 'silent' });

/** An embedded-mode runtime on a fresh SQLite file in a temporary directory. */
export async function embeddedRuntime(env: Record<string, string> = {}): Promise<Runtime & { dispose(): Promise<void> }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'catraca-test-'));
  const runtime = await createRuntime(loadConfig({ DATA_DIR: dir, SQLITE_DURABILITY: 'normal', ...env }), silent);
  return Object.assign(runtime, {
    async dispose() {
      await runtime.close();
      rmSync(dir, { recursive: true, force: true });
    },
  });
}

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | number | undefined>;
  body: string;
  json(): any;
}

/** Drives `app.callback()` in-process, without opening a port. */
export async function call(
  runtime: Runtime,
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  url: string,
  payload?: unknown,
  headers: Record<string, string> = {},
): Promise<Reply> {
  const response = await inject(runtime.app.callback(), {
    method,
    url,
    headers: { 'content-type': 'application/json', ...headers },
    ...(payload === undefined ? {} : { payload: typeof payload === 'string' ? payload : JSON.stringify(payload) }),
  });
  return {
    status: response.statusCode,
    headers: response.headers,
    body: response.body,
    json: () => JSON.parse(response.body),
  };
}

export function authorize(runtime: Runtime, body: unknown, headers?: Record<string, string>): Promise<Reply> {
  return call(runtime, 'POST', '/transactions', body, headers);
}

export async function createAccount(runtime: Runtime, id: string, balances: Record<string, unknown>): Promise<void> {
  const reply = await call(runtime, 'POST', '/accounts', { id, balances });
  if (reply.status !== 201) throw new Error(`create account: ${reply.status} ${reply.body}`);
}

/** Per category: the sum of the ledger equals the balance (starting + credits - approved debits). */
export async function assertLedgerMatches(runtime: Runtime, accountId: string): Promise<void> {
  const account = await runtime.store.getAccount(accountId);
  const ledger = await runtime.store.listLedger(accountId);
  for (const category of ['FOOD', 'MEAL', 'CASH'] as const) {
    const sum = ledger.filter((e) => e.category === category).reduce((s, e) => s + e.delta, 0);
    if (sum !== account!.balances[category]) {
      throw new Error(`ledger ${category} sums to ${sum}, balance is ${account!.balances[category]}`);
    }
  }
}
