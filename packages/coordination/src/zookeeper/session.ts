import { createHash } from 'node:crypto';
import zookeeper from 'node-zookeeper-client';
import type { ACL, Client, Event, Stat } from 'node-zookeeper-client';
import { ClosedError, CoordinationUnavailableError } from '../errors.js';
import type { ConnectionState } from '../types.js';
import { closeSession, createWithZxid, dropSocket, shutDown, sync } from './client-fixes.js';
import type { ResolvedOptions } from './options.js';

/** A reply from the server that is an error code (NO_NODE, NODE_EXISTS, NO_AUTH, an unknown code, ...). */
export class ServerError extends Error {
  constructor(
    readonly zkCode: number,
    readonly zkName: string,
    options?: { cause?: unknown },
  ) {
    super(`ZooKeeper error ${zkName} (${zkCode})`, options);
  }
}

/** No answer: the connection dropped, the request's deadline passed, or the session ended. Outcome unknown. */
export class ConnectionTrouble extends Error {}

export const ZK = zookeeper.Exception as unknown as Record<string, number>;

const CONNECTION_CODES = new Set([ZK['CONNECTION_LOSS'], ZK['SESSION_EXPIRED'], ZK['OPERATION_TIMEOUT']]);

/**
 * Milliseconds on a monotonic clock. Every duration the watchdog measures uses it: stepping the wall clock (NTP, an
 * operator, a VM resumed from a snapshot) must neither keep a dead session alive nor drop a healthy one.
 */
const monotonicNow = (): number => performance.now();

/** Heartbeat period, as a fraction of the session timeout. */
const HEARTBEAT_FRACTION = 1 / 10;
/** Without an answer confirmed by a quorum for this long, the connection is `suspended` and another server tried. */
const SUSPEND_FRACTION = 1 / 3;
/**
 * The session is given up locally this long after the send time of the last request a quorum answered. The leader
 * expires a session `T` after the last time it heard of it, and a follower reports its clients' activity to the leader
 * only with its next ping answer (every tickTime/2): so the leader's view may be one heartbeat period plus half a tick
 * older than ours. 0.7·T leaves room for both as long as the server's tickTime is at most 0.3·T (ZooKeeper's default
 * 2 000 ms tick with the 10 000 ms default session timeout: 0.2·T), plus the watchdog's own tick (T/20).
 */
const LOSE_FRACTION = 0.7;

type Callback = (error: unknown, ...results: unknown[]) => void;

export interface CallOptions {
  signal?: AbortSignal | undefined;
  /** Called with the outcome of a request whose promise was already settled (deadline or signal). */
  onLate?: (error: unknown, ...results: unknown[]) => void;
  /** A success of this request proves the session alive at the leader (a `sync`). */
  confirmsSession?: boolean;
}

/**
 * One ZooKeeper session (and, after a loss, the next one) with Curator-like states. node-zookeeper-client notices
 * neither a hung server nor a silent partition, so a heartbeat measures how long the server has been silent: after a
 * third of the session timeout the connection is `suspended` and dropped (the client then tries the next server),
 * and after a whole session timeout counted from the last request the server is known to have seen, the session is
 * `lost` (the server has expired it, or is about to) and a new session is made. Requests are only handed to the
 * client while connected, each with a deadline.
 */
export class ZkSession {
  #client!: Client;
  #state: ConnectionState = 'suspended';
  #everConnected = false;
  #generation = 0;
  #closed = false;
  /**
   * When the last request answered through a quorum (a `sync` heartbeat, or the handshake, which a server only
   * completes after the leader revalidated the session) was sent: the leader has heard from us at least then.
   */
  #lastConfirmedSentAt = 0;
  /** When the last answer confirmed by a quorum arrived (monotonic). */
  #lastConfirmedAt = 0;
  #connectingSince = 0;
  #heartbeatInFlight = false;
  #lastHeartbeatAt = 0;
  #timer: NodeJS.Timeout | undefined;
  readonly #stateListeners = new Set<(state: ConnectionState) => void>();
  readonly #connectedWaiters = new Set<() => void>();
  readonly acl: ACL[];

