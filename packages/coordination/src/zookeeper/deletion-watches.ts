import type { Event } from 'node-zookeeper-client';
import type { ZkSession } from './session.js';

interface Entry {
  readonly generation: number;
  readonly listeners: Set<() => void>;
  readonly fire: (event: Event) => void;
}

/**
 * One ZooKeeper watch per watched node, shared by every local waiter on it. ZooKeeper 3.4's protocol cannot remove a
 * watch, so a waiter that gives up cannot take its watch back: with one watch function per waiter, every timed-out
 * waiter on a long-held lock left one more listener in the client (15 printed `MaxListenersExceededWarning`). The
 * client ignores a second registration of the same function on the same path, so sharing one function per path
 * leaves at most one client listener per node, however many waiters come and go.
 */
export class DeletionWatches {
  readonly #entries = new Map<string, Entry>();

  constructor(private readonly session: ZkSession) {}

  /** Number of nodes with a registered watch; for tests. */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * Calls `listener` once when `path` is deleted or changes, or at once when it does not exist. Returns a function
   * that removes the listener (the shared watch stays armed until the node changes). `onError` gets a failed read.
   */
  watch(path: string, listener: () => void, onError: (error: unknown) => void, signal: AbortSignal): () => void {
    const generation = this.session.generation;
    let entry = this.#entries.get(path);
    if (!entry || entry.generation !== generation) {
      const listeners = new Set<() => void>();
      const fire = (): void => {
        if (this.#entries.get(path) === created) this.#entries.delete(path);
        for (const l of [...listeners]) l();
        listeners.clear();
      };
      const created: Entry = { generation, listeners, fire };
      this.#entries.set(path, created);
      entry = created;
    }
    const e = entry;
    let active = true;
    const own = (): void => {
      if (!active) return;
      active = false;
      listener();
    };
    e.listeners.add(own);
    this.session.exists(path, e.fire, { signal }).then(
      ([stat]) => {
        if (stat) return;
        // Gone already: nothing will delete it again, so do not keep its entry.
        if (this.#entries.get(path) === e) this.#entries.delete(path);
        own();
      },
      (error: unknown) => {
        if (!active) return;
        active = false;
        e.listeners.delete(own);
        onError(error);
      },
    );
    return () => {
      active = false;
      e.listeners.delete(own);
    };
  }

  /** Forgets every entry (the session's watches died with it). */
  clear(): void {
    this.#entries.clear();
  }
}
