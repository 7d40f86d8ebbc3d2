import { parseAmount, parseMcc, parseMerchant, type ParseResult } from '../domain/index.js';
import type { DebitRequest } from '../service/authorizer.js';
import { transactionBodySchema } from './schemas.js';

function either<T>(name: string, a: T | undefined, alias: string, b: T | undefined): ParseResult<T | undefined> {
  if (a !== undefined && b !== undefined && a !== b) {
    return { ok: false, error: `${name} and ${alias} differ; send one of them` };
  }
  return { ok: true, value: a ?? b };
}

/** Turns a parsed JSON body into a {@link DebitRequest}, or says exactly what is wrong with it. */
export function parseTransactionRequest(body: unknown): ParseResult<DebitRequest> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { ok: false, error: 'body must be a JSON object' };
  }
  const shape = transactionBodySchema.safeParse(body);
  if (!shape.success) {
    const issue = shape.error.issues[0]!;
    return { ok: false, error: `${issue.path.join('.') || 'body'}: ${issue.message}` };
  }
  const b = shape.data;
  const account = either('account', b.account, 'accountId', b.accountId);
  if (!account.ok) return account;
  if (account.value === undefined) return { ok: false, error: 'account is required' };
  // Both spellings are compared as amounts, not texts: `1.1` and `"1.10"` are the same 110 centavos (SPEC §1).
  if (b.totalAmount === undefined && b.amount === undefined) return { ok: false, error: 'totalAmount is required' };
  const amount = parseAmount(b.totalAmount ?? b.amount);
  if (!amount.ok) return { ok: false, error: `${b.totalAmount === undefined ? 'amount' : 'totalAmount'}: ${amount.error}` };
  if (b.totalAmount !== undefined && b.amount !== undefined) {
    const other = parseAmount(b.amount);
    if (!other.ok) return { ok: false, error: `amount: ${other.error}` };
    if (other.value !== amount.value) return { ok: false, error: 'totalAmount and amount differ; send one of them' };
  }
  const mcc = parseMcc(b.mcc);
  if (!mcc.ok) return { ok: false, error: `mcc: ${mcc.error}` };
  const merchant = parseMerchant(b.merchant);
  if (!merchant.ok) return { ok: false, error: `merchant: ${merchant.error}` };
  return {
    ok: true,
    value: { id: b.id, accountId: account.value, amount: amount.value, mcc: mcc.value, merchant: merchant.value },
  };
}