  constructor(private readonly options: ResolvedOptions) {
    const { auth } = options;
    if (auth) {
      const digest = zookeeperDigest(auth.user, auth.password);
      this.acl = [new zookeeper.ACL(zookeeper.Permission.ALL, new zookeeper.Id('digest', digest))];
    } else {
      this.acl = (zookeeper.ACL as unknown as { OPEN_ACL_UNSAFE: ACL[] }).OPEN_ACL_UNSAFE;
    }
    this.#newClient();
    this.#schedule();
  }

  get state(): ConnectionState {
    return this.#state;
  }

  /** Increments each time a session is lost; a node created in an older generation is gone (or about to be). */
  get generation(): number {
    return this.#generation;
  }

  /** The negotiated session timeout (the requested one until the first connection). */
  get sessionTimeoutMs(): number {
    const negotiated = this.#everConnected ? this.#client.getSessionTimeout() : 0;
    return negotiated > 0 ? negotiated : this.options.sessionTimeoutMs;
  }

  get #suspendAfterMs(): number {
    return Math.floor(this.sessionTimeoutMs * SUSPEND_FRACTION);
  }

  get connected(): boolean {
    return this.#state === 'connected' || this.#state === 'reconnected';
  }

  onState(listener: (state: ConnectionState) => void): () => void {
    this.#stateListeners.add(listener);
    return () => this.#stateListeners.delete(listener);
  }

  /** Resolves once connected; rejects with `CoordinationUnavailableError` after `timeoutMs`, or when `signal` fires. */
  waitConnected(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    if (this.#closed) return Promise.reject(new ClosedError());
    if (this.connected) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const done = (error?: Error): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.#connectedWaiters.delete(onConnected);
        if (error) reject(error);
        else resolve();
      };
      const onConnected = (): void => done(this.#closed ? new ClosedError() : undefined);
      const onAbort = (): void => done(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
      const timer = setTimeout(
        () => done(new CoordinationUnavailableError(`no ZooKeeper connection within ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.#connectedWaiters.add(onConnected);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /**
   * Runs one request: waits for a connection (bounded), sends, and settles with the reply or with
   * {@link ConnectionTrouble} at the deadline. A reply that arrives afterwards goes to `onLate`.
   */
  async call<T extends unknown[]>(
    send: (client: Client, callback: Callback) => void,
    options: CallOptions = {},
  ): Promise<T> {
    const { signal } = options;
    signal?.throwIfAborted();
    const timeoutMs = this.options.operationTimeoutMs;
    const started = monotonicNow();
    // A request belongs to the session current when it was issued. If that session is lost while the request waits
    // for a connection, it must not go out on the next session: a caller that noted the generation (to know which
    // session owns the ephemeral node it creates) would then own a node of the new session it does not know about.
    const generation = this.#generation;
    await this.waitConnected(timeoutMs, signal);
    if (generation !== this.#generation) {
      throw new ConnectionTrouble('the ZooKeeper session was lost before the request could be sent');
    }
    const client = this.#client;
    const sentAt = monotonicNow();
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const settle = (): boolean => {
        if (settled) return false;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        return true;
      };
      const onAbort = (): void => {
        if (settle()) reject(signal?.reason);
      };
      const remaining = Math.max(1, timeoutMs - (sentAt - started));
      const timer = setTimeout(() => {
        if (settle()) reject(new ConnectionTrouble(`no answer from ZooKeeper within ${timeoutMs} ms`));
      }, remaining);
      signal?.addEventListener('abort', onAbort, { once: true });
      send(client, (error, ...results) => {
        const code = errorCode(error);
        if (options.confirmsSession && !error && generation === this.#generation) this.#confirmed(sentAt);
        if (!settle()) {
          options.onLate?.(error, ...results);
          return;
        }
        if (!error) resolve(results as T);
        else if (code === undefined) reject(error);
        else if (CONNECTION_CODES.has(code)) reject(new ConnectionTrouble(`ZooKeeper connection lost (${code})`, { cause: error }));
        else reject(new ServerError(code, errorName(error), { cause: error }));
      });
    });
  }

  /** Creates a node; resolves with its path and the reply's zxid (the node's czxid, a fencing token). */
  create(path: string, mode: number, options?: CallOptions): Promise<[string, Buffer | undefined]> {
    return this.call((client, cb) => createWithZxid(client, path, undefined, this.acl, mode, cb), options);
  }

  /** A `sync` on `path`: answered only through the leader, so only by a server that is part of a quorum. */
  sync(path: string, options?: CallOptions): Promise<[]> {
    return this.call((client, cb) => sync(client, path, cb), options);
  }

  getChildren(path: string, options?: CallOptions): Promise<[string[]]> {
    return this.call((client, cb) => client.getChildren(path, cb as never), options);
  }

  exists(path: string, watcher?: (event: Event) => void, options?: CallOptions): Promise<[Stat | null]> {
    return this.call(
      (client, cb) => (watcher ? client.exists(path, watcher, cb as never) : client.exists(path, cb as never)),
      options,
    );
  }

  remove(path: string, options?: CallOptions): Promise<[]> {
    return this.call((client, cb) => client.remove(path, -1, cb as never), options);
  }

  /** Ends the session (its ephemeral nodes go with it) and stops every timer. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    for (const waiter of [...this.#connectedWaiters]) waiter();
    const client = this.#client;
    // Not connected (before the first handshake, or during an outage): nothing can be told to the server, whose
    // session then expires by itself. Either way shutDown stops the client's reconnect loop and its timers.
    const disconnected = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, Math.min(1_000, this.options.operationTimeoutMs));
      timer.unref();
      client.once('disconnected', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    if (closeSession(client)) await disconnected;
    shutDown(client);
    client.removeAllListeners();
    this.#setState('closed');
  }

  #newClient(): void {
    const client = zookeeper.createClient(this.options.connectionString, {
      sessionTimeout: this.options.sessionTimeoutMs,
      spinDelay: this.options.reconnectDelayMs,
      // The client's retries re-send sequential creates blindly (orphans); the library retries by itself.
      retries: 0,
    });
    const { auth } = this.options;
    if (auth) client.addAuthInfo('digest', Buffer.from(`${auth.user}:${auth.password}`));
    client.on('state', (state: { name: string }) => this.#onClientState(client, state.name));
    this.#client = client;
    this.#connectingSince = monotonicNow();
    client.connect();
  }

  #onClientState(client: Client, name: string): void {
    if (client !== this.#client || this.#closed) return;
    switch (name) {
      case 'SYNC_CONNECTED': {
        // The handshake proves the session alive at the leader (a server revalidates a session with the leader before
        // it accepts it); it was sent no earlier than the connection attempt began.
        this.#lastConfirmedSentAt = Math.max(this.#lastConfirmedSentAt, this.#connectingSince);
        this.#lastConfirmedAt = monotonicNow();
        const resumed = this.#everConnected && this.#state !== 'lost';
        this.#everConnected = true;
        this.#setState(resumed ? 'reconnected' : 'connected');
        for (const waiter of [...this.#connectedWaiters]) waiter();
        return;
      }
      case 'DISCONNECTED':
        this.#connectingSince = monotonicNow();
        this.#setState('suspended');
        return;
      case 'EXPIRED':
        this.#lose('the server expired the session');
        return;
      case 'AUTH_FAILED':
        this.options.logger.error({ event: 'zk.auth_failed' }, 'ZooKeeper rejected the credentials');
        this.#lose('authentication failed');
        return;
      default:
        return;
    }
  }

  #confirmed(sentAt: number): void {
    this.#lastConfirmedAt = monotonicNow();
    if (sentAt > this.#lastConfirmedSentAt) this.#lastConfirmedSentAt = sentAt;
  }

  #schedule(): void {
    if (this.#closed) return;
    const period = Math.max(10, Math.floor(this.sessionTimeoutMs / 20));
    this.#timer = setTimeout(() => this.#tick(), period);
    this.#timer.unref();
  }

  /**
   * Heartbeat and watchdog: runs every twentieth of the session timeout, on the monotonic clock. The heartbeat is a
   * `sync`, answered only through the leader: a follower cut off from the quorum goes on answering reads, so a read
   * would keep a session "alive" here that the leader is about to expire. The session is given up at
   * {@link LOSE_FRACTION} of the timeout after the last quorum-confirmed request was sent: a holder must learn of the
   * loss before anyone else can be granted its lock.
   */
  #tick(): void {
    if (this.#closed) return;
    const now = monotonicNow();
    const suspendAfter = this.#suspendAfterMs;
    const loseAfter = Math.floor(this.sessionTimeoutMs * LOSE_FRACTION);
    if (this.#everConnected && this.#state !== 'lost' && now - this.#lastConfirmedSentAt > loseAfter) {
      const silentMs = Math.round(now - this.#lastConfirmedSentAt);
      this.#lose(`no answer through a ZooKeeper quorum for ${silentMs} ms (session timeout ${this.sessionTimeoutMs} ms)`);
    } else if (this.connected) {
      if (now - this.#lastConfirmedAt > suspendAfter) {
        const silentMs = Math.round(now - this.#lastConfirmedAt);
        this.options.logger.warn({ event: 'zk.silent', silentMs }, 'no answer through a ZooKeeper quorum; trying another server');
        this.#setState('suspended');
        this.#connectingSince = now;
        dropSocket(this.#client);
      } else if (!this.#heartbeatInFlight && now - this.#lastHeartbeatAt >= this.sessionTimeoutMs * HEARTBEAT_FRACTION) {
        this.#heartbeat();
      }
    } else if (now - this.#connectingSince > suspendAfter) {
      // The client has no handshake timeout: a server that accepts TCP and never answers would hold it forever.
      this.#connectingSince = now;
      dropSocket(this.#client);
    }
    this.#schedule();
  }

  #heartbeat(): void {
    this.#heartbeatInFlight = true;
    this.#lastHeartbeatAt = monotonicNow();
    this.sync('/', { confirmsSession: true })
      .catch(() => {})
      .finally(() => {
        this.#heartbeatInFlight = false;
      });
  }

  #lose(why: string): void {
    const old = this.#client;
    this.#generation++;
    this.options.logger.warn({ event: 'zk.session_lost', why, generation: this.#generation }, 'ZooKeeper session lost');
    old.removeAllListeners('state');
    closeSession(old);
    shutDown(old);
    this.#setState('lost');
    this.#everConnected = false;
    this.#lastConfirmedSentAt = 0;
    if (!this.#closed) this.#newClient();
  }

  #setState(state: ConnectionState): void {
    if (this.#state === state) return;
    this.#state = state;
    this.options.logger.info({ event: 'zk.state', state }, `ZooKeeper ${state}`);
    for (const listener of [...this.#stateListeners]) {
      try {
        listener(state);
      } catch (error) {
        this.options.logger.error({ event: 'zk.listener_error', err: error }, 'state listener threw');
      }
    }
  }
}

function errorCode(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

function errorName(error: unknown): string {
  const name = (error as { name?: unknown } | null)?.name;
  return typeof name === 'string' ? name : 'UNKNOWN_ERROR';
}

/** ZooKeeper's digest id: `user:base64(sha1("user:password"))`. */
export function zookeeperDigest(user: string, password: string): string {
  return `${user}:${createHash('sha1').update(`${user}:${password}`).digest('base64')}`;
}
