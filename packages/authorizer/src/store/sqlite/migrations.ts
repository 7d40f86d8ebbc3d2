/** One schema step. Versions only grow; an applied step is never edited, a change is a new step. */
export interface SqliteMigration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

const REASON = `('approved', 'insufficient_funds', 'credited', 'reversed', 'nothing_to_reverse', 'original_unknown')`;

const CATEGORY = `('FOOD', 'MEAL', 'CASH')`;

/*
 * STRICT tables make SQLite refuse a REAL or TEXT where an INTEGER belongs, and the CHECKs repeat the domain rules
 * (no negative balance, positive amounts, known enums) as a last line of defence behind the service.
 */
export const SQLITE_MIGRATIONS: readonly SqliteMigration[] = Object.freeze([
  {
    version: 1,
    name: 'accounts, transactions, ledger, merchant rules',
    sql: `
      CREATE TABLE accounts (
        id TEXT PRIMARY KEY NOT NULL,
        food INTEGER NOT NULL CHECK (food >= 0),
        meal INTEGER NOT NULL CHECK (meal >= 0),
        cash INTEGER NOT NULL CHECK (cash >= 0),
        version INTEGER NOT NULL CHECK (version >= 0),
        created_at TEXT NOT NULL
      ) STRICT;

      CREATE TABLE transactions (
        id TEXT PRIMARY KEY NOT NULL,
        account_id TEXT NOT NULL REFERENCES accounts (id),
        kind TEXT NOT NULL CHECK (kind IN ('debit', 'credit')),
        amount INTEGER NOT NULL CHECK (amount > 0),
        mcc TEXT,
        merchant TEXT,
        category TEXT NOT NULL CHECK (category IN ${CATEGORY}),
        applied_category TEXT CHECK (applied_category IN ${CATEGORY}),
        code TEXT NOT NULL CHECK (code IN ('00', '51')),
        reason TEXT NOT NULL CHECK (reason IN ('approved', 'insufficient_funds', 'credited')),
        payload_hash TEXT NOT NULL,
        version INTEGER NOT NULL CHECK (version > 0),
        created_at TEXT NOT NULL
      ) STRICT;
      -- One record per account version: a second writer of the same version cannot slip in.
      CREATE UNIQUE INDEX transactions_account_version ON transactions (account_id, version);

      CREATE TABLE ledger (
        seq INTEGER PRIMARY KEY,
        account_id TEXT NOT NULL REFERENCES accounts (id),
        transaction_id TEXT REFERENCES transactions (id),
        kind TEXT NOT NULL CHECK (kind IN ('opening', 'debit', 'credit')),
        category TEXT NOT NULL CHECK (category IN ${CATEGORY}),
        delta INTEGER NOT NULL,
        balance_after INTEGER NOT NULL CHECK (balance_after >= 0),
        version INTEGER NOT NULL CHECK (version >= 0),
        created_at TEXT NOT NULL,
        CHECK ((kind = 'opening') = (transaction_id IS NULL))
      ) STRICT;
      CREATE INDEX ledger_account_version ON ledger (account_id, version);

      CREATE TABLE merchant_rules (
        match TEXT PRIMARY KEY NOT NULL,
        category TEXT NOT NULL CHECK (category IN ${CATEGORY})
      ) STRICT;
    `,
  },
  {
    version: 2,
    name: 'store metadata (merchant rules seeded once)',
    // A database that has rules already was seeded before this step existed: it must not be seeded again.
    sql: `
      CREATE TABLE store_meta (
        key TEXT PRIMARY KEY NOT NULL,
        value TEXT NOT NULL
      ) STRICT;

      INSERT INTO store_meta (key, value)
        SELECT 'merchant_rules_seeded', strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
        WHERE EXISTS (SELECT 1 FROM merchant_rules);
    `,
  },
  {
    version: 3,
    name: 'reversals: transaction kind, original id, zero-amount reversals; ledger kind',
    // SQLite cannot alter a CHECK: both tables are rebuilt (sqlite.org/lang_altertable.html, "other kinds of table
    // schema changes"), which the runner does with foreign keys off and a foreign_key_check before the commit.
    sql: `
      CREATE TABLE transactions_v3 (
        id TEXT PRIMARY KEY NOT NULL,
        account_id TEXT NOT NULL REFERENCES accounts (id),
        kind TEXT NOT NULL CHECK (kind IN ('debit', 'credit', 'reversal')),
        amount INTEGER NOT NULL CHECK (amount > 0 OR (kind = 'reversal' AND amount = 0)),
        mcc TEXT,
        merchant TEXT,
        category TEXT CHECK (category IN ${CATEGORY}),
        applied_category TEXT CHECK (applied_category IN ${CATEGORY}),
        code TEXT NOT NULL CHECK (code IN ('00', '51')),
        reason TEXT NOT NULL CHECK (reason IN ${REASON}),
        payload_hash TEXT NOT NULL,
        version INTEGER NOT NULL CHECK (version > 0),
        created_at TEXT NOT NULL,
        original_id TEXT,
        CHECK ((kind = 'reversal') = (original_id IS NOT NULL)),
        CHECK (category IS NOT NULL OR kind = 'reversal')
      ) STRICT;
      INSERT INTO transactions_v3 (id, account_id, kind, amount, mcc, merchant, category, applied_category, code, reason,
          payload_hash, version, created_at)
        SELECT id, account_id, kind, amount, mcc, merchant, category, applied_category, code, reason, payload_hash,
          version, created_at
        FROM transactions;
      DROP TABLE transactions;
      ALTER TABLE transactions_v3 RENAME TO transactions;
      CREATE UNIQUE INDEX transactions_account_version ON transactions (account_id, version);
      -- A purchase's reversals, and the reversals that spent an id before its purchase arrived.
      CREATE INDEX transactions_original ON transactions (original_id, account_id) WHERE original_id IS NOT NULL;

      CREATE TABLE ledger_v3 (
        seq INTEGER PRIMARY KEY,
        account_id TEXT NOT NULL REFERENCES accounts (id),
        transaction_id TEXT REFERENCES transactions (id),
        kind TEXT NOT NULL CHECK (kind IN ('opening', 'debit', 'credit', 'reversal')),
        category TEXT NOT NULL CHECK (category IN ${CATEGORY}),
        delta INTEGER NOT NULL,
        balance_after INTEGER NOT NULL CHECK (balance_after >= 0),
        version INTEGER NOT NULL CHECK (version >= 0),
        created_at TEXT NOT NULL,
        CHECK ((kind = 'opening') = (transaction_id IS NULL))
      ) STRICT;
      INSERT INTO ledger_v3 (seq, account_id, transaction_id, kind, category, delta, balance_after, version, created_at)
        SELECT seq, account_id, transaction_id, kind, category, delta, balance_after, version, created_at FROM ledger;
      DROP TABLE ledger;
      ALTER TABLE ledger_v3 RENAME TO ledger;
      CREATE INDEX ledger_account_version ON ledger (account_id, version);
    `,
  },
  {
    version: 4,
    name: 'owner epoch (cluster ownership fencing)',
    // The epoch (lock fencing token) of the last owner that committed; 0 = none yet. A commit with an older one fails.
    sql: `ALTER TABLE accounts ADD COLUMN owner_epoch INTEGER NOT NULL DEFAULT 0 CHECK (owner_epoch >= 0);`,
  },
]);
