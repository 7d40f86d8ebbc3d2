/**
 * `pnpm bench:embedded`: embedded mode (SQLite, durable commits) driven by a keep-alive closed-loop load generator
 * with unique ids: (a) 1,000 accounts uniformly, (b) one hot account. Prints the figures and writes them to
 * bench/results/ with the machine description.
 *
 * Options (environment): BENCH_DURATION_S (default 15), BENCH_WARMUP_S (3), BENCH_CLIENTS (20).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { TABLE_HEADER, closedLoop, formatRow, type RunResult } from './load.js';
import { describeMachine } from './machine.js';
import { startAuthorizer } from './server.js';

const durationMs = Number(process.env['BENCH_DURATION_S'] ?? 15) * 1000;
const warmupMs = Number(process.env['BENCH_WARMUP_S'] ?? 3) * 1000;
const clients = Number(process.env['BENCH_CLIENTS'] ?? 20);
const ACCOUNTS = 1_000;

async function createAccount(base: string, id: string, cash: string): Promise<void> {
  const response = await request(`${base}/accounts`, {
    method: 'POST',
    body: JSON.stringify({ id, balances: { FOOD: cash, MEAL: cash, CASH: cash } }),
    headers: { 'content-type': 'application/json' },
  });
  await response.body.text();
  if (response.statusCode !== 201) throw new Error(`create ${id}: HTTP ${response.statusCode}`);
}

async function main(): Promise<void> {
  const machine = describeMachine();
  const dataDir = mkdtempSync(path.join(tmpdir(), 'catraca-bench-'));
  const server = await startAuthorizer({ DATA_DIR: dataDir, LOG_LEVEL: 'info', SQLITE_DURABILITY: process.env['BENCH_DURABILITY'] ?? 'full' });
  const results: RunResult[] = [];
  try {
    for (let i = 0; i < ACCOUNTS; i++) await createAccount(server.base, `u-${i}`, '1000000.00');
    await createAccount(server.base, 'hot', '1000000.00');
    const run = Date.now().toString(36);
    const merchants = ['PADARIA DO ZE', 'RESTAURANTE SABOR', 'UBER EATS SAO PAULO BR', 'FARMACIA CENTRAL'];
    const mccs = ['5411', '5811', '5999', '5912'];
    const body = (account: string, client: number, sequence: number) =>
      JSON.stringify({
        id: `${run}-${account}-${client}-${sequence}`,
        account,
        totalAmount: '1.00',
        mcc: mccs[sequence % mccs.length],
        merchant: merchants[(client + sequence) % merchants.length],
      });

    process.stdout.write(`embedded mode, durable commits (SQLite synchronous=FULL), ${clients} clients\n`);
    results.push(
      await closedLoop('(a) 1,000 accounts, uniform', { base: server.base, connections: clients }, {
        clients,
        durationMs,
        warmupMs,
        next: (client, sequence) => body(`u-${Math.floor(Math.random() * ACCOUNTS)}`, client, sequence),
      }),
    );
    process.stdout.write(`${formatRow(results.at(-1)!)}\n`);
    results.push(
      await closedLoop('(b) one hot account', { base: server.base, connections: clients }, {
        clients,
        durationMs,
        warmupMs,
        next: (client, sequence) => body('hot', client, sequence),
      }),
    );
    process.stdout.write(`${formatRow(results.at(-1)!)}\n`);
  } finally {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }

  const date = new Date().toISOString();
  const report = [
    `# bench:embedded — ${date}`,
    '',
    `Machine: ${machine}`,
    '',
    `Embedded mode (SQLite WAL, synchronous=FULL: durable commits), ${clients} keep-alive closed-loop clients, unique ids,`,
    `amount 1.00; ${warmupMs / 1000} s warm-up then ${durationMs / 1000} s measured per scenario. Reproduce: \`pnpm bench:embedded\`.`,
    '',
    TABLE_HEADER,
    ...results.map(formatRow),
    '',
  ].join('\n');
  process.stdout.write(`\n${report}`);
  const dir = fileURLToPath(new URL('../results/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `embedded-${date.slice(0, 10)}.md`);
  writeFileSync(file, report);
  process.stdout.write(`\nwritten to ${path.relative(process.cwd(), file)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:embedded failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exitCode = 1;
});
