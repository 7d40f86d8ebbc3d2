import { decideReversal } from '../domain/reversal.js';
import type { Balances, TransactionRecord } from '../domain/types.js';
import type { Job } from './authorizer.js';
import { refused, type Outcome } from './outcome.js';
import { ledgerEntry, type RecordBase, type Step } from './chain-step.js';
import type { ReversalContext } from './reversal-context.js';

/**
 * The reversal side of one chain: what the store said (the context) plus what the chain decided so far, so that a
 * reversal sees a purchase approved earlier in the same chain, two partial reversals of one purchase in one chain
 * never give back more than it took, and a purchase behind a reversal that spent its id is refused.
 */
export class ChainReversals {
  /** Records decided earlier in this chain, by id. */
  readonly #planned = new Map<string, TransactionRecord>();
  /** Centavos given back by reversals earlier in this chain, by purchase id. */
  readonly #given = new Map<string, number>();
  /** Ids that a reversal of this chain spent (its purchase was not there). */
  readonly #spent = new Set<string>();

  constructor(
    private readonly accountId: string,
    private readonly context: ReversalContext,
  ) {}

  /** True when a reversal earlier in this chain spent `id`: a purchase with it is refused with `07 reversed`. */
  spent(id: string): boolean {
    return this.#spent.has(id);
  }

  /** Decides one reversal on the chain's running state: a record to commit, or a `07` refusal. */
  step(job: Extract<Job, { kind: 'reversal' }>, base: RecordBase, balances: Balances): Step | Outcome {
    const { originalId, amount } = job.request;
    const original = this.#planned.get(originalId) ?? this.context.record(originalId);
    const reversedSoFar = this.context.reversed(originalId) + (this.#given.get(originalId) ?? 0);
    const decision = decideReversal({ accountId: this.accountId, amount, original, reversedSoFar, balances });
    if (decision.code === '07') return refused(job.id, decision.reason);
    const record: TransactionRecord = {
      ...base,
      kind: 'reversal',
      amount: decision.restored,
      mcc: null,
      merchant: null,
      category: decision.category,
      appliedCategory: decision.appliedCategory,
      code: '00',
      reason: decision.reason,
      originalId,
    };
    if (decision.appliedCategory === null) return { record, balances: decision.balances };
    const entry = ledgerEntry(record, 'reversal', decision.appliedCategory, decision.restored, decision.balances);
    return { record, balances: decision.balances, entry };
  }

  /** Takes note of a record the chain will commit. */
  planned(record: TransactionRecord): void {
    this.#planned.set(record.id, record);
    if (record.kind !== 'reversal' || record.originalId === undefined) return;
    this.#given.set(record.originalId, (this.#given.get(record.originalId) ?? 0) + record.amount);
    if (record.reason === 'original_unknown') this.#spent.add(record.originalId);
  }
}
