/**
 * A byte-transparent TCP proxy that can delay traffic, for "add latency between one replica and the store". The
 * test-support fault proxy parses ZooKeeper framing, which the PostgreSQL protocol does not share, so the chaos suite
 * carries this small one: bytes are forwarded in order, each chunk released `delayMs` after it arrived (and never
 * before an earlier chunk of the same direction, so turning the delay off cannot reorder a stream).
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';

interface Direction {
  readonly to: Socket;
  /** Chunks waiting for their release time, in arrival order (one timer drains them, so order is kept). */
  readonly queue: Array<{ releaseAt: number; chunk: Buffer }>;
  timer: NodeJS.Timeout | undefined;
}

export class LatencyProxy {
  #delayMs = 0;
  readonly #sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  /** Starts a proxy on a free loopback port in front of `127.0.0.1:targetPort`. */
  static async start(targetPort: number): Promise<LatencyProxy> {
    const server = createServer();
    const port = await new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        resolve(typeof address === 'object' && address ? address.port : 0);
      });
    });
    const proxy = new LatencyProxy(server, port);
    server.on('connection', (client) => proxy.#accept(client, targetPort));
    return proxy;
  }

  get delayMs(): number {
    return this.#delayMs;
  }

  /** Delay applied to every chunk from now on, each way. 0 forwards at once (after anything still queued). */
  setDelay(delayMs: number): void {
    if (!Number.isFinite(delayMs) || delayMs < 0) throw new RangeError(`delayMs must be >= 0, got ${delayMs}`);
    this.#delayMs = delayMs;
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  #accept(client: Socket, targetPort: number): void {
    const upstream = createConnection({ host: '127.0.0.1', port: targetPort });
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    this.#sockets.add(client).add(upstream);
    const close = (): void => {
      client.destroy();
      upstream.destroy();
      this.#sockets.delete(client);
      this.#sockets.delete(upstream);
    };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
    const toServer: Direction = { to: upstream, queue: [], timer: undefined };
    const toClient: Direction = { to: client, queue: [], timer: undefined };
    client.on('data', (chunk: Buffer) => this.#forward(toServer, chunk));
    upstream.on('data', (chunk: Buffer) => this.#forward(toClient, chunk));
  }

  #forward(direction: Direction, chunk: Buffer): void {
    const now = performance.now();
    if (this.#delayMs === 0 && direction.queue.length === 0) {
      if (!direction.to.destroyed) direction.to.write(chunk);
      return;
    }
    const last = direction.queue[direction.queue.length - 1];
    direction.queue.push({ releaseAt: Math.max(now + this.#delayMs, last?.releaseAt ?? 0), chunk });
    this.#pump(direction);
  }

  #pump(direction: Direction): void {
    if (direction.timer !== undefined) return;
    const now = performance.now();
    let head = direction.queue[0];
    while (head !== undefined && head.releaseAt <= now) {
      direction.queue.shift();
      if (!direction.to.destroyed) direction.to.write(head.chunk);
      head = direction.queue[0];
    }
    if (head === undefined) return;
    direction.timer = setTimeout(() => {
      direction.timer = undefined;
      this.#pump(direction);
    }, Math.max(1, Math.ceil(head.releaseAt - now)));
  }
}
