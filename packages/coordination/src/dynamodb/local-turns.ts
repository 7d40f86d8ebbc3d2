/**
 * One turn per key within a process: the acquirers of a key in one lock manager queue here (FIFO), and only the one
 * whose turn it is talks to the service — so a process sends one poller per busy key, not one per waiter, and a local
 * release hands the key to the next local waiter without a poll. The turn is kept from the start of an acquisition
 * until its lock is released or lost (or the acquisition fails).
 */
export class LocalTurns {
  /** Per key with a turn taken: the waiters behind it, oldest first. */
  readonly #queues = new Map<string, Array<() => void>>();

  /** Keys whose turn is taken. */
  get size(): number {
    return this.#queues.size;
  }

  /** The turn on `key` if nobody in this process has it, else undefined. Call the result to give the turn up. */
  tryEnter(key: string): (() => void) | undefined {
    if (this.#queues.has(key)) return undefined;
    this.#queues.set(key, []);
    return this.#leaver(key);
  }

  /** Waits for the turn on `key`; rejects with the signal's reason when it fires first. */
  enter(key: string, signal: AbortSignal): Promise<() => void> {
    const now = this.tryEnter(key);
    if (now) return Promise.resolve(now);
    if (signal.aborted) return Promise.reject(signal.reason);
    const queue = this.#queues.get(key) as Array<() => void>;
    return new Promise((resolve, reject) => {
      const grant = (): void => {
        signal.removeEventListener('abort', onAbort);
        resolve(this.#leaver(key));
      };
      const onAbort = (): void => {
        const at = queue.indexOf(grant);
        if (at >= 0) queue.splice(at, 1);
        reject(signal.reason);
      };
      queue.push(grant);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  #leaver(key: string): () => void {
    let left = false;
    return () => {
      if (left) return;
      left = true;
      const next = this.#queues.get(key)?.shift();
      if (next) next();
      else this.#queues.delete(key);
    };
  }
}
