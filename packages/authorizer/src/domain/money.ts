import { fail, ok, type ParseResult } from './result.js';

export type { ParseResult } from './result.js';

/** The largest accepted amount, in centavos: 1,000,000.00. */
export const MAX_AMOUNT_CENTAVOS = 100_000_000;

/** Options of {@link parseAmount}. */
export interface ParseAmountOptions {
  /** Accept `0` (e.g. an opening balance). Default: false, an amount must be > 0. */
  allowZero?: boolean;
}

/**
 * The accepted decimal text: JSON's number grammar without sign, exponent or leading zeros, and with digits on
 * both sides of the point. So `"0.5"`, `"100"`, `"100.10"` are read; `".5"`, `"5."`, `"05"`, `"+1"`, `"1e3"`,
 * `" 1"`, `"0x10"` are not.
 */
const DECIMAL = /^(0|[1-9][0-9]*)(?:\.([0-9]+))?$/;

/** A JavaScript number's shortest round-trip text in exponent form (`1e-7`, `1.5e+21`). */
const EXPONENT_FORM = /^(-?)[0-9.]+e([+-])[0-9]+$/;

/** Digits of the integer part beyond which an amount is over the maximum whatever its value. */
const MAX_INTEGER_DIGITS = String(MAX_AMOUNT_CENTAVOS / 100).length;

const TOO_MANY_DECIMALS = 'amount must have at most 2 decimal places';
const TOO_BIG = 'amount must be at most 1000000.00';

/**
 * Parses an amount of money into integer centavos, exactly.
 *
 * Accepts a JSON number (`100.1`, `100`, `0.01`) or a decimal string (`"100.10"`, `"100"`, `"0.5"`). The amount
 * must be > 0 (>= 0 with `allowZero`), have at most 2 decimal places and be at most
 * {@link MAX_AMOUNT_CENTAVOS}. Anything else — NaN, Infinity, signs, exponents, spaces, `".5"`, `"5."`, hex,
 * booleans, null, objects — is refused with a short reason.
 *
 * Money never goes through binary floating-point arithmetic: a number is turned into its shortest round-trip
 * decimal text (`String(n)`, which is what a JSON writer sent for any amount with at most 17 significant digits)
 * and that text is read digit by digit into an integer. `0.29` is 29 centavos, never 28.999….
 */
export function parseAmount(input: unknown, options?: ParseAmountOptions): ParseResult<number> {
  const allowZero = options?.allowZero ?? false;
  if (typeof input === 'number') return parseNumber(input, allowZero);
  if (typeof input === 'string') return parseDecimalText(input, allowZero);
  return fail('amount must be a number or a decimal string');
}

function parseNumber(n: number, allowZero: boolean): ParseResult<number> {
  if (!Number.isFinite(n)) return fail('amount must be a finite number');
  // -0 is zero, not negative; String(-0) is "0".
  if (n < 0) return fail(mustBePositive(allowZero));
  const text = String(n);
  const exponent = EXPONENT_FORM.exec(text);
  if (exponent !== null) {
    // String(n) uses an exponent only below 1e-6 or from 1e21 on: either too many decimals or far too big.
    return exponent[2] === '-' ? fail(TOO_MANY_DECIMALS) : fail(TOO_BIG);
  }
  return parseDecimalText(text, allowZero);
}

function parseDecimalText(text: string, allowZero: boolean): ParseResult<number> {
  const match = DECIMAL.exec(text);
  if (match === null) {
    if (/^[+-]/.test(text)) return fail(mustBePositive(allowZero));
    return fail('amount must be a plain decimal such as "100.10"');
  }
  const integerDigits = match[1] ?? '';
  const fractionDigits = match[2] ?? '';
  if (fractionDigits.length > 2) return fail(TOO_MANY_DECIMALS);
  if (integerDigits.length > MAX_INTEGER_DIGITS) return fail(TOO_BIG);
  // Both parts are short digit strings here, so these are exact small integers.
  const centavos = Number(integerDigits) * 100 + Number(fractionDigits.padEnd(2, '0'));
  if (centavos > MAX_AMOUNT_CENTAVOS) return fail(TOO_BIG);
  if (centavos === 0 && !allowZero) return fail(mustBePositive(allowZero));
  return ok(centavos);
}

function mustBePositive(allowZero: boolean): string {
  return allowZero ? 'amount must not be negative' : 'amount must be greater than zero';
}

/**
 * Formats integer centavos as a plain decimal with two places: `100000` → `"1000.00"`, `5` → `"0.05"`.
 * The output is what {@link parseAmount} reads back to the same integer.
 *
 * @throws RangeError when `centavos` is not a non-negative safe integer (a programming error, not user input).
 */
export function formatCentavos(centavos: number): string {
  if (!Number.isSafeInteger(centavos) || centavos < 0) {
    throw new RangeError(`centavos must be a non-negative safe integer, got ${String(centavos)}`);
  }
  const cents = centavos % 100;
  const units = (centavos - cents) / 100;
  return `${String(units)}.${String(cents).padStart(2, '0')}`;
}
