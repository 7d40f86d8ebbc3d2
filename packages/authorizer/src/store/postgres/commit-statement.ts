import type { Balances, LedgerEntry, TransactionRecord } from '../../domain/types.js';
import type { CommitRequest } from '../port.js';

/**
 * A whole commit as one statement (one round trip, atomic in autocommit), with data-modifying CTEs that all see the
 * statement's snapshot:
 * - `dup`: the chain's record ids that exist already, and the account's reversals whose original is one of them (an id
 *   spent by a reversal that came first); any of them refuses the chain;
 * - `upd`: the compare-and-set on the account version and, when the commit carries an owner epoch ($29), on the stored
 *   epoch being no newer (it then stores that epoch), whose balance terms refuse new balances that the ledger
 *   deltas do not explain (READ COMMITTED: it waits on a concurrent writer's row lock, then re-checks the new row);
 * - `ins_records`, `ins_ledger`: the chain's rows, only when `upd` happened.
 * A record id inserted by another writer after the snapshot makes `ON CONFLICT` skip that row (after waiting for the
 * other writer to commit): fewer rows than records went in, and `catraca_raise` (migration 3) fails the whole
 * statement, UPDATE included. When `upd` did not happen, the account row as of the snapshot tells why: absent
 * (unknown account), another version, or the expected version with balances that do not add up (a caller bug); the
 * expected version with balances that add up means the row changed after the snapshot (a version conflict).
 */
export const COMMIT_STATEMENT_NAME = 'catraca_commit_v3';

export const COMMIT_STATEMENT_TEXT = `
WITH dup AS (
  SELECT * FROM transactions WHERE id = ANY($1::text[])
  UNION
  SELECT * FROM transactions WHERE original_id = ANY($1::text[]) AND account_id = $2
), upd AS (
  UPDATE accounts SET food = $4, meal = $5, cash = $6, version = version + $10,
    owner_epoch = COALESCE($29::bigint, owner_epoch)
  WHERE id = $2 AND version = $3 AND ($29::bigint IS NULL OR owner_epoch <= $29::bigint)
    AND food + $7 = $4 AND meal + $8 = $5 AND cash + $9 = $6
    AND NOT EXISTS (SELECT 1 FROM dup)
  RETURNING 1
), ins_records AS (
  INSERT INTO transactions (id, account_id, kind, amount, mcc, merchant, category, applied_category, code, reason,
    payload_hash, version, created_at, original_id)
  SELECT r.id, $2, r.kind, r.amount, r.mcc, r.merchant, r.category, r.applied_category, r.code, r.reason,
    r.payload_hash, $3 + r.ord, r.created_at, r.original_id
  FROM unnest($1::text[], $11::text[], $12::bigint[], $13::text[], $14::text[], $15::text[], $16::text[], $17::text[],
    $18::text[], $19::text[], $20::timestamptz[], $28::text[]) WITH ORDINALITY
    AS r (id, kind, amount, mcc, merchant, category, applied_category, code, reason, payload_hash, created_at,
      original_id, ord)
  WHERE EXISTS (SELECT 1 FROM upd)
  ON CONFLICT (id) DO NOTHING
  RETURNING 1
), ins_ledger AS (
  INSERT INTO ledger (account_id, transaction_id, kind, category, delta, balance_after, version, created_at)
  SELECT $2, e.transaction_id, e.kind, e.category, e.delta, e.balance_after, e.version, e.created_at
  FROM unnest($21::text[], $22::text[], $23::text[], $24::bigint[], $25::bigint[], $26::bigint[],
    $27::timestamptz[]) WITH ORDINALITY
    AS e (transaction_id, kind, category, delta, balance_after, version, created_at, ord)
  WHERE EXISTS (SELECT 1 FROM upd)
  ORDER BY e.ord
)
SELECT
  EXISTS (SELECT 1 FROM upd) AS updated,
  CASE WHEN EXISTS (SELECT 1 FROM upd) AND (SELECT count(*) FROM ins_records) <> $10
    THEN catraca_raise('a record id of the chain was inserted concurrently') END AS late_duplicate,
  (SELECT json_agg(json_build_object(
      'id', d.id, 'account_id', d.account_id, 'kind', d.kind, 'amount', d.amount::text, 'mcc', d.mcc,
      'merchant', d.merchant, 'category', d.category, 'applied_category', d.applied_category, 'code', d.code,
      'reason', d.reason, 'payload_hash', d.payload_hash, 'version', d.version::text, 'original_id', d.original_id,
      'created_at', to_char(d.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')))
    FROM dup d) AS existing,
  a.version AS snapshot_version,
  ($29::bigint IS NOT NULL AND a.owner_epoch > $29::bigint) AS snapshot_fenced,
  (a.food + $7 = $4 AND a.meal + $8 = $5 AND a.cash + $9 = $6) AS snapshot_conserved
FROM (SELECT 1) AS one LEFT JOIN accounts a ON a.id = $2
`;

/** The statement's parameters, in the order of its `$n`. */
export function commitStatementValues(request: CommitRequest, deltas: Balances): unknown[] {
  const { accountId, expectedVersion, balances, ledger, records } = request;
  const record = <K extends keyof TransactionRecord>(key: K) => records.map((r) => r[key]);
  const entry = <K extends keyof LedgerEntry>(key: K) => ledger.map((e) => e[key]);
  return [
    record('id'),
    accountId,
    expectedVersion,
    balances.FOOD,
    balances.MEAL,
    balances.CASH,
    deltas.FOOD,
    deltas.MEAL,
    deltas.CASH,
    records.length,
    record('kind'),
    record('amount'),
    record('mcc'),
    record('merchant'),
    record('category'),
    record('appliedCategory'),
    record('code'),
    record('reason'),
    record('payloadHash'),
    record('createdAt'),
    entry('transactionId'),
    entry('kind'),
    entry('category'),
    entry('delta'),
    entry('balanceAfter'),
    entry('version'),
    entry('createdAt'),
    records.map((r) => r.originalId ?? null),
    request.ownerEpoch === undefined ? null : request.ownerEpoch.toString(),
  ];
}
