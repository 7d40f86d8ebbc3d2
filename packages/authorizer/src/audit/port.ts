import type { StoreCallOptions } from '../store/port.js';

/** Every admin action the audit trail records (SPEC §4). */
export const AUDIT_ACTIONS = [
  'account.create',
  'account.credit',
  'merchant_rule.put',
  'merchant_rule.delete',
  'webhook.put',
  'webhook.delete',
  'dead_letter.replay',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/** One admin action: who (the credential's name), when, which request, and what changed. */
export interface AuditEntry {
  /** Increasing position in the trail; the pagination cursor. */
  seq: number;
  /** ISO-8601 time the action was recorded. */
  at: string;
  /** The credential's name, or `anonymous` on a server without admin credentials. */
  actor: string;
  /** The request's `X-Request-Id`. */
  requestId: string;
  action: AuditAction;
  /** What was acted on: an account id, a rule's match, a webhook's client or a parked transaction's id. */
  target: string;
  /** The state before the action (null when it did not exist), as the admin API shows it. */
  before: unknown;
  /** The state after the action (null when it no longer exists). */
  after: unknown;
}

export type NewAuditEntry = Omit<AuditEntry, 'seq'>;

export interface AuditPage {
  items: AuditEntry[];
  /** Pass as `before` for the next (older) page; absent on the last page. */
  nextBefore?: number;
}

/**
 * The audit trail, kept in the same database as the accounts (its own table or collection, created idempotently by
 * `init`). Append-only: nothing updates or deletes an entry. Errors: `StoreUnavailableError` when the backend cannot
 * answer.
 */
export interface AuditLog {
  init(options?: StoreCallOptions): Promise<void>;
  append(entry: NewAuditEntry, options?: StoreCallOptions): Promise<AuditEntry>;
  /** Newest first, at most `limit`, older than `before` when given. */
  list(page: { limit: number; before?: number }, options?: StoreCallOptions): Promise<AuditPage>;
  close(): Promise<void>;
}

/** Builds a page from rows fetched with `limit + 1`: the extra row only says there is more. */
export function pageOf(rows: AuditEntry[], limit: number): AuditPage {
  const items = rows.slice(0, limit);
  return rows.length > limit ? { items, nextBefore: items[items.length - 1]!.seq } : { items };
}
