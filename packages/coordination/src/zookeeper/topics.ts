import zookeeper from 'node-zookeeper-client';
import type { Logger } from '../types.js';
import { ServerError, ZK, type ZkSession } from './session.js';

const PERSISTENT = zookeeper.CreateMode.PERSISTENT;

interface Subscription {
  readonly path: string;
  readonly listener: () => void;
  active: boolean;
  /** Session generation whose client holds this subscription's watch; -1 when none is known to. */
  armedGeneration: number;
  readonly watcher: () => void;
}

/**
 * Change notification on ZooKeeper: `notify(topic)` writes `/<namespace>/topics/<topic>` (a persistent node, created
 * on first use); `watch(topic)` keeps an `exists` watch on it (fires on create, data change and delete) and runs its
 * listener on every event and after every (re)connection, when a change may have been missed. Changes in quick
 * succession may be coalesced: a watch is one-shot and is armed again by the event that fired it.
 */
export class Topics {
  readonly #subscriptions = new Set<Subscription>();
  readonly #offState: () => void;

  constructor(
    private readonly session: ZkSession,
    private readonly root: string,
    private readonly logger: Logger,
  ) {
    this.#offState = session.onState((state) => {
      if (state !== 'connected' && state !== 'reconnected') return;
      for (const sub of [...this.#subscriptions]) {
        if (sub.armedGeneration !== this.session.generation) this.#arm(sub);
        this.#call(sub);
      }
    });
  }

  async notify(topic: string, signal: AbortSignal | undefined): Promise<void> {
    const path = this.#pathOf(topic);
    const data = Buffer.from(String(Date.now()));
    for (let round = 0; round < 5; round++) {
      try {
        await this.session.call((client, cb) => client.setData(path, data, -1, cb as never), { signal });
        return;
      } catch (error) {
        if (!(error instanceof ServerError && error.zkCode === ZK['NO_NODE'])) throw error;
      }
      // First use of the topic: creating the node fires every watcher as well.
      for (const p of [this.root, `${this.root}/topics`, path]) {
        try {
          await this.session.call((client, cb) => client.create(p, p === path ? data : Buffer.alloc(0), this.session.acl, PERSISTENT, cb as never), { signal });
          if (p === path) return;
        } catch (error) {
          if (!(error instanceof ServerError && error.zkCode === ZK['NODE_EXISTS'])) throw error;
        }
      }
    }
  }

  watch(topic: string, listener: () => void): () => void {
    const sub: Subscription = {
      path: this.#pathOf(topic),
      listener,
      active: true,
      armedGeneration: -1,
      watcher: () => {
        if (!sub.active) return;
        this.#arm(sub);
        this.#call(sub);
      },
    };
    this.#subscriptions.add(sub);
    this.#arm(sub);
    return () => {
      sub.active = false;
      this.#subscriptions.delete(sub);
    };
  }

  close(): void {
    this.#offState();
    for (const sub of this.#subscriptions) sub.active = false;
    this.#subscriptions.clear();
  }

  #pathOf(topic: string): string {
    return `${this.root}/topics/${topic}`;
  }

  #arm(sub: Subscription): void {
    const generation = this.session.generation;
    sub.armedGeneration = generation;
    this.session.exists(sub.path, sub.watcher).catch((error: unknown) => {
      // No connection: armed again at the next `connected`/`reconnected`.
      if (sub.armedGeneration === generation) sub.armedGeneration = -1;
      this.logger.debug({ event: 'topic.watch_failed', path: sub.path, err: error }, 'could not arm a topic watch');
    });
  }

  #call(sub: Subscription): void {
    if (!sub.active) return;
    try {
      sub.listener();
    } catch (error) {
      this.logger.error({ event: 'topic.listener_error', path: sub.path, err: error }, 'topic listener threw');
    }
  }
}
