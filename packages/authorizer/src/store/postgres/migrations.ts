/** One schema step. Versions only grow; an applied step is never edited, a change is a new step. */
export interface PostgresMigration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

/** Key of the advisory lock that serializes migrations across replicas starting together. */
export const MIGRATION_LOCK_KEY = 0x43_41_54_52; // "CATR"

/** SQLSTATE raised by `catraca_raise` (a class of its own, unused by PostgreSQL). */
export const LATE_DUPLICATE_SQLSTATE = 'CT001';

const CATEGORY = `('FOOD', 'MEAL', 'CASH')`;

/*
 * Money and versions are BIGINT (centavos), read back as strings and range-checked into safe JS integers. The CHECKs
 * repeat the domain rules (no negative balance, positive amounts, known enums) as a last line of defence.
 */
export const POSTGRES_MIGRATIONS: readonly PostgresMigration[] = Object.freeze([
  {
    version: 1,
    name: 'accounts, transactions, ledger, merchant rules',
    sql: `
      CREATE TABLE accounts (
        id TEXT PRIMARY KEY,
        food BIGINT NOT NULL CHECK (food >= 0),
        meal BIGINT NOT NULL CHECK (meal >= 0),
        cash BIGINT NOT NULL CHECK (cash >= 0),
        version BIGINT NOT NULL CHECK (version >= 0),
        created_at TIMESTAMPTZ NOT NULL
      );

      CREATE TABLE transactions (
        id TEXT PRIMARY KEY,
        account_id TEXT NOT NULL REFERENCES accounts (id),
        kind TEXT NOT NULL CHECK (kind IN ('debit', 'credit')),
        amount BIGINT NOT NULL CHECK (amount > 0),
        mcc TEXT,
        merchant TEXT,
        category TEXT NOT NULL CHECK (category IN ${CATEGORY}),
        applied_category TEXT CHECK (applied_category IN ${CATEGORY}),
        code TEXT NOT NULL CHECK (code IN ('00', '51')),
        reason TEXT NOT NULL CHECK (reason IN ('approved', 'insufficient_funds', 'credited')),
        payload_hash TEXT NOT NULL,
        version BIGINT NOT NULL CHECK (version > 0),
        created_at TIMESTAMPTZ NOT NULL,
        -- One record per account version: a second writer of the same version cannot slip in.
        CONSTRAINT transactions_account_version UNIQUE (account_id, version)
      );

      CREATE TABLE ledger (
        seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        account_id TEXT NOT NULL REFERENCES accounts (id),
        transaction_id TEXT REFERENCES transactions (id),
        kind TEXT NOT NULL CHECK (kind IN ('opening', 'debit', 'credit')),
        category TEXT NOT NULL CHECK (category IN ${CATEGORY}),
        delta BIGINT NOT NULL,
        balance_after BIGINT NOT NULL CHECK (balance_after >= 0),
        version BIGINT NOT NULL CHECK (version >= 0),
        created_at TIMESTAMPTZ NOT NULL,
        CHECK ((kind = 'opening') = (transaction_id IS NULL))
      );
      CREATE INDEX ledger_account_version ON ledger (account_id, version, seq);

      CREATE TABLE merchant_rules (
        match TEXT PRIMARY KEY,
        category TEXT NOT NULL CHECK (category IN ${CATEGORY})
      );
    `,
  },
  {
    version: 2,
    name: 'store metadata (merchant rules seeded once)',
    // A database that has rules already was seeded before this step existed: it must not be seeded again.
    sql: `
      CREATE TABLE store_meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
      );

      INSERT INTO store_meta (key, value)
        SELECT 'merchant_rules_seeded', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
        WHERE EXISTS (SELECT 1 FROM merchant_rules);
    `,
  },
  {
    version: 3,
    name: 'catraca_raise: fails the single-statement commit that lost a record-id race',
    // Called from a CASE inside the commit statement, so that the whole statement (its UPDATE too) rolls back.
    sql: `
      CREATE OR REPLACE FUNCTION catraca_raise(message TEXT) RETURNS BOOLEAN
      LANGUAGE plpgsql VOLATILE AS $$
      BEGIN
        RAISE EXCEPTION USING ERRCODE = '${LATE_DUPLICATE_SQLSTATE}', MESSAGE = message;
      END;
      $$;
    `,
  },
  {
    version: 4,
    name: 'reversals: transaction kind, original id, zero-amount reversals; ledger kind',
    sql: `
      ALTER TABLE transactions
        ADD COLUMN original_id TEXT,
        ALTER COLUMN category DROP NOT NULL,
        DROP CONSTRAINT transactions_kind_check,
        DROP CONSTRAINT transactions_amount_check,
        DROP CONSTRAINT transactions_reason_check,
        ADD CONSTRAINT transactions_kind_check CHECK (kind IN ('debit', 'credit', 'reversal')),
        ADD CONSTRAINT transactions_amount_check CHECK (amount > 0 OR (kind = 'reversal' AND amount = 0)),
        ADD CONSTRAINT transactions_reason_check CHECK (reason IN ('approved', 'insufficient_funds', 'credited',
          'reversed', 'nothing_to_reverse', 'original_unknown')),
        ADD CONSTRAINT transactions_original_check CHECK ((kind = 'reversal') = (original_id IS NOT NULL)),
        ADD CONSTRAINT transactions_category_present CHECK (category IS NOT NULL OR kind = 'reversal');
      -- A purchase's reversals, and the reversals that spent an id before its purchase arrived.
      CREATE INDEX transactions_original ON transactions (original_id, account_id) WHERE original_id IS NOT NULL;

      ALTER TABLE ledger
        DROP CONSTRAINT ledger_kind_check,
        ADD CONSTRAINT ledger_kind_check CHECK (kind IN ('opening', 'debit', 'credit', 'reversal'));
    `,
  },
  {
    version: 5,
    name: 'owner epoch (cluster ownership fencing)',
    // The epoch (lock fencing token) of the last owner that committed; 0 = none yet. A commit with an older one fails.
    sql: `ALTER TABLE accounts ADD COLUMN IF NOT EXISTS owner_epoch BIGINT NOT NULL DEFAULT 0 CHECK (owner_epoch >= 0);`,
  },
]);
