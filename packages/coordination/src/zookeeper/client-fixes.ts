/**
 * Runtime fixes for node-zookeeper-client 1.1.3, shipped inside this package so that a consumer needs no patch step
 * (the client is a plain dependency; nothing is vendored). Each fix is small and reaches into the client's CommonJS
 * modules, which have no `exports` map; they are checked against the pinned version by the integration tests.
 *
 * - Unknown server error codes (e.g. `-125` QUOTA_EXCEEDED from a newer server) made `Exception.create` throw inside
 *   the socket data handler and crashed the process. {@link installClientFixes} replaces `Exception.create` (which the
 *   connection manager looks up at call time) so that an unknown code becomes an `Exception` named `UNKNOWN_ERROR`.
 * - `create` does not hand over the reply header's zxid (the new node's czxid: the fencing token).
 *   {@link createWithZxid} sends the same request and returns it.
 * - There is no `sync`. {@link sync} sends one: the heartbeat that goes through the leader.
 * - `close()` before the first handshake or during an outage leaves a socket and a connect timer behind (the process
 *   stays alive for seconds). {@link shutDown} destroys them, and any socket the client opens afterwards.
 */
import { createRequire } from 'node:module';
import zookeeper from 'node-zookeeper-client';
import type { ACL, Client } from 'node-zookeeper-client';

const require = createRequire(import.meta.url);

interface JuteRecord {
  path?: string;
  type?: number;
  flags?: number;
  acl?: unknown[];
  data?: Buffer;
  toBuffer?: () => Buffer;
}

interface Jute {
  OP_CODES: Record<string, number>;
  protocol: Record<string, new () => JuteRecord>;
  Request: new (header: JuteRecord | null, payload: JuteRecord | null) => JuteRecord & { toBuffer(): Buffer };
}

interface JuteResponse {
  header: { zxid?: Buffer; err: number };
  payload: { path?: string } | null;
}

interface ConnectionManager {
  state: number;
  socket?: { destroy(): void; destroyed?: boolean };
  connectTimeoutHandler?: NodeJS.Timeout;
  queue(request: unknown, callback: (error: unknown, response: JuteResponse) => void): void;
}

interface ExceptionModule {
  (this: unknown, ...args: unknown[]): void;
  create(code: number, path?: string): Error;
  prototype: Error;
  [name: string]: unknown;
}

const jute = require('node-zookeeper-client/lib/jute/index.js') as Jute;
const Exception = zookeeper.Exception as unknown as ExceptionModule;
const FIXED = Symbol.for('@catraca/coordination.client-fixes');

function connectionManager(client: Client): ConnectionManager {
  return (client as unknown as { connectionManager: ConnectionManager }).connectionManager;
}

/** Installs the process-wide fix for unknown error codes. Idempotent; runs when this module is first imported. */
export function installClientFixes(): void {
  const exceptions = Exception as unknown as Record<symbol, unknown>;
  if (exceptions[FIXED]) return;
  const known = new Set(Object.values(Exception).filter((value): value is number => typeof value === 'number'));
  const original = Exception.create;
  Exception.create = function create(code: number, path?: string): Error {
    if (typeof code !== 'number' || known.has(code)) return original(code, path);
    const error = Object.create(Exception.prototype) as Error & { code: number; path: string | undefined };
    Error.captureStackTrace(error, create);
    error.code = code;
    error.name = 'UNKNOWN_ERROR';
    error.path = path;
    error.message = `Exception: UNKNOWN_ERROR[${code}]${path ? `@${path}` : ''}`;
    return error;
  };
  exceptions[FIXED] = true;
}

installClientFixes();

/** `create` that also hands over the reply header's zxid (the node's czxid); `callback(error, path, zxid)`. */
export function createWithZxid(
  client: Client,
  path: string,
  data: Buffer | undefined,
  acl: readonly ACL[],
  mode: number,
  callback: (error: unknown, path?: string, zxid?: Buffer) => void,
): void {
  const header = new jute.protocol['RequestHeader']!();
  header.type = jute.OP_CODES['CREATE']!;
  const payload = new jute.protocol['CreateRequest']!();
  payload.path = path;
  payload.acl = acl.map((entry) => (entry as unknown as { toRecord(): unknown }).toRecord());
  payload.flags = mode;
  if (data) payload.data = Buffer.from(data);
  connectionManager(client).queue(new jute.Request(header, payload), (error, response) => {
    if (error) callback(error);
    else callback(null, response.payload?.path, response.header.zxid);
  });
}

/**
 * ZooKeeper `sync`: the server the client is connected to forwards it to the leader and answers once the leader has
 * answered, so a reply proves that this server is still part of a quorum (a follower cut off from the leader goes on
 * answering reads, never a sync). The client only knows how to parse the replies of the requests it implements; a
 * sync reply (one path string) has the layout of a create reply, so the header says SYNC on the wire and CREATE once
 * sent, which is what the client reads to pick the reply's parser.
 */
export function sync(client: Client, path: string, callback: (error: unknown) => void): void {
  const header = new jute.protocol['RequestHeader']!();
  header.type = jute.OP_CODES['SYNC']!;
  const payload = new jute.protocol['CreateResponse']!(); // { ustring path }: the layout of SyncRequest
  payload.path = path;
  const request = new jute.Request(header, payload);
  const toBuffer = request.toBuffer.bind(request);
  request.toBuffer = () => {
    const bytes = toBuffer();
    header.type = jute.OP_CODES['CREATE']!;
    return bytes;
  };
  connectionManager(client).queue(request, (error) => callback(error));
}

/** Destroys the client's socket (no public API): it then reconnects, to the next server of the connection string. */
export function dropSocket(client: Client): void {
  connectionManager(client).socket?.destroy();
}

/**
 * Asks the server to end the session, if the client is connected; returns whether it did. Calling the client's
 * `close()` while it is not connected threw a `TypeError` from its send loop (no socket yet, e.g. in the same tick as
 * the constructor) or queued a request that could never be sent.
 */
export function closeSession(client: Client): boolean {
  const state = client.getState();
  const connected = state === zookeeper.State.SYNC_CONNECTED || state === zookeeper.State.CONNECTED_READ_ONLY;
  if (connected) client.close();
  return connected;
}

/**
 * Stops a client for good, connected or not: no reconnect, the socket and the connect timer destroyed now, and any
 * socket a pending reconnect opens afterwards destroyed at once. Without this the client's reconnect loop keeps
 * opening sockets and arming connect timers, which keeps the process alive (4–10 s before the first handshake or
 * during an outage).
 */
export function shutDown(client: Client): void {
  const manager = connectionManager(client) as ConnectionManager & { connect(): void };
  manager.connect = () => {};
  clearTimeout(manager.connectTimeoutHandler);
  manager.socket?.destroy();
  let socket = manager.socket;
  Object.defineProperty(manager, 'socket', {
    configurable: true,
    get: () => socket,
    set: (next: ConnectionManager['socket']) => {
      socket = next;
      next?.destroy();
    },
  });
  Object.defineProperty(manager, 'connectTimeoutHandler', {
    configurable: true,
    get: () => undefined,
    set: (timer: NodeJS.Timeout | undefined) => clearTimeout(timer),
  });
}
