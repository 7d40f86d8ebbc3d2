import { createHmac, timingSafeEqual } from 'node:crypto';

/** Header carrying the sender's clock, in whole seconds since the epoch. */
export const TIMESTAMP_HEADER = 'catraca-timestamp';
/** Header carrying `v1=<hex HMAC-SHA256 of "<timestamp>.<body>">`. */
export const SIGNATURE_HEADER = 'catraca-signature';

/** The signature of `body` sent at `timestamp` (seconds), as issuer webhooks do it: HMAC over timestamp and body. */
export function sign(secret: string, timestamp: number, body: string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`, 'utf8').digest('hex')}`;
}

/** Headers for a webhook POST of `body`. */
export function signatureHeaders(secret: string, body: string, nowMs = Date.now()): Record<string, string> {
  const timestamp = Math.floor(nowMs / 1000);
  return { [TIMESTAMP_HEADER]: String(timestamp), [SIGNATURE_HEADER]: sign(secret, timestamp, body) };
}

export type VerifyResult = { ok: true } | { ok: false; reason: 'missing' | 'stale' | 'mismatch' };

export interface VerifyOptions {
  /** Largest accepted difference between the sender's timestamp and now. Default 300 s. */
  toleranceSeconds?: number;
  nowMs?: number;
}

/**
 * Checks a received webhook: a timestamp within the replay window and a signature that matches, compared in constant
 * time. Verify the raw body bytes as received, never a re-serialized object.
 */
export function verify(
  secret: string,
  body: string,
  timestampHeader: string | undefined,
  signatureHeader: string | undefined,
  options: VerifyOptions = {},
): VerifyResult {
  if (!timestampHeader || !signatureHeader || !/^\d{1,12}$/.test(timestampHeader)) return { ok: false, reason: 'missing' };
  const timestamp = Number(timestampHeader);
  const now = Math.floor((options.nowMs ?? Date.now()) / 1000);
  if (Math.abs(now - timestamp) > (options.toleranceSeconds ?? 300)) return { ok: false, reason: 'stale' };
  const expected = Buffer.from(sign(secret, timestamp, body));
  const presented = Buffer.from(signatureHeader);
  if (expected.length !== presented.length || !timingSafeEqual(expected, presented)) return { ok: false, reason: 'mismatch' };
  return { ok: true };
}
