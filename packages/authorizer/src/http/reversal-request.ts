import { parseAmount, type ParseResult } from '../domain/index.js';
import type { ReversalRequest } from '../service/authorizer.js';
import { bodyShape, either } from './body-fields.js';
import { reversalBodySchema } from './schemas.js';


/** Turns a parsed JSON body into a {@link ReversalRequest}, or says exactly what is wrong with it. */
export function parseReversalRequest(body: unknown): ParseResult<ReversalRequest> {
  const shape = bodyShape(reversalBodySchema, body);
  if (!shape.ok) return shape;
  const b = shape.value;
  const account = either('account', b.account, 'accountId', b.accountId);
  if (!account.ok) return account;
  const accountId = account.value;
  if (accountId === undefined) return { ok: false, error: 'account is required' };
  if (b.original === b.id) return { ok: false, error: 'a reversal cannot be its own original' };
  let amount: number | undefined;
  if (b.amount !== undefined) {
    const parsed = parseAmount(b.amount);
    if (!parsed.ok) return { ok: false, error: `amount: ${parsed.error}` };
    amount = parsed.value;
  }
  return { ok: true, value: { id: b.id, accountId, originalId: b.original, amount } };
}
