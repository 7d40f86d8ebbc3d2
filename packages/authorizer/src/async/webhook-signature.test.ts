import { describe, expect, it } from 'vitest';
import { sign, signatureHeaders, SIGNATURE_HEADER, TIMESTAMP_HEADER, verify } from './webhook-signature.js';

const secret = 'whsec-test-0123456789';
const body = '{"id":"tx-1","account":"acc-1","code":"00"}';

describe('webhook signature', () => {
  it('verifies what it signed', () => {
    const h = signatureHeaders(secret, body, 1_700_000_000_000);
    expect(verify(secret, body, h[TIMESTAMP_HEADER], h[SIGNATURE_HEADER], { nowMs: 1_700_000_010_000 })).toEqual({ ok: true });
  });

  it('rejects a forged body, secret or timestamp, and stale or missing headers', () => {
    const now = 1_700_000_000_000;
    const h = signatureHeaders(secret, body, now);
    const ts = h[TIMESTAMP_HEADER]!;
    const sig = h[SIGNATURE_HEADER]!;
    expect(verify(secret, body.replace('00', '51'), ts, sig, { nowMs: now })).toEqual({ ok: false, reason: 'mismatch' });
    expect(verify('another-secret-xx', body, ts, sig, { nowMs: now })).toEqual({ ok: false, reason: 'mismatch' });
    expect(verify(secret, body, String(Number(ts) + 1), sig, { nowMs: now })).toEqual({ ok: false, reason: 'mismatch' });
    expect(verify(secret, body, ts, sig, { nowMs: now + 301_000 })).toEqual({ ok: false, reason: 'stale' });
    expect(verify(secret, body, undefined, sig, { nowMs: now })).toEqual({ ok: false, reason: 'missing' });
    expect(verify(secret, body, ts, sig.slice(0, -1), { nowMs: now })).toEqual({ ok: false, reason: 'mismatch' });
    expect(sign(secret, 1, body)).toMatch(/^v1=[0-9a-f]{64}$/);
  });
});
