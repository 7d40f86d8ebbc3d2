import { randomUUID } from 'node:crypto';

/**
 * Lock node names in "protected mode" (after Curator): `_c_<attempt guid>-lock-<10-digit sequence>`. The guid lets a
 * process find the node a create made when the create's reply was lost; the sequence orders the waiters.
 */
const PROTECTED_PREFIX = '_c_';
const LOCK_MARK = '-lock-';
const NAME = /^_c_([0-9a-f-]{36})-lock-(\d{10})$/;

/** A fresh attempt id. */
export function newAttemptId(): string {
  return randomUUID();
}

/** The path to pass to an EPHEMERAL_SEQUENTIAL create; ZooKeeper appends the sequence. */
export function lockNodePrefix(parent: string, attemptId: string): string {
  return `${parent}/${PROTECTED_PREFIX}${attemptId}${LOCK_MARK}`;
}

export interface LockNodeName {
  readonly name: string;
  readonly attemptId: string;
  readonly sequence: number;
}

/** Parses a child name; undefined for anything that is not a lock node. */
export function parseLockNodeName(name: string): LockNodeName | undefined {
  const match = NAME.exec(name);
  if (!match?.[1] || !match[2]) return undefined;
  return { name, attemptId: match[1], sequence: Number(match[2]) };
}

/** The lock nodes among `children`, ordered by sequence (never by whole name: the guid prefix is random). */
export function sortLockNodes(children: readonly string[]): LockNodeName[] {
  const nodes: LockNodeName[] = [];
  for (const child of children) {
    const parsed = parseLockNodeName(child);
    if (parsed) nodes.push(parsed);
  }
  return nodes.sort((a, b) => a.sequence - b.sequence);
}

/** The last path segment. */
export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}
