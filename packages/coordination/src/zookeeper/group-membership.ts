import zookeeper from 'node-zookeeper-client';
import type { Stat } from 'node-zookeeper-client';
import { setTimeout as sleep } from 'node:timers/promises';
import { CoordinationUnavailableError, InvalidArgumentError } from '../errors.js';
import type { ConnectionState, GroupMembership } from '../types.js';
import type { ResolvedOptions } from './options.js';
import { ensurePath } from './parents.js';
import { ConnectionTrouble, ServerError, ZK, type ZkSession } from './session.js';

const EPHEMERAL = zookeeper.CreateMode.EPHEMERAL;

/**
 * A member of a group (after Curator's `GroupMember`): an ephemeral node `<parent>/<memberId>` with the member's data,
 * and a child watch on `<parent>` that keeps the live member list. The node is registered again by every new session
 * and after a deletion by hand; a node of the same name left by an older session (the library gives a session up a
 * little before the server expires it) is waited out, never deleted.
 */
export class ZooKeeperGroupMembership implements GroupMembership {
  #members: ReadonlyMap<string, string> = new Map();
  readonly #listeners = new Set<(members: ReadonlyMap<string, string>) => void>();
  readonly #path: string;
  readonly #data: Buffer;
  #left = false;
  /** A node of this member id owned by another session was seen (and waited for). */
  #foreignOwner = false;
  #registeredGeneration = -1;
  #registering: Promise<void> | undefined;
  #refreshing = false;
  #dirty = false;
  #offState: (() => void) | undefined;
  readonly #childWatcher = (): void => {
    if (!this.#left) this.#scheduleRefresh();
  };

  constructor(
    private readonly session: ZkSession,
    private readonly parent: string,
    readonly group: string,
    readonly memberId: string,
    data: string,
    private readonly options: ResolvedOptions,
    private readonly onLeave: () => void,
  ) {
    this.#path = `${parent}/${memberId}`;
    this.#data = Buffer.from(data);
  }

  members(): ReadonlyMap<string, string> {
    return this.#members;
  }

