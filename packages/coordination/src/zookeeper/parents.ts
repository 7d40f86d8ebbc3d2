import zookeeper from 'node-zookeeper-client';
import { ServerError, ZK, type ZkSession } from './session.js';

const PERSISTENT = zookeeper.CreateMode.PERSISTENT;

/**
 * Creates `path` and whatever it lacks above it, persistent; a node created meanwhile by someone else is fine. The
 * common case (only `path` missing) costs one create.
 */
export async function ensurePath(session: ZkSession, path: string, signal: AbortSignal | undefined): Promise<void> {
  const create = async (p: string): Promise<boolean> => {
    try {
      await session.create(p, PERSISTENT, { signal });
      return true;
    } catch (error) {
      if (error instanceof ServerError && error.zkCode === ZK['NODE_EXISTS']) return true;
      if (error instanceof ServerError && error.zkCode === ZK['NO_NODE']) return false;
      throw error;
    }
  };
  if (await create(path)) return;
  const segments = path.split('/').filter(Boolean);
  for (let i = 1; i <= segments.length; i++) await create(`/${segments.slice(0, i).join('/')}`);
}
