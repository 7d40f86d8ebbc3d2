/**
 * Rendezvous (highest random weight) hashing: an account's home is the live member with the highest weight for
 * (member, account). Every replica computes it from the same member list with no round trip, and when a member joins or
 * leaves only the accounts whose winner changes move — about 1/n of them — never the rest.
 */

/** 32-bit FNV-1a over UTF-16 code units, then murmur3's finalizer (FNV alone mixes the low bits poorly). */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The weight of `member` for `key`; ties (vanishingly rare) are broken by member id so the answer stays total. */
export function weight(member: string, key: string): number {
  return hash32(`${member}\u0000${key}`);
}

/**
 * The member that is home for `key` among `members` (any order; duplicates harmless), or undefined when there is none.
 * Pure and deterministic: the same inputs give the same answer on every replica.
 */
export function homeOf(key: string, members: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestWeight = -1;
  for (const member of members) {
    const w = weight(member, key);
    if (w > bestWeight || (w === bestWeight && best !== undefined && member < best)) {
      best = member;
      bestWeight = w;
    }
  }
  return best;
}