  onChange(listener: (members: ReadonlyMap<string, string>) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Registers and loads the member list. A node of this id owned by another live session is refused. */
  async start(signal: AbortSignal | undefined): Promise<void> {
    this.#offState = this.session.onState((state) => this.#onState(state));
    // An older session of ours is expired by the server within its timeout; anything longer is someone else.
    const deadline = AbortSignal.timeout(Math.ceil(this.session.sessionTimeoutMs * 1.5) + this.options.operationTimeoutMs);
    await this.#register(signal ? AbortSignal.any([signal, deadline]) : deadline).catch((error: unknown) => {
      if (deadline.aborted && this.#foreignOwner) {
        throw new InvalidArgumentError(`member ${JSON.stringify(this.memberId)} of group ${JSON.stringify(this.group)} is registered by another session`);
      }
      if (deadline.aborted) throw new CoordinationUnavailableError('ZooKeeper did not register the member in time', { cause: error });
      throw error;
    });
    await this.#load();
  }

  async leave(): Promise<void> {
    if (this.#left) return;
    this.#left = true;
    this.#offState?.();
    this.#listeners.clear();
    this.onLeave();
    if (this.#registeredGeneration !== this.session.generation || !this.session.connected) return;
    try {
      await this.session.remove(this.#path);
    } catch {
      // NO_NODE, or no connection: the node goes with the session.
    }
  }

  #onState(state: ConnectionState): void {
    if (this.#left) return;
    if (state === 'connected' && this.#registeredGeneration !== this.session.generation) this.#ensureRegistered();
    if (state === 'connected' || state === 'reconnected') this.#scheduleRefresh();
  }

  /** Registers in the background until it works (or the member leaves); one registration at a time. */
  #ensureRegistered(): void {
    if (this.#registering || this.#left) return;
    this.#registering = (async () => {
      while (!this.#left && this.#registeredGeneration !== this.session.generation) {
        try {
          await this.#register(undefined);
        } catch (error) {
          if (!(error instanceof ConnectionTrouble || error instanceof CoordinationUnavailableError)) {
            this.options.logger.warn({ event: 'group.register_failed', group: this.group, err: error }, 'group registration failed');
          }
          await sleep(Math.max(100, this.options.reconnectDelayMs));
        }
      }
    })().finally(() => {
      this.#registering = undefined;
    });
  }

  async #register(signal: AbortSignal | undefined): Promise<void> {
    for (let round = 0; !this.#left; round++) {
      const generation = this.session.generation;
      try {
        await this.session.call((client, cb) => client.create(this.#path, this.#data, this.session.acl, EPHEMERAL, cb as never), { signal });
        this.#registeredGeneration = generation;
        // leave() ran while the create was in flight: it could not delete a node that did not exist yet.
        if (this.#left) await this.session.remove(this.#path).catch(() => {});
        return;
      } catch (error) {
        if (!(error instanceof ServerError)) throw error;
        if (error.zkCode === ZK['NO_NODE'] && round < 5) {
          await ensurePath(this.session, this.parent, signal);
          continue;
        }
        if (error.zkCode !== ZK['NODE_EXISTS']) throw error;
      }
      // The node exists: ours (a create whose reply was lost), or another session's, which is waited out.
      let mySession: Buffer | undefined;
      const [stat] = await this.session.call<[Stat | null]>(
        (client, cb) => {
          mySession = client.getSessionId();
          client.exists(this.#path, cb as never);
        },
        { signal },
      );
      if (!stat) continue;
      if (mySession && stat.ephemeralOwner.equals(mySession)) {
        this.#registeredGeneration = generation;
        return;
      }
      this.#foreignOwner = true;
      this.options.logger.info({ event: 'group.waiting_for_old_node', group: this.group }, 'member node of another session: waiting for it to go');
      await this.#waitGone(signal);
    }
  }

  #waitGone(signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let done = false;
      const finish = (error?: unknown): void => {
        if (done) return;
        done = true;
        signal?.removeEventListener('abort', onAbort);
        offState();
        if (error === undefined) resolve();
        else reject(error);
      };
      const onAbort = (): void => finish(signal?.reason);
      const offState = this.session.onState((state) => {
        if (state === 'lost') finish();
      });
      signal?.addEventListener('abort', onAbort, { once: true });
      this.session.exists(this.#path, () => finish(), { signal }).then(
        ([stat]) => {
          if (!stat) finish();
        },
        (error: unknown) => finish(error),
      );
    });
  }

  /** Loads the list again, one load at a time; a change during a load triggers one more. */
  #scheduleRefresh(): void {
    if (this.#refreshing) {
      this.#dirty = true;
      return;
    }
    this.#refreshing = true;
    void (async () => {
      do {
        this.#dirty = false;
        try {
          await this.#load();
        } catch (error) {
          // No connection: the next `connected`/`reconnected` state loads again.
          if (!(error instanceof ConnectionTrouble || error instanceof CoordinationUnavailableError)) {
            this.options.logger.warn({ event: 'group.load_failed', group: this.group, err: error }, 'group member list load failed');
          }
        }
      } while (this.#dirty && !this.#left);
      this.#refreshing = false;
    })();
  }

  async #load(): Promise<void> {
    if (this.#left) return;
    let names: string[];
    try {
      [names] = await this.session.call<[string[]]>((client, cb) => client.getChildren(this.parent, this.#childWatcher, cb as never));
    } catch (error) {
      if (!(error instanceof ServerError && error.zkCode === ZK['NO_NODE'])) throw error;
      names = [];
    }
    const entries = await Promise.all(
      names.map((name) =>
        this.session.call<[Buffer | undefined]>((client, cb) => client.getData(`${this.parent}/${name}`, cb as never)).then(
          ([data]): [string, string] | undefined => [name, data?.toString() ?? ''],
          (error: unknown) => {
            if (error instanceof ServerError && error.zkCode === ZK['NO_NODE']) return undefined;
            throw error;
          },
        ),
      ),
    );
    if (this.#left) return;
    const members = new Map(entries.filter((e): e is [string, string] => e !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    if (!members.has(this.memberId) && this.#registeredGeneration === this.session.generation) {
      // Deleted by hand (or by an admin tool): register again.
      this.#registeredGeneration = -1;
      this.#ensureRegistered();
    }
    if (sameMembers(members, this.#members)) return;
    this.#members = members;
    for (const listener of [...this.#listeners]) {
      try {
        listener(members);
      } catch (error) {
        this.options.logger.error({ event: 'group.listener_error', err: error }, 'group listener threw');
      }
    }
  }
}

function sameMembers(a: ReadonlyMap<string, string>, b: ReadonlyMap<string, string>): boolean {
  if (a.size !== b.size) return false;
  for (const [id, data] of a) if (b.get(id) !== data) return false;
  return true;
}
