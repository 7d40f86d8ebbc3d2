import { fail, ok, type ParseResult } from './result.js';
import type { Category } from './types.js';

/** Exactly four ASCII digits; `[0-9]` (not `\d`) so that no other script's digits slip through. */
const MCC_TEXT = /^[0-9]{4}$/;

/**
 * Parses a merchant category code (ISO 18245) into its 4-digit text.
 *
 * Accepts exactly four ASCII digits as a string (`"5811"`), or a JSON integer 0–9999, left-padded
 * (`742` → `"0742"`). Refuses anything else: other lengths, spaces, signs, fractions, full-width digits.
 */
export function parseMcc(input: unknown): ParseResult<string> {
  if (typeof input === 'string') {
    return MCC_TEXT.test(input) ? ok(input) : fail('mcc must be exactly 4 digits');
  }
  if (typeof input === 'number') {
    if (!Number.isInteger(input) || input < 0 || input > 9999) {
      return fail('mcc must be an integer from 0 to 9999');
    }
    // -0 is an integer in range; String(-0) is "0", so it pads to "0000".
    return ok(String(input).padStart(4, '0'));
  }
  return fail('mcc must be a string of 4 digits');
}

/** The MCCs that pick a benefit category; every other valid MCC picks CASH. */
const MCC_CATEGORIES: ReadonlyMap<string, Category> = new Map<string, Category>([
  ['5411', 'FOOD'],
  ['5412', 'FOOD'],
  ['5811', 'MEAL'],
  ['5812', 'MEAL'],
]);

/** The category an MCC selects (SPEC §2.1, L1): 5411, 5412 → FOOD; 5811, 5812 → MEAL; anything else → CASH. */
export function categoryForMcc(mcc: string): Category {
  return MCC_CATEGORIES.get(mcc) ?? 'CASH';
}
