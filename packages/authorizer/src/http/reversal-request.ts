import { parseAmount, type ParseResult } from '../domain/index.js';
import type { ReversalRequest } from '../service/authorizer.js';
import { reversalBodySchema } from './schemas.js';
import { either } from './transaction-request.js';

/** Turns a parsed JSON body into a {@link ReversalRequest}, or says exactly what is wrong with it. */
export function parseReversalRequest(body: unknown): ParseResult<ReversalRequest> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { ok: false, error: 'body must be a JSON object' };
  }
  const shape = reversalBodySchema.safeParse(body);
  if (!shape.success) {
    const issue = shape.error.issues[0]!;
    return { ok: false, error: `${issue.path.join('.') || 'body'}: ${issue.message}` };
  }
  const b = shape.data;
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
