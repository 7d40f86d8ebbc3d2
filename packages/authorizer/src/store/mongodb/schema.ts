import type { Document, IndexDescription } from 'mongodb';

/*
 * Server-side validators repeat the domain rules (no negative balance, positive integer amounts, known enums) as a
 * last line of defence: a commit that breaks one fails inside its transaction and writes nothing.
 */

// The driver writes a JS integer outside the int32 range as a double: accept it, but only a whole one.
const integer = { bsonType: ['int', 'long', 'double'], multipleOf: 1 };
const nonNegative = { ...integer, minimum: 0 };
const category = { enum: ['FOOD', 'MEAL', 'CASH'] };

export const COLLECTION_VALIDATORS: Readonly<Record<string, Document>> = Object.freeze({
  accounts: {
    $jsonSchema: {
      bsonType: 'object',
      required: ['_id', 'balances', 'version', 'createdAt'],
      properties: {
        _id: { bsonType: 'string' },
        balances: {
          bsonType: 'object',
          required: ['FOOD', 'MEAL', 'CASH'],
          properties: { FOOD: nonNegative, MEAL: nonNegative, CASH: nonNegative },
        },
        version: nonNegative,
        createdAt: { bsonType: 'string' },
        ownerEpoch: { bsonType: 'long', minimum: 0 },
      },
    },
  },
  transactions: {
    $jsonSchema: {
      bsonType: 'object',
      required: ['_id', 'accountId', 'kind', 'amount', 'category', 'code', 'reason', 'payloadHash', 'version'],
      properties: {
        _id: { bsonType: 'string' },
        accountId: { bsonType: 'string' },
        kind: { enum: ['debit', 'credit', 'reversal'] },
        amount: nonNegative,
        category: { enum: ['FOOD', 'MEAL', 'CASH', null] },
        appliedCategory: { enum: ['FOOD', 'MEAL', 'CASH', null] },
        code: { enum: ['00', '51'] },
        reason: { enum: ['approved', 'insufficient_funds', 'credited', 'reversed', 'nothing_to_reverse', 'original_unknown'] },
        payloadHash: { bsonType: 'string' },
        version: { ...integer, minimum: 1 },
        originalId: { bsonType: 'string' },
      },
      // Only a reversal may give back nothing, have no category, or name an original (which it must).
      oneOf: [
        {
          properties: { kind: { enum: ['debit', 'credit'] }, amount: { minimum: 1 }, category },
          not: { required: ['originalId'] },
        },
        { properties: { kind: { enum: ['reversal'] } }, required: ['originalId'] },
      ],
    },
  },
  ledger: {
    $jsonSchema: {
      bsonType: 'object',
      required: ['accountId', 'kind', 'category', 'delta', 'balanceAfter', 'version', 'index'],
      properties: {
        kind: { enum: ['opening', 'debit', 'credit', 'reversal'] },
        category,
        delta: integer,
        balanceAfter: nonNegative,
        version: nonNegative,
        index: nonNegative,
      },
    },
  },
  merchantRules: {
    $jsonSchema: {
      bsonType: 'object',
      required: ['_id', 'category'],
      properties: { _id: { bsonType: 'string' }, category },
    },
  },
  /** Store-wide markers, e.g. `merchant_rules_seeded` (when the default rules were seeded, once ever). */
  meta: {
    $jsonSchema: {
      bsonType: 'object',
      required: ['_id', 'at'],
      properties: { _id: { bsonType: 'string' }, at: { bsonType: 'string' } },
    },
  },
});

/** `_id` is unique already (transaction ids, account ids, rule matches); these add the per-account orderings. */
export const COLLECTION_INDEXES: Readonly<Record<string, IndexDescription[]>> = Object.freeze({
  transactions: [
    { key: { accountId: 1, version: -1 }, name: 'account_version', unique: true },
    // A purchase's reversals, and the reversals that spent an id before its purchase arrived.
    { key: { originalId: 1, accountId: 1 }, name: 'original_account', partialFilterExpression: { originalId: { $exists: true } } },
  ],
  ledger: [{ key: { accountId: 1, version: 1, index: 1 }, name: 'account_version_index', unique: true }],
});
