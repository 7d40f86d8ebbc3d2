import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { Config } from '../config.js';

export type ServerConfig = Pick<
  Config,
  | 'DEADLINE_MS'
  | 'BODY_LIMIT_BYTES'
  | 'REQUEST_TIMEOUT_MS'
  | 'KEEP_ALIVE_TIMEOUT_MS'
  | 'MAX_CONNECTIONS'
  | 'TLS_CERT_FILE'
  | 'TLS_KEY_FILE'
  | 'TLS_CLIENT_CA_FILE'
>;

/** Largest request head (request line and headers) accepted; Node answers 431 above it. */
const MAX_HEADER_BYTES = 16 * 1024;
const MAX_HEADERS_COUNT = 64;

/**
 * How long a client has to send a whole request (head and body): 25 deadlines, at least 2 s and at most 10 s. A
 * purchase's budget starts when its body is in, so a client that trickles a body (or its headers) must not hold a
 * connection for minutes: past this, Node answers 408 and closes the connection.
 */
export function requestTimeoutMs(config: Pick<Config, 'DEADLINE_MS' | 'REQUEST_TIMEOUT_MS'>): number {
  return config.REQUEST_TIMEOUT_MS ?? Math.min(10_000, Math.max(2_000, 25 * config.DEADLINE_MS));
}

/**
 * The listener: HTTP, or HTTPS when `TLS_CERT_FILE`/`TLS_KEY_FILE` are set (mutual TLS with `TLS_CLIENT_CA_FILE`: a
 * client without a certificate signed by that CA is refused during the handshake). Every limit that protects the
 * process from slow or greedy clients is set here: request and header timeouts (408), the idle keep-alive timeout, a
 * header size and count limit (431), and a connection cap (connections beyond it are closed at once).
 */
export function createServer(config: ServerConfig, handler: http.RequestListener): http.Server {
  const timeoutMs = requestTimeoutMs(config);
  const options: http.ServerOptions = {
    requestTimeout: timeoutMs,
    headersTimeout: timeoutMs,
    keepAliveTimeout: config.KEEP_ALIVE_TIMEOUT_MS,
    // Node checks the two timeouts above on this interval (30 s by default, which let a stalled body live ~5 minutes).
    connectionsCheckingInterval: Math.max(100, Math.min(1_000, Math.floor(timeoutMs / 4))),
    maxHeaderSize: MAX_HEADER_BYTES,
  };
  let server: http.Server;
  if (config.TLS_CERT_FILE !== undefined && config.TLS_KEY_FILE !== undefined) {
    const mutual = config.TLS_CLIENT_CA_FILE !== undefined;
    server = https.createServer(
      {
        ...options,
        cert: readFileSync(config.TLS_CERT_FILE),
        key: readFileSync(config.TLS_KEY_FILE),
        minVersion: 'TLSv1.2',
        ...(mutual ? { ca: readFileSync(config.TLS_CLIENT_CA_FILE!), requestCert: true, rejectUnauthorized: true } : {}),
      },
      handler,
    );
  } else {
    server = http.createServer(options, handler);
  }
  // `Expect: 100-continue` (curl sends it for large bodies): a body that cannot fit is refused before it is sent,
  // instead of inviting the client to upload it.
  server.on('checkContinue', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const length = Number(req.headers['content-length']);
    if (Number.isFinite(length) && length > config.BODY_LIMIT_BYTES) {
      res.writeHead(413, { 'Content-Type': 'application/json', Connection: 'close' });
      res.end(JSON.stringify({ error: 'request_error', message: 'request body too large' }));
      return;
    }
    res.writeContinue();
    handler(req, res);
  });
  server.maxHeadersCount = MAX_HEADERS_COUNT;
  server.maxConnections = config.MAX_CONNECTIONS;
  return server;
}
