/**
 * The invariant checker: reads the store directly (every account's record history and ledger) and compares it with
 * itself and with what the clients were told. Violations are findings, never retried away.
 *
 * Checked, per account and category:
 * - conservation: opening + stored credits − stored approved debits + stored reversals = the account's balance = the
 *   ledger's sum;
 * - no balance ever negative: every ledger entry's balanceAfter ≥ 0, and it follows from the previous one;
 * - at most once: every id is stored once, has at most one ledger entry, and the version counts the records;
 * - every stored record is an operation a client sent (same account, amount, category or MCC);
 * - every `00` (and `51`) a client saw is stored with that code, every acknowledged credit is stored;
 * - every answer was `00`, `51` or `07` (a non-nginx HTTP error or another body is a violation);
 * - reversals: one never gives back more than its purchase took, nor to another category; a purchase and a reversal
 *   that spent its id (`original_unknown`) never both stand on one account; no purchase is both approved and refused
 *   as reversed; every reversal a client saw acknowledged is stored with that answer; every stored one was sent.
 */
import { CATEGORIES, type Balances, type LedgerEntry, type Store, type TransactionRecord } from '@catraca/authorizer';
import { RETRIED_REASONS, type Attempt, type CreditOp, type DebitOp, type ReversalOp } from './load.js';

export interface CheckInput {
  store: Store;
  /** Every account with its opening balances (centavos). */
  openings: ReadonlyMap<string, Balances>;
  debits: ReadonlyMap<string, DebitOp>;
  credits: ReadonlyMap<string, CreditOp>;
  /** Reversals sent (none when the load sent none). */
  reversals?: ReadonlyMap<string, ReversalOp>;
  attempts: readonly Attempt[];
}

export interface Verdict {
  ok: boolean;
  /** Each violation: the invariant, then the evidence (account, id, values). */
  violations: string[];
  /** Figures of what was checked. */
  checked: { accounts: number; records: number; ledgerEntries: number; approvals: number; credits: number; reversals: number };
  /** Oddities that are not invariant violations (e.g. unexpected 07 reasons), reported. */
  notes: string[];
}

async function allRecords(store: Store, accountId: string): Promise<TransactionRecord[]> {
  const records: TransactionRecord[] = [];
  let before: number | undefined;
  for (;;) {
    const page = await store.listTransactions(accountId, before === undefined ? { limit: 1_000 } : { limit: 1_000, before });
    records.push(...page.items);
    if (page.nextBefore === undefined) return records;
    before = page.nextBefore;
  }
}

const zero = (): Balances => ({ FOOD: 0, MEAL: 0, CASH: 0 });

