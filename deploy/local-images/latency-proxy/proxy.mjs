// A byte-transparent TCP proxy with an adjustable delay, for the compose chaos driver's "latency between one replica
// and the store" (this kernel has no tc netem). Listens on :5432 and forwards to $TARGET (host:port); each chunk is
// released DELAY ms after it arrived, in order. Control on :9000 (published on loopback by docker-compose.local.yml):
//   PUT /delay?ms=200    GET /delay
// Node builtins only (runs on catraca-local/node:24).
import { createServer as createHttpServer } from 'node:http';
import { createConnection, createServer } from 'node:net';

const [host, port] = (process.env.TARGET ?? 'postgres:5432').split(':');
let delayMs = 0;

function pipe(from, to) {
  const queue = [];
  let timer;
  const drain = () => {
    timer = undefined;
    const now = Date.now();
    while (queue.length > 0 && queue[0].at <= now) to.write(queue.shift().chunk);
    if (queue.length > 0) timer = setTimeout(drain, queue[0].at - now);
  };
  from.on('data', (chunk) => {
    if (delayMs === 0 && queue.length === 0) return void to.write(chunk);
    queue.push({ at: Date.now() + delayMs, chunk });
    timer ??= setTimeout(drain, delayMs);
  });
}

createServer((client) => {
  const upstream = createConnection({ host, port: Number(port) });
  const close = () => {
    client.destroy();
    upstream.destroy();
  };
  client.on('error', close).on('close', close);
  upstream.on('error', close).on('close', close);
  client.setNoDelay(true);
  upstream.setNoDelay(true);
  pipe(client, upstream);
  pipe(upstream, client);
}).listen(5432, '0.0.0.0');

createHttpServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://proxy');
  if (url.pathname === '/delay' && req.method === 'PUT') {
    const ms = Number(url.searchParams.get('ms'));
    if (!Number.isFinite(ms) || ms < 0) return void res.writeHead(400).end('ms must be >= 0\n');
    delayMs = ms;
  } else if (url.pathname !== '/delay') {
    return void res.writeHead(404).end();
  }
  res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ delayMs }) + '\n');
}).listen(9000, '0.0.0.0');
console.log(`latency proxy :5432 -> ${host}:${port}, control :9000`);
