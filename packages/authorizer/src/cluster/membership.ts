/**
 * The live replicas of the cluster, as this replica sees them: member id → internal address. Backed by a ZooKeeper
 * group (ephemeral member nodes and a children watch) in cluster mode; static in tests.
 */
export interface Membership {
  /** This replica's member id. */
  readonly self: string;
  /** Live members, this replica included once it has joined: member id → internal base URL. */
  members(): ReadonlyMap<string, string>;
  /** Called on every change of the live list; returns an unsubscribe function. */
  onChange(listener: (members: ReadonlyMap<string, string>) => void): () => void;
  /** Leaves the group (planned shutdown). */
  leave(): Promise<void>;
}

/** A fixed membership (tests, and a cluster whose replicas are listed in the configuration). */
export class StaticMembership implements Membership {
  #members: ReadonlyMap<string, string>;
  readonly #listeners = new Set<(members: ReadonlyMap<string, string>) => void>();

  constructor(
    readonly self: string,
    members: ReadonlyMap<string, string>,
  ) {
    this.#members = members;
  }

  members(): ReadonlyMap<string, string> {
    return this.#members;
  }

  /** Replaces the list and tells the listeners (a test's join or leave). */
  set(members: ReadonlyMap<string, string>): void {
    this.#members = members;
    for (const listener of this.#listeners) listener(members);
  }

  onChange(listener: (members: ReadonlyMap<string, string>) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async leave(): Promise<void> {
    const next = new Map(this.#members);
    next.delete(this.self);
    this.set(next);
  }
}
