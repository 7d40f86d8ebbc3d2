import type { Membership } from './membership.js';

/** The group-membership part of `@catraca/coordination`'s ZooKeeper lock manager (coordination 1.0). */
interface GroupJoiner {
  joinGroup(
    group: string,
    memberId: string,
    data: string,
  ): Promise<{
    members(): ReadonlyMap<string, string>;
    onChange(listener: (members: ReadonlyMap<string, string>) => void): () => void;
    leave(): Promise<void>;
  }>;
}

function canJoin(locks: unknown): locks is GroupJoiner {
  return typeof (locks as Partial<GroupJoiner> | undefined)?.joinGroup === 'function';
}

/**
 * Registers this replica in the ZooKeeper group `group` (an ephemeral member node whose data is its internal address)
 * and follows the live list with a watch. Undefined when the lock manager has no group membership.
 */
export async function joinZooKeeperGroup(locks: unknown, group: string, self: string, url: string): Promise<Membership | undefined> {
  if (!canJoin(locks)) return undefined;
  const joined = await locks.joinGroup(group, self, url);
  return {
    self,
    members: () => joined.members(),
    onChange: (listener) => joined.onChange(listener),
    leave: () => joined.leave(),
  };
}
