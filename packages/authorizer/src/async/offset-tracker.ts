/**
 * Which offset of one partition may be committed when records finish out of order (records of different accounts run
 * concurrently, an account's own in order). The committable position is the offset of the oldest record taken and not
 * done, or one past the last record taken when all are done: a crash replays from there, so no record is skipped.
 * Offsets may have gaps (compaction, transaction markers); only the order matters.
 */
export class OffsetTracker {
  readonly #taken: Array<{ offset: bigint; done: boolean }> = [];
  readonly #index = new Map<bigint, { offset: bigint; done: boolean }>();
  #next: bigint | undefined;
  #committed: bigint | undefined;

  /** Registers a record taken for processing. Offsets must be taken in increasing order. */
  take(offset: bigint): void {
    if (this.#next !== undefined && offset < this.#next) throw new RangeError(`offset ${offset} taken out of order`);
    const entry = { offset, done: false };
    this.#taken.push(entry);
    this.#index.set(offset, entry);
    this.#next = offset + 1n;
    // Nothing before the first record taken is ours to commit: the position starts there.
    this.#committed ??= offset;
  }

  /** Marks a record done; returns the new committable position when it moved, else undefined. */
  done(offset: bigint): bigint | undefined {
    const entry = this.#index.get(offset);
    if (!entry || entry.done) return undefined;
    entry.done = true;
    this.#index.delete(offset);
    while (this.#taken[0]?.done) this.#taken.shift();
    const position = this.#taken[0]?.offset ?? this.#next!;
    if (position === this.#committed) return undefined;
    this.#committed = position;
    return position;
  }

  /** Records taken and not done yet. */
  get inFlight(): number {
    return this.#index.size;
  }
}
