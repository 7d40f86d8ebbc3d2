import { InvalidArgumentError } from './errors.js';
import type { GroupMembership } from './types.js';

interface LocalGroup {
  readonly members: Map<string, string>;
  readonly listeners: Set<(members: ReadonlyMap<string, string>) => void>;
}

/** In-process group membership for {@link LocalLockManager}: one process, so every member is local. */
export class LocalGroups {
  readonly #groups = new Map<string, LocalGroup>();

  join(group: string, memberId: string, data: string): GroupMembership {
    let entry = this.#groups.get(group);
    if (!entry) this.#groups.set(group, (entry = { members: new Map(), listeners: new Set() }));
    if (entry.members.has(memberId)) {
      throw new InvalidArgumentError(`member ${JSON.stringify(memberId)} is already in group ${JSON.stringify(group)}`);
    }
    const g = entry;
    const own = new Set<(members: ReadonlyMap<string, string>) => void>();
    const changed = (): void => {
      const snapshot: ReadonlyMap<string, string> = new Map(g.members);
      for (const listener of [...g.listeners]) {
        queueMicrotask(() => {
          try {
            listener(snapshot);
          } catch {
            // The listener's own error: never an uncaught exception from the lock manager.
          }
        });
      }
    };
    g.members.set(memberId, data);
    changed();
    let left = false;
    return {
      group,
      memberId,
      members: () => new Map(g.members),
      onChange: (listener) => {
        const wrapped = (members: ReadonlyMap<string, string>): void => {
          if (!left) listener(members);
        };
        own.add(wrapped);
        g.listeners.add(wrapped);
        return () => {
          own.delete(wrapped);
          g.listeners.delete(wrapped);
        };
      },
      leave: async () => {
        if (left) return;
        left = true;
        for (const listener of own) g.listeners.delete(listener);
        // Duplicates are refused while a member is in, so the entry under memberId is this member's.
        g.members.delete(memberId);
        changed();
        if (g.members.size === 0 && g.listeners.size === 0) this.#groups.delete(group);
      },
    };
  }

  // Stryker disable next-line BlockStatement: equivalent — the map is read only by join(), which a closed manager refuses
  clear(): void {
    this.#groups.clear();
  }
}
