import { decide, normalizeMerchantName } from '../domain/index.js';
import type { Account, Balances, LedgerEntry, MerchantRule, TransactionRecord } from '../domain/types.js';
import { ledgerEntry, type RecordBase, type Step } from './chain-step.js';
import type { CommitRequest } from '../store/port.js';
import type { Job } from './authorizer.js';
import { fromRecord, refused, type Outcome } from './outcome.js';
import { ReversalContext } from './reversal-context.js';
import { ChainReversals } from './plan-reversal.js';

/** A chain of decisions on one account, ready to commit, and the account as it will be once committed. */
export interface Planned {
  /** The commit; undefined when no job of the chain writes anything (every one refused). */
  request: CommitRequest | undefined;
  after: Account;
  /** One per job, in order: its fresh decision (a record) or its refusal; valid once `request` is committed. */
  outcomes: Outcome[];
}

/**
 * Decides `jobs` in order on `account`'s running balances: each decision sees the balances and the records the
 * previous ones left (a reversal sees a purchase decided earlier in the chain; a purchase whose id a reversal earlier
 * in the chain spent is refused). Pure: no I/O, the clock aside (records carry their decision time).
 */
export function planChain(
  account: Account,
  jobs: readonly Job[],
  rules: readonly MerchantRule[],
  context: ReversalContext = ReversalContext.EMPTY,
): Planned {
  const records: TransactionRecord[] = [];
  const ledger: LedgerEntry[] = [];
  const outcomes: Outcome[] = [];
  const reversals = new ChainReversals(account.id, context);
  let balances = account.balances;
  let version = account.version;
  const createdAt = new Date().toISOString();
  for (const job of jobs) {
    const base = { id: job.id, accountId: account.id, payloadHash: job.hash, version: version + 1, createdAt };
    let step: Step | Outcome;
    if (job.kind !== 'reversal' && reversals.spent(job.id)) step = refused(job.id, 'reversed');
    else if (job.kind === 'debit') step = debitStep(job, base, balances, rules);
    else if (job.kind === 'credit') step = creditStep(job, base, balances);
    else step = reversals.step(job, base, balances);
    if ('code' in step) {
      outcomes.push(step);
      continue;
    }
    version += 1;
    balances = step.balances;
    records.push(step.record);
    if (step.entry) ledger.push(step.entry);
    reversals.planned(step.record);
    outcomes.push(fromRecord(step.record, false));
  }
  return {
    request:
      records.length === 0
        ? undefined
        : { accountId: account.id, expectedVersion: account.version, balances, ledger, records },
    after: { ...account, balances, version },
    outcomes,
  };
}

function debitStep(
  job: Extract<Job, { kind: 'debit' }>,
  base: RecordBase,
  balances: Balances,
  rules: readonly MerchantRule[],
): Step {
  const { amount, mcc, merchant } = job.request;
  const decision = decide({ balances, amount, mcc, merchantName: normalizeMerchantName(merchant), rules });
  const record: TransactionRecord = {
    ...base,
    kind: 'debit',
    amount,
    mcc,
    merchant,
    category: decision.category,
    appliedCategory: decision.appliedCategory,
    code: decision.code,
    reason: decision.code === '00' ? 'approved' : 'insufficient_funds',
  };
  const applied = decision.appliedCategory;
  if (applied === null) return { record, balances: decision.balances };
  return { record, balances: decision.balances, entry: ledgerEntry(record, 'debit', applied, -amount, decision.balances) };
}

function creditStep(job: Extract<Job, { kind: 'credit' }>, base: RecordBase, balances: Balances): Step {
  const { category, amount } = job.request;
  const after = { ...balances, [category]: balances[category] + amount };
  const record: TransactionRecord = {
    ...base,
    kind: 'credit',
    amount,
    mcc: null,
    merchant: null,
    category,
    appliedCategory: category,
    code: '00',
    reason: 'credited',
  };
  return { record, balances: after, entry: ledgerEntry(record, 'credit', category, amount, after) };
}
