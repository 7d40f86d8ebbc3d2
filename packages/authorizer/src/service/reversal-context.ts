import type { TransactionRecord } from '../domain/types.js';
import type { Store } from '../store/port.js';

/**
 * What a chain's reversals are decided on, read from the store under the account's lock: the purchases they name
 * and how much earlier reversals gave back. Read after (or with) the account, so that a commit planned on it is
 * fenced by the account version like any other: a stale read costs a version conflict and a new read, never money.
 */
export class ReversalContext {
  static readonly EMPTY = new ReversalContext([]);

  readonly #records = new Map<string, TransactionRecord>();
  readonly #reversed = new Map<string, number>();

  constructor(found: readonly TransactionRecord[]) {
    for (const record of found) {
      this.#records.set(record.id, record);
      if (record.kind === 'reversal' && record.originalId !== undefined) {
        this.#reversed.set(record.originalId, (this.#reversed.get(record.originalId) ?? 0) + record.amount);
      }
    }
  }

  /** Reads what the reversals among `originalIds` need; no read at all when there are none. */
  static async load(store: Store, originalIds: readonly string[], signal: AbortSignal): Promise<ReversalContext> {
    if (originalIds.length === 0) return ReversalContext.EMPTY;
    return new ReversalContext(await store.getWithReversals([...new Set(originalIds)], { signal }));
  }

  /** The stored record with this id. */
  record(id: string): TransactionRecord | undefined {
    return this.#records.get(id);
  }

  /** Centavos that stored reversals gave back for this purchase. */
  reversed(originalId: string): number {
    return this.#reversed.get(originalId) ?? 0;
  }
}
