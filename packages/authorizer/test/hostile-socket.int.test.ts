/**
 * The hostile-client cases that need a real socket (issue 11): slow headers and stalled bodies are cut off with 408, a
 * too-large body is answered 413 at once, connections are capped, and the listener speaks TLS (and mutual TLS) when
 * configured, with certificates made by openssl at test time.
 */
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import fs, { mkdtempSync, rmSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import type http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from '../src/http/server.js';
import { embeddedRuntime } from './helpers.js';

type R = Awaited<ReturnType<typeof embeddedRuntime>>;

async function listen(server: http.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as net.AddressInfo).port;
}

/** Writes `text` on a fresh connection and collects what comes back until the server closes it (bounded). */
function exchange(port: number, text: string, boundMs = 25_000): Promise<{ reply: string; closedByServer: boolean }> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(text));
    let reply = '';
    const bound = setTimeout(() => {
      socket.destroy();
      resolve({ reply, closedByServer: false });
    }, boundMs);
    socket.on('data', (chunk) => (reply += chunk.toString('latin1')));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(bound);
      resolve({ reply, closedByServer: true });
    });
  });
}

describe('hostile (socket): slow and oversized requests', () => {
  let rt: R;
  let server: http.Server;
  let port: number;
  beforeAll(async () => {
    rt = await embeddedRuntime({ REQUEST_TIMEOUT_MS: '1000', MAX_CONNECTIONS: '200' });
    server = createServer(rt.config, rt.app.callback());
    port = await listen(server);
  });
  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    await rt?.dispose();
  });

  const head = (length: number, extra = '') =>
    `POST /transactions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n${extra}\r\n`;

  it('a stalled body is cut off with 408 and the connection closed (the bound is generous; no timing assertion)', async () => {
    const { reply, closedByServer } = await exchange(port, `${head(200)}{"id":"slow","acc`);
    expect(closedByServer).toBe(true);
    expect(reply).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('slow headers are cut off with 408', async () => {
    const { reply, closedByServer } = await exchange(port, 'POST /transactions HTTP/1.1\r\nHost: localhost\r\nX-Slow: ');
    expect(closedByServer).toBe(true);
    expect(reply).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('a request head over 16 KiB is refused with 431', async () => {
    const { reply } = await exchange(port, `GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, 20_000);
    expect(reply).toMatch(/^HTTP\/1\.1 431 /);
  });

  it('a Content-Length over the limit is answered 413 at once, without the body', async () => {
    const { reply } = await exchange(port, head(100_000_000), 20_000);
    expect(reply).toMatch(/^HTTP\/1\.1 413 /);
  });

  it('Expect: 100-continue with a too-large body is refused before the upload (413, not 100 Continue)', async () => {
    const { reply } = await exchange(port, head(100_000_000, 'Expect: 100-continue\r\n'), 20_000);
    expect(reply).toMatch(/^HTTP\/1\.1 413 /);
    expect(reply).not.toContain('100 Continue');
  });

  it('Expect: 100-continue with a body that fits is served', async () => {
    const body = '{"id":"cont","account":"nobody","totalAmount":"1.00","mcc":"5999","merchant":"LOJA"}';
    const socket = net.connect(port, '127.0.0.1');
    const reply = await new Promise<string>((resolve) => {
      let text = '';
      socket.on('data', (chunk) => {
        text += chunk.toString();
        if (text.includes('100 Continue') && !text.includes('sent')) {
          socket.write(body);
          text += '(sent)';
        }
        if (text.includes('"code"')) resolve(text);
      });
      socket.write(head(Buffer.byteLength(body), 'Expect: 100-continue\r\n'));
    });
    socket.destroy();
    expect(reply).toContain('HTTP/1.1 100 Continue');
    expect(reply).toContain('{"code":"07"}');
  });
});

describe('hostile (socket): connection cap', () => {
  it('connections beyond MAX_CONNECTIONS are closed at once; the ones inside are served', async () => {
    const rt = await embeddedRuntime({ MAX_CONNECTIONS: '2' });
    const server = createServer(rt.config, rt.app.callback());
    const port = await listen(server);
    const held: net.Socket[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        const socket = net.connect(port, '127.0.0.1');
        await new Promise((resolve) => socket.once('connect', resolve));
        held.push(socket);
      }
      // Node counts a connection once it has accepted it: wait until it has accepted the two first ones.
      const count = () => new Promise<number>((resolve) => server.getConnections((_e, n) => resolve(n)));
      while ((await count()) < 2) await new Promise((resolve) => setTimeout(resolve, 20));
      const extra = await exchange(port, 'GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n', 20_000);
      expect(extra.closedByServer).toBe(true);
      expect(extra.reply).toBe('');
      const served = await new Promise<string>((resolve) => {
        held[0]!.on('data', (chunk) => resolve(chunk.toString()));
        held[0]!.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n');
      });
      expect(served).toMatch(/^HTTP\/1\.1 200 /);
    } finally {
      for (const socket of held) socket.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await rt.dispose();
    }
  });
});

describe('hostile (socket): TLS and mutual TLS on the listener', () => {
  let dir: string;
  const file = (name: string) => path.join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'catraca-tls-'));
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=catraca-test-ca',
      '-keyout', file('ca.key'), '-out', file('ca.crt'));
    const leaf = (name: string, cn: string, san: string) => {
      openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${cn}`, '-keyout', file(`${name}.key`), '-out', file(`${name}.csr`));
      fs.writeFileSync(file(`${name}.ext`), san);
      openssl('x509', '-req', '-in', file(`${name}.csr`), '-CA', file('ca.crt'), '-CAkey', file('ca.key'), '-CAcreateserial',
        '-days', '1', '-out', file(`${name}.crt`), '-extfile', file(`${name}.ext`));
    };
    leaf('server', 'localhost', 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
    leaf('client', 'pos-1', 'extendedKeyUsage=clientAuth\n');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function get(port: number, options: https.RequestOptions): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const request = https.request({ host: '127.0.0.1', port, path: '/healthz', servername: 'localhost', ...options }, (response) => {
        let body = '';
        response.on('data', (chunk) => (body += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      });
      request.on('error', reject);
      request.end();
    });
  }

  it('serves HTTPS with TLS_CERT_FILE/TLS_KEY_FILE, and refuses plain HTTP on that port', async () => {
    const rt = await embeddedRuntime({ TLS_CERT_FILE: file('server.crt'), TLS_KEY_FILE: file('server.key') });
    const server = createServer(rt.config, rt.app.callback());
    const port = await listen(server);
    try {
      const ca = fs.readFileSync(file('ca.crt'));
      expect(await get(port, { ca, headers: { host: 'localhost' } })).toMatchObject({ status: 200 });
      const plain = await exchange(port, 'GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n', 20_000);
      expect(plain.reply).not.toMatch(/^HTTP\/1\.1 200/);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await rt.dispose();
    }
  });

  it('with TLS_CLIENT_CA_FILE, a client without a certificate from that CA is refused in the handshake', async () => {
    const rt = await embeddedRuntime({
      TLS_CERT_FILE: file('server.crt'),
      TLS_KEY_FILE: file('server.key'),
      TLS_CLIENT_CA_FILE: file('ca.crt'),
    });
    const server = createServer(rt.config, rt.app.callback());
    const port = await listen(server);
    try {
      
      const ca = fs.readFileSync(file('ca.crt'));
      const withCert = await get(port, { ca, cert: fs.readFileSync(file('client.crt')), key: fs.readFileSync(file('client.key')) });
      expect(withCert.status).toBe(200);
      await expect(get(port, { ca })).rejects.toThrow();
      // A certificate the CA did not sign (the server's own key, self-signed) is refused too.
      const stranger = tls.connect({ host: '127.0.0.1', port, ca, servername: 'localhost' });
      const outcome = await new Promise<string>((resolve) => {
        stranger.on('secureConnect', () => stranger.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n'));
        stranger.on('data', (d) => resolve(`data ${d.toString().slice(0, 12)}`));
        stranger.on('error', (e) => resolve(`error ${e.message}`));
        stranger.on('close', () => resolve('closed'));
      });
      expect(outcome).not.toMatch(/^data HTTP\/1\.1 200/);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await rt.dispose();
    }
  });

  it('TLS needs both files, and mutual TLS needs TLS', async () => {
    const { loadConfig } = await import('../src/config.js');
    expect(() => loadConfig({ TLS_CERT_FILE: file('server.crt') })).toThrow(/TLS_KEY_FILE/);
    expect(() => loadConfig({ TLS_CLIENT_CA_FILE: file('ca.crt') })).toThrow(/TLS_CERT_FILE/);
  });
});

describe('README: the request-signing example (curl + openssl) works as written', () => {
  it('signs, is served, and its replay is refused', async () => {
    const readme = fs.readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
    const block = /<!-- signing-example -->\s*```sh\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(block).toBeDefined();
    const secret = /SECRET='([^']+)'/.exec(block!)![1]!;
    const rt = await embeddedRuntime({ REQUEST_SIGNING_SECRETS: secret });
    const server = createServer(rt.config, rt.app.callback());
    const port = await listen(server);
    try {
      const { signRequest } = await import('../src/http/request-signing.js');
      const account = JSON.stringify({ id: 'acc-1', balances: { CASH: '5.00' } });
      const ts = String(Math.floor(Date.now() / 1000));
      const created = await fetch(`http://127.0.0.1:${port}/accounts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'catraca-timestamp': ts, 'catraca-signature': `v1=${signRequest(secret, ts, account)}` },
        body: account,
      });
      expect(created.status).toBe(201);
      // Asynchronous: the server answering curl runs in this very process.
      const run = async () =>
        (await promisify(execFile)('bash', ['-c', `${block!}\necho " HTTP=$(curl -s -o /dev/null -w '%{http_code}' "$CATRACA_URL/transactions" -H 'content-type: application/json' -H "Catraca-Timestamp: $TS" -H "Catraca-Signature: v1=$SIG" -d "$BODY")"`], {
          env: { ...process.env, CATRACA_URL: `http://127.0.0.1:${port}` },
          timeout: 60_000,
        })).stdout;
      const out = await run();
      // The example's own request is served; the same signed request sent again right after is a replay: 401.
      expect(out).toMatch(/^\{"code":"00"\} HTTP=401/);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await rt.dispose();
    }
  });
});
