export { CATEGORIES } from './types.js';
export type {
  Account,
  Balances,
  Category,
  LedgerEntry,
  LedgerKind,
  MerchantRule,
  ResponseCode,
  StoredReason,
  TransactionKind,
  TransactionRecord,
} from './types.js';
export { fail, ok } from './result.js';
export type { ParseResult } from './result.js';
export { MAX_AMOUNT_CENTAVOS, formatCentavos, parseAmount } from './money.js';
export type { ParseAmountOptions } from './money.js';
export { categoryForMcc, parseMcc } from './mcc.js';
export {
  DEFAULT_MERCHANT_RULES,
  matchMerchantRule,
  normalizeMerchantName,
  normalizeRuleMatch,
  parseMerchant,
  parseRuleMatch,
} from './merchant.js';
export { chooseCategory, decide } from './decision.js';
export type { CategorySource, Decision, DecisionInput } from './decision.js';
export { canonicalCreditPayload, canonicalDebitPayload, canonicalReversalPayload, payloadHash } from './payload.js';
export type { CreditPayload, DebitPayload, ReversalPayload } from './payload.js';
export { decideReversal, remainingReversible } from './reversal.js';
export type { ReversalDecision, ReversalInput, ReversalRefusal } from './reversal.js';
