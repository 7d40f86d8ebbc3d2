/**
 * Looking inside ZooKeeper from a test, through four-letter words: which session a client process holds, and which
 * ephemeral znodes (lock nodes, held or queued) a session owns. A session's ephemerals outlive its process until the
 * server expires the session, which is what a "dead holder" test needs to see. Linux only (reads /proc).
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { fourLetterWord, type ZooKeeperCluster } from './zookeeper.js';

/** The local TCP ports of `pid`'s established connections to any of `remotePorts` on loopback (IPv4). */
function localPortsTo(pid: number, remotePorts: readonly number[]): number[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const link = readlinkSync(`/proc/${pid}/fd/${fd}`);
      if (link.startsWith('socket:[')) inodes.add(link.slice(8, -1));
    } catch {
      // the fd closed meanwhile
    }
  }
  const ports: number[] = [];
  for (const row of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const fields = row.trim().split(/\s+/);
    const [local, remote, inode] = [fields[1], fields[2], fields[9]];
    if (!local || !remote || !inode || !inodes.has(inode)) continue;
    if (remotePorts.includes(parseInt(remote.split(':')[1]!, 16))) ports.push(parseInt(local.split(':')[1]!, 16));
  }
  return ports;
}

/**
 * The id (`0x…`) of the ZooKeeper session that process `pid` is connected with, from `cons` on every running server;
 * undefined when it has no connection right now.
 */
export async function zookeeperSessionOf(zookeeper: ZooKeeperCluster, pid: number): Promise<string | undefined> {
  const servers = zookeeper.servers.filter((s) => s.running);
  const ports = localPortsTo(pid, servers.map((s) => s.clientPort));
  for (const server of servers) {
    const cons = await fourLetterWord(server.clientPort, 'cons', 2_000).catch(() => '');
    for (const line of cons.split('\n')) {
      const match = /\/127\.0\.0\.1:(\d+)\[.*sid=(0x[0-9a-f]+)/.exec(line);
      if (match && ports.includes(Number(match[1]))) return match[2];
    }
  }
  return undefined;
}

/** The ephemeral znodes owned by `sessionId` (optionally under `pathPrefix`), from `dump` on the leader. */
export async function ephemeralNodes(zookeeper: ZooKeeperCluster, sessionId: string, pathPrefix = '/'): Promise<string[]> {
  const leader = await zookeeper.leader(10_000);
  const dump = await fourLetterWord(leader.clientPort, 'dump', 2_000);
  const nodes: string[] = [];
  let owner: string | undefined;
  for (const line of dump.split('\n')) {
    const session = /^(0x[0-9a-f]+):\s*$/.exec(line.trim());
    if (session) owner = session[1];
    else if (owner === sessionId && line.trim().startsWith(pathPrefix)) nodes.push(line.trim());
  }
  return nodes;
}