export async function checkInvariants(input: CheckInput): Promise<Verdict> {
  const violations: string[] = [];
  const notes: string[] = [];
  const fail = (invariant: string, evidence: string): void => {
    violations.push(`${invariant}: ${evidence}`);
  };
  const checked = { accounts: 0, records: 0, ledgerEntries: 0, approvals: 0, credits: 0, reversals: 0 };
  const sentReversals = input.reversals ?? new Map<string, ReversalOp>();
  const stored = new Map<string, TransactionRecord>();

  for (const [accountId, opening] of input.openings) {
    checked.accounts++;
    const account = await input.store.getAccount(accountId);
    if (!account) {
      fail('account exists', accountId);
      continue;
    }
    const records = await allRecords(input.store, accountId);
    const ledger: LedgerEntry[] = await input.store.listLedger(accountId);
    checked.records += records.length;
    checked.ledgerEntries += ledger.length;

    // At most once: ids unique (across every account), versions 1..n, one per record.
    const versions = new Set<number>();
    for (const record of records) {
      if (stored.has(record.id)) fail('id applied at most once', `${record.id} stored twice (account ${accountId})`);
      stored.set(record.id, record);
      versions.add(record.version);
    }
    if (account.version !== records.length || versions.size !== records.length) {
      fail('version counts the records', `${accountId}: version ${account.version}, ${records.length} records, ${versions.size} distinct versions`);
    }

    // Conservation from the records.
    const credited = zero();
    const debited = zero();
    const restored = zero();
    for (const record of records) {
      if (record.kind === 'reversal') {
        if (record.appliedCategory !== null) restored[record.appliedCategory] += record.amount;
        else if (record.amount !== 0) fail('a reversal gives back to a category', `${accountId} ${record.id}: ${record.amount}`);
        checked.reversals++;
      } else if (record.kind === 'credit') {
        credited[record.category!] += record.amount;
        checked.credits++;
      } else if (record.code === '00') {
        if (record.appliedCategory === null) fail('approved debit has a category', `${accountId} ${record.id}`);
        else debited[record.appliedCategory] += record.amount;
        checked.approvals++;
      } else if (record.appliedCategory !== null) {
        fail('a decline changes nothing', `${accountId} ${record.id} declined but applied to ${record.appliedCategory}`);
      }
    }

    // The ledger: running balances, never negative, one entry per balance change, matching the records.
    const running = zero();
    const ledgerSum = zero();
    const openingSeen = zero();
    const entriesOf = new Map<string, LedgerEntry[]>();
    for (const entry of ledger) {
      const expected = running[entry.category] + entry.delta;
      if (entry.balanceAfter !== expected) {
        fail('ledger balanceAfter follows', `${accountId} ${entry.category} v${entry.version} ${entry.transactionId}: balanceAfter ${entry.balanceAfter}, previous + delta = ${expected}`);
      }
      if (entry.balanceAfter < 0 || expected < 0) {
        fail('no balance ever negative', `${accountId} ${entry.category} v${entry.version} ${entry.transactionId}: ${entry.balanceAfter}`);
      }
      running[entry.category] = entry.balanceAfter;
      ledgerSum[entry.category] += entry.delta;
      if (entry.kind === 'opening') openingSeen[entry.category] += entry.delta;
      else if (entry.transactionId === null) fail('ledger entry names its transaction', `${accountId} v${entry.version}`);
      else entriesOf.set(entry.transactionId, [...(entriesOf.get(entry.transactionId) ?? []), entry]);
    }
    for (const record of records) {
      const entries = entriesOf.get(record.id) ?? [];
      entriesOf.delete(record.id);
      const changes = record.kind === 'reversal' ? record.amount > 0 : record.kind === 'credit' || record.code === '00';
      if (entries.length !== (changes ? 1 : 0)) {
        fail('one ledger entry per balance change', `${accountId} ${record.id} (${record.kind} ${record.code}): ${entries.length} entries`);
        continue;
      }
      const entry = entries[0];
      if (!entry) continue;
      const delta = record.kind === 'debit' ? -record.amount : record.amount;
      const category = record.kind === 'credit' ? record.category : record.appliedCategory;
      if (entry.delta !== delta || entry.category !== category || entry.version !== record.version) {
        fail('ledger entry matches its record', `${accountId} ${record.id}: entry ${entry.category} ${entry.delta} v${entry.version}, record ${category} ${delta} v${record.version}`);
      }
    }
    for (const [id, entries] of entriesOf) fail('ledger entry has a record', `${accountId} ${id}: ${entries.length} entries, no record`);

    for (const category of CATEGORIES) {
      const start = opening[category];
      if (openingSeen[category] !== start) {
        fail('opening balance as created', `${accountId} ${category}: ledger opening ${openingSeen[category]}, created with ${start}`);
      }
      const expected = start + credited[category] - debited[category] + restored[category];
      const balance = account.balances[category];
      if (balance !== expected || ledgerSum[category] !== balance) {
        fail(
          'start + credits − approved debits + reversals = balance',
          `${accountId} ${category}: start ${start} + credits ${credited[category]} − debits ${debited[category]} + reversals ${restored[category]} = ${expected}; balance ${balance}; ledger sum ${ledgerSum[category]}`,
        );
      }
      if (balance < 0) fail('no balance ever negative', `${accountId} ${category}: final balance ${balance}`);
    }

    // Every stored record is an operation a client sent, as sent.
    for (const record of records) {
      if (record.kind === 'reversal') {
        const op = sentReversals.get(record.id);
        if (!op) fail('stored reversal was sent', `${accountId} ${record.id}: no client sent it`);
        else if (op.account !== accountId || op.original !== record.originalId) {
          fail('stored reversal as sent', `${record.id}: sent ${op.account} of ${op.original}, stored ${accountId} of ${record.originalId}`);
        }
      } else if (record.kind === 'debit') {
        const op = input.debits.get(record.id);
        if (!op) fail('stored debit was sent', `${accountId} ${record.id}: no client sent it`);
        else if (op.account !== accountId || op.amount !== record.amount || op.mcc !== record.mcc) {
          fail('stored debit as sent', `${record.id}: sent ${op.account} ${op.amount} ${op.mcc}, stored ${accountId} ${record.amount} ${record.mcc}`);
        }
      } else {
        const op = input.credits.get(record.id);
        if (!op) fail('stored credit was sent', `${accountId} ${record.id}: no client sent it`);
        else if (op.account !== accountId || op.amount !== record.amount || op.category !== record.category) {
          fail('stored credit as sent', `${record.id}: sent ${op.account} ${op.category} ${op.amount}, stored ${accountId} ${record.category} ${record.amount}`);
        }
      }
    }
  }

  // Reversals against their purchases (the whole history is read by now).
  const givenBack = new Map<string, number>();
  for (const record of stored.values()) {
    if (record.kind !== 'reversal' || record.originalId === undefined) continue;
    const purchase = stored.get(record.originalId);
    const where = `${record.accountId} ${record.id} of ${record.originalId}`;
    if (record.reason === 'original_unknown') {
      if (purchase && purchase.accountId === record.accountId) {
        fail('a purchase and a reversal that spent its id never both stand', `${where}: purchase stored v${purchase.version} (${purchase.code}), reversal v${record.version}`);
      }
      continue;
    }
    if (!purchase || purchase.kind !== 'debit' || purchase.accountId !== record.accountId) {
      fail('a reversal reverses a purchase of its account', `${where}: ${purchase ? `${purchase.kind} of ${purchase.accountId}` : 'no such purchase'}`);
      continue;
    }
    if (record.amount > 0 && record.appliedCategory !== purchase.appliedCategory) {
      fail('a reversal gives back to the category its purchase debited', `${where}: ${record.appliedCategory}, purchase ${purchase.appliedCategory}`);
    }
    if (record.version < purchase.version) fail('a reversal comes after its purchase', `${where}: v${record.version} < v${purchase.version}`);
    const total = (givenBack.get(purchase.id) ?? 0) + record.amount;
    givenBack.set(purchase.id, total);
    const took = purchase.code === '00' ? purchase.amount : 0;
    if (total > took) fail('a reversal never restores more than its purchase took', `${where}: ${total} given back, purchase took ${took}`);
  }

  // What the clients were told.
  for (const op of input.debits.values()) {
    if (op.seen.size > 1) fail('one answer per id', `${op.id} (${op.account}): the client saw ${[...op.seen].join(' and ')}`);
    for (const code of op.seen) {
      const record = stored.get(op.id);
      if (!record) fail(`every ${code} a client saw is stored`, `${op.id} (${op.account}, ${op.amount}): not in the store`);
      else if (record.code !== code) fail(`every ${code} a client saw is stored`, `${op.id} (${op.account}): stored with ${record.code}`);
    }
  }
  for (const op of input.debits.values()) {
    if (!op.refusedAsReversed) continue;
    const record = stored.get(op.id);
    if (op.seen.has('00') || record?.code === '00') fail('no purchase both approved and refused as reversed', `${op.id} (${op.account})`);
    else if (record) fail('a purchase refused as reversed changes nothing', `${op.id} (${op.account}): stored with ${record.code}`);
  }
  for (const op of input.credits.values()) {
    if (op.acknowledged && !stored.has(op.id)) fail('every acknowledged credit is stored', `${op.id} (${op.account} ${op.category} ${op.amount})`);
  }
  for (const op of sentReversals.values()) {
    if (op.seen.size > 1) fail('one answer per id', `${op.id} (${op.account}): the client saw ${[...op.seen].join(' and ')}`);
    for (const reason of op.seen) {
      const record = stored.get(op.id);
      if (!record) fail('every acknowledged reversal is stored', `${op.id} (${op.account}, of ${op.original}): not in the store`);
      else if (record.reason !== reason) fail('every acknowledged reversal is stored', `${op.id}: answered ${reason}, stored ${record.reason}`);
    }
  }
  const reasons = new Map<string, number>();
  for (const attempt of input.attempts) {
    if (attempt.outcome === 'invalid') fail('every response is 00, 51 or 07', `${attempt.opId}: ${attempt.detail}`);
    if (attempt.outcome === '07' && attempt.detail !== 'deadline_exceeded' && attempt.detail !== 'unavailable') {
      const key = attempt.kind === 'reversal' ? `${attempt.detail} (reversal)` : attempt.detail;
      reasons.set(key, (reasons.get(key) ?? 0) + 1);
    }
  }
  for (const [key, count] of reasons) {
    // in_progress and outcome_unknown say the outcome is not known yet: the load retried them with the same id.
    const reason = key.replace(' (reversal)', '');
    const why = RETRIED_REASONS.has(reason) ? 'outcome not known yet: retried with the same id' : 'not a passing condition';
    notes.push(`${count} × 07 ${key || '(no reason)'} (${why})`);
  }

  return { ok: violations.length === 0, violations, checked, notes };
}
