import { decide, normalizeMerchantName } from '../domain/index.js';
import type { Account, LedgerEntry, MerchantRule, TransactionRecord } from '../domain/types.js';
import type { CommitRequest } from '../store/port.js';
import type { Job } from './authorizer.js';

/** A chain of decisions on one account, ready to commit, and the account as it will be once committed. */
export interface Planned {
  request: CommitRequest;
  after: Account;
}

/**
 * Decides `jobs` in order on `account`'s running balances: each decision sees the balances the previous ones left.
 * Pure: no I/O, the clock aside (records carry their decision time).
 */
export function planChain(account: Account, jobs: readonly Job[], rules: readonly MerchantRule[]): Planned {
  const records: TransactionRecord[] = [];
  const ledger: LedgerEntry[] = [];
  let balances = account.balances;
  let version = account.version;
  const createdAt = new Date().toISOString();
  for (const job of jobs) {
    version += 1;
    const base = { id: job.id, accountId: account.id, amount: job.request.amount, payloadHash: job.hash, version, createdAt };
    if (job.kind === 'debit') {
      const decision = decide({
        balances,
        amount: job.request.amount,
        mcc: job.request.mcc,
        merchantName: normalizeMerchantName(job.request.merchant),
        rules,
      });
      balances = decision.balances;
      records.push({
        ...base,
        kind: 'debit',
        mcc: job.request.mcc,
        merchant: job.request.merchant,
        category: decision.category,
        appliedCategory: decision.appliedCategory,
        code: decision.code,
        reason: decision.code === '00' ? 'approved' : 'insufficient_funds',
      });
      if (decision.appliedCategory !== null) {
        ledger.push({
          accountId: account.id,
          transactionId: job.id,
          kind: 'debit',
          category: decision.appliedCategory,
          delta: -job.request.amount,
          balanceAfter: balances[decision.appliedCategory],
          version,
          createdAt,
        });
      }
    } else {
      const { category, amount } = job.request;
      balances = { ...balances, [category]: balances[category] + amount };
      records.push({
        ...base,
        kind: 'credit',
        mcc: null,
        merchant: null,
        category,
        appliedCategory: category,
        code: '00',
        reason: 'credited',
      });
      ledger.push({
        accountId: account.id,
        transactionId: job.id,
        kind: 'credit',
        category,
        delta: amount,
        balanceAfter: balances[category],
        version,
        createdAt,
      });
    }
  }
  return {
    request: { accountId: account.id, expectedVersion: account.version, balances, ledger, records },
    after: { ...account, balances, version },
  };
}
