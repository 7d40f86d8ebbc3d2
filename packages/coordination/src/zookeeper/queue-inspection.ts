import type { Participant } from '../types.js';
import { sortLockNodes } from './lock-node-name.js';
import { ServerError, ZK, type ZkSession } from './session.js';

/** What Apache Curator's `Revoker` writes on a holder's node; the same bytes, so the two interoperate. */
export const REVOKE_MESSAGE = Buffer.from('__REVOKE__');

/** The children of a key's parent; none when the parent does not exist. */
export async function lockChildren(session: ZkSession, parent: string, signal: AbortSignal | undefined): Promise<string[]> {
  try {
    const [names] = await session.getChildren(parent, { signal });
    return names;
  } catch (error) {
    if (error instanceof ServerError && error.zkCode === ZK['NO_NODE']) return [];
    throw error;
  }
}

/** The lock nodes under `parent` in queue order with their owning session (one listing, one pipelined `exists` each). */
export async function queueParticipants(session: ZkSession, parent: string, signal: AbortSignal | undefined): Promise<Participant[]> {
  const nodes = sortLockNodes(await lockChildren(session, parent, signal));
  const stats = await Promise.all(nodes.map((node) => session.exists(`${parent}/${node.name}`, undefined, { signal }).then(([stat]) => stat)));
  const found: Participant[] = [];
  nodes.forEach((node, i) => {
    const stat = stats[i];
    if (stat) found.push({ node: node.name, sessionId: stat.ephemeralOwner.toString('hex'), isHolder: found.length === 0 });
  });
  return found;
}

/** Writes {@link REVOKE_MESSAGE} on the lowest lock node under `parent`; false when there is none. */
export async function markHolder(session: ZkSession, parent: string, signal: AbortSignal | undefined): Promise<boolean> {
  for (let round = 0; round < 10; round++) {
    const [holder] = sortLockNodes(await lockChildren(session, parent, signal));
    if (!holder) return false;
    try {
      await session.call((client, cb) => client.setData(`${parent}/${holder.name}`, REVOKE_MESSAGE, -1, cb as never), { signal });
      return true;
    } catch (error) {
      // The holder released meanwhile: ask the next one.
      if (!(error instanceof ServerError && error.zkCode === ZK['NO_NODE'])) throw error;
    }
  }
  return false;
}
