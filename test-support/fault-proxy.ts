/**
 * A TCP fault proxy for fault tests: clients connect to the proxy, the proxy connects to the real server. Modes:
 * - `pass`: forward both ways.
 * - `blackhole`: accept connections, forward nothing either way, answer nothing (a silent partition, or a server that
 *   accepts TCP but hangs). Bytes sent meanwhile are held back and delivered when the mode returns to `pass`, as TCP
 *   retransmission would deliver them after a partition heals (unless an end closed the connection meanwhile).
 * - `delay`: forward both ways after `delayMs`.
 * `drop()` resets every current connection. `dropAfterRequest(match)` forwards the next client frame that matches,
 * then swallows the server's reply and resets the connection: the request happened, its answer was lost.
 *
 * Frames are parsed with ZooKeeper's framing (4-byte big-endian length); the first frame of a connection is the
 * session handshake and is never matched. With `{ framing: 'none' }` (any other protocol, e.g. HTTP) bytes are
 * forwarded as they come and `dropAfterRequest` is not available.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export type FaultMode = 'pass' | 'blackhole' | 'delay';

/** A request frame as the proxy sees it: `xid` and `type` from the request header, and the whole frame. */
export interface RequestFrame {
  readonly xid: number;
  readonly type: number;
  readonly frame: Buffer;
}

interface Pipe {
  client: Socket;
  upstream: Socket;
  handshakeSeen: boolean;
  pending: Buffer;
  swallowReplies: boolean;
  heldFromClient: Buffer[];
  heldFromServer: Buffer[];
}

export class FaultProxy {
  #mode: FaultMode = 'pass';
  #delayMs = 0;
  #pipes = new Set<Pipe>();
  #dropMatch: ((frame: RequestFrame) => boolean) | undefined;
  #onDropped: (() => void) | undefined;
  #connections = 0;

  private constructor(
    private readonly server: Server,
    readonly port: number,
    private readonly target: { host: string; port: number },
    private readonly framing: 'zookeeper' | 'none',
  ) {}

  /** Starts a proxy on a free loopback port in front of `host:port`. */
  static async start(target: { host?: string; port: number }, options: { framing?: 'zookeeper' | 'none' } = {}): Promise<FaultProxy> {
    const server = createServer();
    const port = await new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        resolve(typeof address === 'object' && address ? address.port : 0);
      });
    });
    const proxy = new FaultProxy(server, port, { host: target.host ?? '127.0.0.1', port: target.port }, options.framing ?? 'zookeeper');
    server.on('connection', (socket) => proxy.#accept(socket));
    return proxy;
  }

  /** `127.0.0.1:<port>` */
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  get mode(): FaultMode {
    return this.#mode;
  }

  /** Connections currently open through the proxy. */
  get activeConnections(): number {
    return this.#pipes.size;
  }

  /** Connections accepted since start. */
  get acceptedConnections(): number {
    return this.#connections;
  }

  setMode(mode: FaultMode, options: { delayMs?: number } = {}): void {
    this.#mode = mode;
    this.#delayMs = options.delayMs ?? 0;
    if (mode === 'blackhole') return;
    for (const pipe of this.#pipes) {
      for (const chunk of pipe.heldFromClient.splice(0)) this.#fromClient(pipe, chunk);
      for (const chunk of pipe.heldFromServer.splice(0)) this.#fromServer(pipe, chunk);
    }
  }

  /** Resets every open connection (both sides). */
  drop(): void {
    for (const pipe of this.#pipes) this.#close(pipe);
  }

  /**
   * Arms a one-shot fault: the next client request frame for which `match` is true is forwarded, the reply is
   * swallowed, and the connection is reset. Resolves when that happened.
   */
  dropAfterRequest(match: (frame: RequestFrame) => boolean): Promise<void> {
    this.#dropMatch = match;
    return new Promise((resolve) => {
      this.#onDropped = resolve;
    });
  }

  async close(): Promise<void> {
    this.drop();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  #accept(client: Socket): void {
    this.#connections++;
    client.setNoDelay(true);
    const upstream = createConnection(this.target);
    upstream.setNoDelay(true);
    const pipe: Pipe = {
      client,
      upstream,
      handshakeSeen: false,
      pending: Buffer.alloc(0),
      swallowReplies: false,
      heldFromClient: [],
      heldFromServer: [],
    };
    this.#pipes.add(pipe);
    const close = (): void => this.#close(pipe);
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
    client.on('data', (chunk: Buffer) => this.#fromClient(pipe, chunk));
    upstream.on('data', (chunk: Buffer) => this.#fromServer(pipe, chunk));
  }

  #close(pipe: Pipe): void {
    if (!this.#pipes.delete(pipe)) return;
    pipe.client.resetAndDestroy();
    pipe.upstream.destroy();
  }

  #fromClient(pipe: Pipe, chunk: Buffer): void {
    if (this.#mode === 'blackhole') {
      pipe.heldFromClient.push(chunk);
      return;
    }
    if (this.framing === 'none') {
      this.#forward(pipe.upstream, chunk);
      return;
    }
    pipe.pending = Buffer.concat([pipe.pending, chunk]);
    while (pipe.pending.length >= 4) {
      const size = pipe.pending.readInt32BE(0);
      if (pipe.pending.length < size + 4) break;
      const frame = pipe.pending.subarray(0, size + 4);
      pipe.pending = pipe.pending.subarray(size + 4);
      this.#forward(pipe.upstream, Buffer.from(frame));
      if (!pipe.handshakeSeen) {
        pipe.handshakeSeen = true;
        continue;
      }
      if (this.#dropMatch && frame.length >= 12) {
        const request: RequestFrame = { xid: frame.readInt32BE(4), type: frame.readInt32BE(8), frame };
        if (this.#dropMatch(request)) {
          this.#dropMatch = undefined;
          pipe.swallowReplies = true;
        }
      }
    }
  }

  #fromServer(pipe: Pipe, chunk: Buffer): void {
    if (pipe.swallowReplies) {
      // The request reached the server; its reply is lost with the connection.
      this.#close(pipe);
      const done = this.#onDropped;
      this.#onDropped = undefined;
      done?.();
      return;
    }
    if (this.#mode === 'blackhole') {
      pipe.heldFromServer.push(chunk);
      return;
    }
    this.#forward(pipe.client, chunk);
  }

  #forward(socket: Socket, data: Buffer): void {
    if (this.#mode === 'delay' && this.#delayMs > 0) {
      setTimeout(() => {
        if (!socket.destroyed) socket.write(data);
      }, this.#delayMs);
    } else if (!socket.destroyed) {
      socket.write(data);
    }
  }
}
