// The two nginx configurations in front of the replicas (deploy/nginx/catraca.conf for compose, the Kubernetes
// gateway's deploy/base/gateway/nginx.conf), run by a real nginx against stand-in replicas on loopback: one that
// answers, one that accepts connections and never answers (frozen), and a closed port (gone). An authorization that
// no replica answers in time gets the contract's answer from nginx: HTTP 200 {"code":"07"}, Catraca-Reason:
// unavailable. Admin routes keep their HTTP meaning. The timeouts are tied to the service deadline (DEADLINE_MS).
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../test-support/ports.js';
import { readDocs } from './deploy/kustomize.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const NGINX = process.env['CATRACA_NGINX_BIN'] ?? '/usr/sbin/nginx';
const CONFIGS = {
  compose: path.join(root, 'deploy/nginx/catraca.conf'),
  kubernetes: path.join(root, 'deploy/base/gateway/nginx.conf'),
};
const deadlineMs = Number(readDocs(path.join(root, 'deploy/base/configmap.yaml'))[0]!['data']['DEADLINE_MS']);

/** Milliseconds of an nginx time value (`85ms`, `3s`). */
function ms(value: string): number {
  const match = /^(\d+)(ms|s)$/.exec(value);
  if (!match) throw new Error(`unexpected nginx time ${value}`);
  return Number(match[1]) * (match[2] === 's' ? 1_000 : 1);
}

/** The directives of the `location` block whose header matches `pattern`. */
function location(conf: string, pattern: RegExp): Map<string, string> {
  const start = conf.search(pattern);
  expect(start, String(pattern)).toBeGreaterThanOrEqual(0);
  const block = conf.slice(start, conf.indexOf('\n    }', start));
  return new Map([...block.matchAll(/^\s+(proxy_\w+|error_page)\s+([^;]+);/gm)].map((m) => [m[1]!, m[2]!]));
}

describe.each(Object.entries(CONFIGS))('%s nginx: timeouts tied to the deadline', (_name, file) => {
  const conf = readFileSync(file, 'utf8');
  it('authorizations: a replica has DEADLINE_MS to answer, the point of sale gets an answer within ~100 ms', () => {
    const auth = location(conf, /location ~ \^\/\(transactions\|reversals\)\$/);
    const connect = ms(auth.get('proxy_connect_timeout')!);
    const read = ms(auth.get('proxy_read_timeout')!);
    expect(read).toBeGreaterThan(deadlineMs);
    expect(connect + read).toBeLessThanOrEqual(100);
    expect(ms(auth.get('proxy_send_timeout')!)).toBeLessThanOrEqual(read);
    expect(auth.get('error_page')).toBe('502 504 = @catraca_unavailable');
    // Never re-send a request that reached a replica.
    expect(auth.get('proxy_next_upstream')).toBe('error timeout');
    expect(conf).toMatch(
      /location @catraca_unavailable \{[^}]*add_header Catraca-Reason \$catraca_gateway_reason always;[^}]*return 200 '\{"code":"07"\}';/,
    );
  });
});

/** Stand-in replicas: `ok` answers every request, `frozen` accepts and never answers, `gone` is a closed port. */
interface Upstreams {
  ok: number;
  frozen: number;
  gone: number;
  close(): Promise<void>;
}

async function startUpstreams(): Promise<Upstreams> {
  const ok: HttpServer = createHttpServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.setHeader('Content-Type', 'application/json');
      res.setHeader('Catraca-Reason', 'approved');
      res.end('{"code":"00"}');
    });
  });
  const held = new Set<Socket>();
  const frozen: Server = createServer((socket) => {
    held.add(socket);
    socket.on('error', () => {});
  });
  const listen = (server: Server | HttpServer) =>
    new Promise<number>((resolve) =>
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        resolve(typeof address === 'object' && address ? address.port : 0);
      }),
    );
  const ports = { ok: await listen(ok), frozen: await listen(frozen), gone: await freePort() };
  return {
    ...ports,
    async close() {
      for (const socket of held) socket.destroy();
      ok.closeAllConnections();
      await Promise.all([new Promise((r) => ok.close(r)), new Promise((r) => frozen.close(r))]);
    },
  };
}

/**
 * The run checks behaviour (which answer, which reason), not time: on a loaded machine a stand-in that answers may
 * take longer than 85 ms, so the millisecond timeouts are stretched tenfold (their values are checked above).
 */
