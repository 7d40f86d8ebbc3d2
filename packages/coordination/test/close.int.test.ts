import { execFileSync, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { FaultProxy } from '../../../test-support/fault-proxy.js';
import { startSilentHost, type SilentHost } from '../../../test-support/silent-host.js';
import { startZooKeeper, type ZooKeeperCluster } from '../../../test-support/zookeeper.js';

// close() must let the process exit by itself: in the same tick as the constructor, before the first handshake, and
// during an outage. Each case runs in its own OS process; the bound below is a generous "did it exit at all", far
// longer than a prompt exit and far shorter than the client's own 60 s connect timer that used to keep it alive.

const packageDir = fileURLToPath(new URL('..', import.meta.url));
const worker = fileURLToPath(new URL('./fixtures/close-worker.mjs', import.meta.url));
const EXIT_BOUND_MS = 20_000;

let zk: ZooKeeperCluster;
let silent: SilentHost;
const proxies: FaultProxy[] = [];

beforeAll(async () => {
  execFileSync('npx', ['tsc', '-b', packageDir], { stdio: 'pipe' }); // the worker imports the built package
  zk = await startZooKeeper();
  silent = await startSilentHost(); // like a host that is down: connection attempts hang
});

afterAll(async () => {
  await Promise.allSettled(proxies.map((p) => p.close()));
  silent?.stop();
  await zk?.stop();
});

async function blackholedProxy(): Promise<FaultProxy> {
  const proxy = await FaultProxy.start({ port: zk.servers[0]!.clientPort });
  proxies.push(proxy);
  return proxy;
}

interface Outcome {
  exited: boolean;
  code: number | null;
  stdout: string;
}

/**
 * Runs the worker; `onLine` sees each stdout line (and may write to its stdin). Kills it when it has not exited
 * EXIT_BOUND_MS after the last line it printed.
 */
function run(mode: string, connectionString: string, onLine?: (line: string, stdin: NodeJS.WritableStream) => void): Promise<Outcome> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [worker, mode, connectionString], { stdio: ['pipe', 'pipe', 'inherit'] });
    let stdout = '';
    let exited = true;
    const kill = (): void => {
      exited = false;
      child.kill('SIGKILL');
    };
    // Before its first line a worker may still be connecting (a 60 s session: up to T/3 on a host that is down).
    let timer = setTimeout(kill, 3 * EXIT_BOUND_MS);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      clearTimeout(timer);
      timer = setTimeout(kill, EXIT_BOUND_MS);
      for (const line of chunk.split('\n').filter(Boolean)) onLine?.(line, child.stdin);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ exited, code, stdout });
    });
  });
}

test('close() in the same tick as the constructor resolves and the process exits (server up)', async () => {
  const outcome = await run('same-tick', zk.connectionString);
  expect(outcome.stdout).toBe('closed\n');
  expect(outcome).toMatchObject({ exited: true, code: 0 });
}, 60_000);

test('close() in the same tick as the constructor, server not answering: resolves and the process exits', async () => {
  const proxy = await blackholedProxy();
  proxy.setMode('blackhole');
  const outcome = await run('same-tick', proxy.address);
  expect(outcome.stdout).toBe('closed\n');
  expect(outcome).toMatchObject({ exited: true, code: 0 });
}, 60_000);

test('close() before the first handshake (server accepts TCP, never answers): the process exits', async () => {
  const proxy = await blackholedProxy();
  proxy.setMode('blackhole');
  const outcome = await run('before-handshake', proxy.address);
  expect(outcome.stdout).toBe('closed\n');
  expect(outcome).toMatchObject({ exited: true, code: 0 });
}, 60_000);

test('close() before the first handshake (host down: the connection attempt hangs): the process exits', async () => {
  const outcome = await run('before-handshake', silent.address);
  expect(outcome.stdout).toBe('closed\n');
  expect(outcome).toMatchObject({ exited: true, code: 0 });
}, 60_000);

test('close() during an outage (connected, then the server gone and the other member down): the process exits', async () => {
  const proxy = await blackholedProxy();
  // The client can only connect through the proxy; the second member is a host that is down.
  const outcome = await run('outage', `${proxy.address},${silent.address}`, (line, stdin) => {
    if (line !== 'connected') return;
    void proxy.close(); // refused from now on: the client's reconnect loop moves on to the host that is down
    setTimeout(() => stdin.write('close\n'), 1_000);
  });
  expect(outcome.stdout).toBe('connected\nclosed\n');
  expect(outcome).toMatchObject({ exited: true, code: 0 });
}, 150_000);
