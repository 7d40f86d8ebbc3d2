import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const main = fileURLToPath(new URL('../dist/main.js', import.meta.url));

/** The real CLI (`dist/main.js`, built by `tsc -b`), on a real socket, on an ephemeral port. */
async function startServer(dataDir: string): Promise<{ child: ChildProcess; base: string }> {
  const child = spawn(process.execPath, [main], {
    env: { ...process.env, DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'info', HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const base = await new Promise<string>((resolve, reject) => {
    let buffered = '';
    const timer = setTimeout(() => reject(new Error(`server did not start: ${stderr}`)), 20_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const match = /"url":"(http:\/\/[^"]+)"/.exec(buffered);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code}: ${stderr}`)));
  });
  return { child, base };
}

describe('end to end through a real socket', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'catraca-e2e-'));
  const dispatcher = new Agent({ connections: 50, pipelining: 1 });
  let server: { child: ChildProcess; base: string };

  async function post(url: string, body: unknown) {
    const response = await request(`${server.base}${url}`, {
      method: 'POST',
      body: JSON.stringify(body),
      headers: { 'content-type': 'application/json' },
      dispatcher,
    });
    return { status: response.statusCode, headers: response.headers, text: await response.body.text() };
  }

  beforeAll(async () => {
    server = await startServer(dir);
  });
  afterAll(async () => {
    await dispatcher.close();
    server?.child.kill('SIGTERM');
    await new Promise((resolve) => server?.child.once('exit', resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  it('lets exactly floor(balance/amount) of 200 concurrent purchases through, applies replays once, refuses conflicts', async () => {
    // CASH 100.00, each purchase 7.00 on a CASH MCC: floor(10000 / 700) = 14 approvals.
    expect((await post('/accounts', { id: 'hot', balances: { CASH: '100.00' } })).status).toBe(201);
    const ids = Array.from({ length: 200 }, (_, i) => `e2e-${i}`);
    const body = (id: string) => ({ id, account: 'hot', totalAmount: '7.00', mcc: '5999', merchant: 'LOJA' });

    const first = await Promise.all(ids.map((id) => post('/transactions', body(id))));
    expect(first.every((r) => r.status === 200)).toBe(true);
    const codes = first.map((r) => JSON.parse(r.text).code as string);
    expect(codes.filter((c) => c === '00')).toHaveLength(14);
    expect(codes.filter((c) => c === '51')).toHaveLength(186);

    const balances = async () => {
      const response = await request(`${server.base}/accounts/hot`, { dispatcher });
      return (await response.body.json()) as { balances: Record<string, string>; version: number };
    };
    expect((await balances()).balances).toEqual({ FOOD: '0.00', MEAL: '0.00', CASH: '2.00' });

    const replay = await Promise.all(ids.map((id) => post('/transactions', body(id))));
    expect(replay.map((r) => JSON.parse(r.text).code)).toEqual(codes);
    const after = await balances();
    expect(after.balances.CASH).toBe('2.00');
    expect(after.version).toBe(200);

    const conflict = await post('/transactions', { ...body(ids[0]!), totalAmount: '1.00' });
    expect(conflict.text).toBe('{"code":"07"}');
    expect(conflict.headers['catraca-reason']).toBe('id_conflict');
    expect((await balances()).version).toBe(200);

    // The ledger: 100.00 opening - 14 x 7.00 approved = 2.00, and every approved id appears exactly once.
    let items: Array<{ id: string; code: string; amount: string }> = [];
    let cursor: string | undefined;
    do {
      const response = await request(
        `${server.base}/accounts/hot/transactions?limit=500${cursor ? `&cursor=${cursor}` : ''}`,
        { dispatcher },
      );
      const page = (await response.body.json()) as { items: typeof items; nextCursor?: string };
      items = items.concat(page.items);
      cursor = page.nextCursor;
    } while (cursor);
    expect(items).toHaveLength(200);
    expect(new Set(items.map((t) => t.id)).size).toBe(200);
    expect(items.filter((t) => t.code === '00')).toHaveLength(14);
  });

  it('stops gracefully on SIGTERM', async () => {
    const other = await startServer(mkdtempSync(path.join(tmpdir(), 'catraca-e2e-')));
    other.child.kill('SIGTERM');
    const code = await new Promise((resolve) => other.child.once('exit', resolve));
    expect(code).toBe(0);
  });
});