const STRETCH = 10;

/** Runs nginx with `conf`'s upstream servers replaced by `upstreams` (loopback ports). */
async function runNginx(conf: string, upstreams: readonly number[]): Promise<{ url: string; stop(): Promise<void> }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'catraca-gateway-'));
  chmodSync(dir, 0o777);
  const port = await freePort();
  const servers = upstreams.map((p) => `    server 127.0.0.1:${p} max_fails=0;`).join('\n');
  const site = conf
    .replace(/(proxy_\w+_timeout\s+)(\d+)ms;/g, (_m, directive: string, value: string) => `${directive}${Number(value) * STRETCH}ms;`)
    .replace(/upstream catraca_authorizers \{[^}]*\}/, `upstream catraca_authorizers {\n${servers}\n    keepalive 8;\n}`)
    .replace(/listen 8080;/, `listen 127.0.0.1:${port};`);
  writeFileSync(path.join(dir, 'site.conf'), site);
  writeFileSync(
    path.join(dir, 'nginx.conf'),
    `${process.getuid?.() === 0 ? 'user nobody nogroup;\n' : ''}worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  include ${dir}/site.conf;
}
`,
  );
  const child: ChildProcess = spawn(NGINX, ['-p', dir, '-c', path.join(dir, 'nginx.conf'), '-g', 'daemon off;'], {
    stdio: 'ignore',
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    const up = await fetch(`${url}/nginx-health`).then((r) => r.ok, () => false);
    if (up) break;
    if (child.exitCode !== null) throw new Error(`nginx exited: ${readFileSync(path.join(dir, 'error.log'), 'utf8')}`);
    await sleep(50);
  }
  return {
    url,
    async stop() {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function post(url: string, route: string): Promise<{ status: number; body: string; reason: string | null }> {
  const reply = await fetch(`${url}${route}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ id: 'tx-1', account: 'acc-1', totalAmount: '1.00', mcc: '5411', merchant: 'SHOP' }),
    signal: AbortSignal.timeout(10_000),
  });
  return { status: reply.status, body: await reply.text(), reason: reply.headers.get('catraca-reason') };
}

const nginxInstalled = existsSync(NGINX);
if (!nginxInstalled) console.log(`SKIP gateway runs: ${NGINX} not installed`);

describe.skipIf(!nginxInstalled).each(Object.entries(CONFIGS))('%s nginx, run against stand-in replicas', (_name, file) => {
  const conf = readFileSync(file, 'utf8');
  let upstreams: Upstreams;
  beforeAll(async () => {
    upstreams = await startUpstreams();
  });
  afterAll(async () => {
    await upstreams?.close();
  });

  it('passes a replica’s answer through', async () => {
    const nginx = await runNginx(conf, [upstreams.ok]);
    try {
      expect(await post(nginx.url, '/transactions')).toEqual({ status: 200, body: '{"code":"00"}', reason: 'approved' });
    } finally {
      await nginx.stop();
    }
  });

  it('answers 200 {"code":"07"} when no replica answers: unavailable if none got the request, outcome_unknown if one did; admin routes keep 502/504', async () => {
    const cases = [
      { dead: [upstreams.gone], reason: 'unavailable' },
      { dead: [upstreams.frozen], reason: 'outcome_unknown' },
      { dead: [upstreams.gone, upstreams.frozen], reason: 'outcome_unknown' },
    ];
    for (const { dead, reason } of cases) {
      const nginx = await runNginx(conf, dead);
      try {
        for (const route of ['/transactions', '/reversals']) {
          expect(await post(nginx.url, route), `${route} -> ${dead.join(',')}`).toEqual({
            status: 200,
            body: '{"code":"07"}',
            reason,
          });
        }
        expect([502, 504]).toContain((await post(nginx.url, '/accounts')).status);
      } finally {
        await nginx.stop();
      }
    }
  }, 60_000);

  it('skips a gone replica for one that answers', async () => {
    const nginx = await runNginx(conf, [upstreams.gone, upstreams.ok]);
    try {
      for (let i = 0; i < 4; i++) expect((await post(nginx.url, '/transactions')).body).toBe('{"code":"00"}');
    } finally {
      await nginx.stop();
    }
  });
});
