import { fail, ok, type ParseResult } from './result.js';
import type { MerchantRule } from './types.js';

/** Longest accepted merchant field and rule match, in characters (Unicode code points). */
const MAX_TEXT_CHARS = 255;

/** Length of an ISO 8583 DE 43 card-acceptor field: name (25) + city (13) + country (2). */
const DE43_FIELD_CHARS = 40;
const DE43_NAME_CHARS = 25;

/** Characters are counted as code points, so an accented or astral character counts once. */
function charCount(text: string): number {
  let count = 0;
  for (const _ of text) count += 1;
  return count;
}

/** Blank: only white space and invisible format characters (U+200B zero-width space, U+FEFF, U+2060, ...). */
const BLANK = /^[\s\p{Cf}\p{Zs}]*$/u;

/** C0 and C1 control characters (U+0000–U+001F, U+007F–U+009F). */
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** A high surrogate not followed by a low one, or a low surrogate not preceded by a high one (no `u` flag: code units). */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function isBlank(text: string): boolean {
  return BLANK.test(text);
}

/** The checks shared by a merchant field and a rule's match: length, blank, controls, unpaired surrogates. */
function textProblem(field: string, input: string): string | undefined {
  // An unpaired surrogate is not text: stored, it would be altered (U+FFFD) and no longer equal what was hashed.
  if (LONE_SURROGATE.test(input)) return `${field} must not contain unpaired surrogates`;
  const chars = charCount(input);
  if (chars === 0 || isBlank(input)) return `${field} must not be blank`;
  if (chars > MAX_TEXT_CHARS) return `${field} must be at most ${String(MAX_TEXT_CHARS)} characters`;
  if (CONTROL.test(input)) return `${field} must not contain control characters`;
  return undefined;
}

/**
 * Parses the request's `merchant` field: a string of 1–255 characters that is not blank (white space and invisible
 * format characters only are blank), without control characters or unpaired surrogates. Returns it unchanged; it is
 * stored and hashed as received, and normalized only for matching.
 */
export function parseMerchant(input: unknown): ParseResult<string> {
  if (typeof input !== 'string') return fail('merchant must be a string');
  const problem = textProblem('merchant', input);
  return problem === undefined ? ok(input) : fail(problem);
}

/** Upper case, runs of whitespace collapsed to one space, trimmed. */
function normalizeText(text: string): string {
  return text.toUpperCase().replace(/\s+/g, ' ').trim();
}

/**
 * The merchant name that rules are matched against (SPEC §2.5).
 *
 * When the raw field is exactly 40 characters it is an ISO 8583 DE 43 card-acceptor field, and the name is its
 * first 25 characters (the city and country are dropped). The 40-character check is on the raw field, before
 * normalization: a 40-character field padded with spaces is still a DE 43 field. Then the name is upper-cased,
 * runs of whitespace are collapsed to one space, and it is trimmed.
 */
export function normalizeMerchantName(raw: string): string {
  const chars = Array.from(raw);
  const name = chars.length === DE43_FIELD_CHARS ? chars.slice(0, DE43_NAME_CHARS).join('') : raw;
  return normalizeText(name);
}

/** A rule's match text, normalized like a merchant name but without the 40-character DE 43 rule. */
export function normalizeRuleMatch(match: string): string {
  return normalizeText(match);
}

/**
 * Parses a merchant rule's `match` (admin API): a non-blank string of 1–255 characters, returned normalized like a
 * merchant name — a whole 40-character DE 43 field becomes its name, so the rule matches the purchases that carry
 * that field (SPEC §2.5).
 *
 * A `*` is literal text wherever it appears (`PICPAY*BILHETEUNICO` names one merchant of the `PICPAY*`
 * acquirer), and a trailing `*` additionally makes the rule a pure prefix (see {@link matchMerchantRule}).
 * A match of only `*` is refused: it would send every purchase to one category whatever its MCC.
 */
export function parseRuleMatch(input: unknown): ParseResult<string> {
  if (typeof input !== 'string') return fail('match must be a string');
  const problem = textProblem('match', input);
  if (problem !== undefined) return fail(problem);
  const match = normalizeMerchantName(input);
  if (match === '' || isBlank(match)) return fail('match must not be blank');
  if (match === '*') return fail('match must not be only "*"');
  return ok(match);
}

/** Whether one rule's (normalized) match text matches a normalized merchant name. */
function ruleMatches(name: string, match: string): boolean {
  if (match === '') return false;
  if (match.endsWith('*')) return name.startsWith(match);
  return name === match || name.startsWith(`${match} `);
}

/**
 * Finds the merchant rule that decides a name's category (SPEC §2.5, L3), or `undefined` when none matches.
 *
 * `name` must already be normalized ({@link normalizeMerchantName}); each rule's match is normalized again here,
 * which is idempotent, so a rule stored un-normalized still matches as the SPEC says. A rule matches when
 * - the name equals the match, or starts with the match followed by a space: `UBER EATS` matches
 *   `UBER EATS SAO PAULO BR`, but `UBER` does not match `UBERLANDIA`;
 * - or the match ends in `*` and the name starts with the whole match text, the asterisk included: the `*` is
 *   part of the acquirer's prefix in real DE 43 names (`IFD*RESTAURANTE X`, `PAG*JOAODASILVA`), so `IFD*`
 *   matches `IFD*ANYTHING` but not `IFDXYZ`.
 *
 * The longest matching match wins. Two different match texts of equal length cannot both match one name (both
 * would be the same prefix of it), so a tie only happens between rules with the same match text; then the
 * first one in `rules` wins.
 */
export function matchMerchantRule(name: string, rules: readonly MerchantRule[]): MerchantRule | undefined {
  let best: MerchantRule | undefined;
  let bestLength = -1;
  for (const rule of rules) {
    const match = normalizeRuleMatch(rule.match);
    if (match.length > bestLength && ruleMatches(name, match)) {
      best = rule;
      bestLength = match.length;
    }
  }
  return best;
}

/** The merchant rules seeded into a new store (documented in the README). */
export const DEFAULT_MERCHANT_RULES: readonly MerchantRule[] = Object.freeze([
  Object.freeze({ match: 'UBER EATS', category: 'MEAL' }),
  Object.freeze({ match: 'UBER TRIP', category: 'CASH' }),
  Object.freeze({ match: 'PICPAY*BILHETEUNICO', category: 'CASH' }),
] satisfies MerchantRule[]);
