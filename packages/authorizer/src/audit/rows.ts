import { InvalidDocumentError } from '../errors.js';
import { AUDIT_ACTIONS, type AuditAction, type AuditEntry } from './port.js';

/** An audit row as SQL adapters read it back (`before`/`after` as JSON text or already parsed). */
export interface AuditRow {
  seq: number | string | bigint;
  at: string | Date;
  actor: string;
  request_id: string;
  action: string;
  target: string;
  before: unknown;
  after: unknown;
}

const parsed = (value: unknown): unknown => (typeof value === 'string' ? JSON.parse(value) : (value ?? null));

/** Checks a row read back from a store (documents from a store are untrusted like any input). */
export function entryFromRow(row: AuditRow): AuditEntry {
  const seq = Number(row.seq);
  if (!Number.isSafeInteger(seq) || !(AUDIT_ACTIONS as readonly string[]).includes(row.action)) {
    throw new InvalidDocumentError(`invalid audit row ${String(row.seq)}`);
  }
  return {
    seq,
    at: row.at instanceof Date ? row.at.toISOString() : row.at,
    actor: row.actor,
    requestId: row.request_id,
    action: row.action as AuditAction,
    target: row.target,
    before: parsed(row.before),
    after: parsed(row.after),
  };
}
