import { parseAmount, parseMcc, parseMerchant, type ParseResult } from '../domain/index.js';
import type { DebitRequest } from '../service/authorizer.js';
import { bodyShape, either } from './body-fields.js';
import { transactionBodySchema } from './schemas.js';

/** Turns a parsed JSON body into a {@link DebitRequest}, or says exactly what is wrong with it. */
export function parseTransactionRequest(body: unknown): ParseResult<DebitRequest> {
  const shape = bodyShape(transactionBodySchema, body);
  if (!shape.ok) return shape;
  const b = shape.value;
  const account = either('account', b.account, 'accountId', b.accountId);
  if (!account.ok) return account;
  if (account.value === undefined) return { ok: false, error: 'account is required' };
  const rawAmount = either('totalAmount', b.totalAmount, 'amount', b.amount);
  if (!rawAmount.ok) return rawAmount;
  if (rawAmount.value === undefined) return { ok: false, error: 'totalAmount is required' };
  const amount = parseAmount(rawAmount.value);
  if (!amount.ok) return { ok: false, error: `totalAmount: ${amount.error}` };
  const mcc = parseMcc(b.mcc);
  if (!mcc.ok) return { ok: false, error: `mcc: ${mcc.error}` };
  const merchant = parseMerchant(b.merchant);
  if (!merchant.ok) return { ok: false, error: `merchant: ${merchant.error}` };
  return {
    ok: true,
    value: { id: b.id, accountId: account.value, amount: amount.value, mcc: mcc.value, merchant: merchant.value },
  };
}
