import { execFile, execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startZooKeeper, type ZooKeeperCluster } from '../../../test-support/zookeeper.js';

const run = promisify(execFile);
const packageDir = fileURLToPath(new URL('..', import.meta.url));
const worker = fileURLToPath(new URL('./fixtures/counter-worker.mjs', import.meta.url));

let zk: ZooKeeperCluster;
let dir: string;

beforeAll(async () => {
  // Workers import the built package (no TypeScript loader in a child process).
  execFileSync('npx', ['tsc', '-b', packageDir], { stdio: 'pipe' });
  zk = await startZooKeeper();
  dir = await mkdtemp(join(tmpdir(), 'catraca-counter-'));
});

afterAll(async () => {
  await zk?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

interface Section {
  token: string;
  enter: number;
  exit: number;
}

test('mutual exclusion across OS processes: exact count, no overlapping holders, tokens in holder order', async () => {
  const counter = join(dir, 'counter');
  await writeFile(counter, '0');
  const workers = 4;
  const iterations = 40;
  const outputs = await Promise.all(
    Array.from({ length: workers }, () =>
      run(process.execPath, [worker, zk.connectionString, counter, String(iterations)], { timeout: 120_000 }),
    ),
  );
  const sections: Section[] = outputs.flatMap(({ stdout }) => JSON.parse(stdout.trim()) as Section[]);
  expect(Number(await readFile(counter, 'utf8'))).toBe(workers * iterations);
  expect(sections).toHaveLength(workers * iterations);

  const byToken = [...sections].sort((a, b) => (BigInt(a.token) < BigInt(b.token) ? -1 : 1));
  for (let i = 1; i < byToken.length; i++) {
    const previous = byToken[i - 1]!;
    const current = byToken[i]!;
    expect(BigInt(current.token) > BigInt(previous.token)).toBe(true);
    // The next holder entered only after the previous one left.
    expect(current.enter).toBeGreaterThanOrEqual(previous.exit);
  }
}, 180_000);
