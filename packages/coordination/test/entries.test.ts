import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { beforeAll, expect, test } from 'vitest';

// Each backend has its own entry so that a process loads only the client it uses: the package's promise to a team
// that uses ZooKeeper and not Redis (or the other way round). Checked on the built package, in a fresh process.

const packageDir = fileURLToPath(new URL('..', import.meta.url));
const trace = fileURLToPath(new URL('./fixtures/trace-imports.mjs', import.meta.url));

beforeAll(() => {
  execFileSync('npx', ['tsc', '-b', packageDir], { stdio: 'pipe' });
}, 120_000);

/** Imports `dist/<entry>` in a fresh process: the third-party packages it resolved (bare specifiers) and its exports. */
function load(entry: string): { packages: string[]; names: string[] } {
  const url = new URL(`../dist/${entry}`, import.meta.url).href;
  const child = spawnSync(
    process.execPath,
    ['--import', trace, '--input-type=module', '-e', 'console.log(JSON.stringify(Object.keys(await import(process.argv[1]))))', url],
    { encoding: 'utf8' },
  );
  if (child.status !== 0) throw new Error(`importing ${entry} failed: ${child.stderr}`);
  const packages = child.stderr
    .split('\n')
    .filter((line) => line.startsWith('import '))
    .map((line) => line.slice('import '.length).split('/')[0]!);
  return { packages: [...new Set(packages)].sort(), names: JSON.parse(child.stdout) as string[] };
}

test('the root entry loads no backend client and exports the shared API and the in-process manager', () => {
  expect(load('index.js').packages).toEqual([]);
  const { names } = load('index.js');
  expect(names).toContain('LocalLockManager');
  expect(names).toContain('LockTimeoutError');
  expect(names).not.toContain('ZooKeeperLockManager');
  expect(names).not.toContain('RedisLockManager');
});

test('@catraca/coordination/zookeeper loads node-zookeeper-client and never ioredis', () => {
  expect(load('zookeeper/index.js').packages).toEqual(['node-zookeeper-client']);
  expect(load('zookeeper/index.js').names).toContain('ZooKeeperLockManager');
});

test('@catraca/coordination/redis loads ioredis and never node-zookeeper-client', () => {
  expect(load('redis/index.js').packages).toEqual(['ioredis']);
  expect(load('redis/index.js').names).toContain('RedisLockManager');
});

test('@catraca/coordination/local loads nothing', () => {
  expect(load('local.js').packages).toEqual([]);
  expect(load('local.js').names).toEqual(['LocalLockManager']);
});
