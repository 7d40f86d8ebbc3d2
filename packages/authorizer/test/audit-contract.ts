import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AuditLog, NewAuditEntry } from '../src/audit/port.js';
import { StoreUnavailableError } from '../src/errors.js';

export interface AuditFixture {
  log: AuditLog;
  /** A second log on the same database (another replica). */
  peer(): Promise<AuditLog>;
  cleanup(): Promise<void>;
}

const entry = (i: number): NewAuditEntry => ({
  at: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
  actor: i % 2 ? 'ops' : 'anonymous',
  requestId: `req-${i}`,
  action: 'account.credit',
  target: `acc-${i}`,
  before: { balances: { CASH: `${i}.00` } },
  after: { balances: { CASH: `${i + 1}.00` }, note: 'ção \u{1F600}' },
});

/** The audit-trail port's contract, run against every adapter. */
export function describeAuditContract(name: string, make: () => Promise<AuditFixture>): void {
  describe(`audit trail contract: ${name}`, () => {
    let fixture: AuditFixture;
    beforeEach(async () => {
      fixture = await make();
      await fixture.log.init();
    });
    afterEach(async () => {
      await fixture.log.close();
      await fixture.cleanup();
    });

    it('appends with increasing seq and reads back exactly, newest first, with a cursor', async () => {
      const seqs = [];
      for (let i = 0; i < 7; i++) seqs.push((await fixture.log.append(entry(i))).seq);
      expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
      const first = await fixture.log.list({ limit: 3 });
      expect(first.items.map((e) => e.requestId)).toEqual(['req-6', 'req-5', 'req-4']);
      expect(first.items[0]).toEqual({ ...entry(6), seq: seqs[6] });
      const second = await fixture.log.list({ limit: 3, before: first.nextBefore! });
      expect(second.items.map((e) => e.requestId)).toEqual(['req-3', 'req-2', 'req-1']);
      const last = await fixture.log.list({ limit: 3, before: second.nextBefore! });
      expect(last.items.map((e) => e.requestId)).toEqual(['req-0']);
      expect(last.nextBefore).toBeUndefined();
    });

    it('keeps null before/after, init is idempotent, and a peer sees the same trail', async () => {
      await fixture.log.init();
      await fixture.log.append({ ...entry(1), action: 'account.create', before: null });
      const peer = await fixture.peer();
      try {
        await peer.init();
        await peer.append({ ...entry(2), action: 'merchant_rule.delete', after: null });
        const page = await fixture.log.list({ limit: 10 });
        expect(page.items.map((e) => [e.action, e.before === null, e.after === null])).toEqual([
          ['merchant_rule.delete', false, true],
          ['account.create', true, false],
        ]);
      } finally {
        await peer.close();
      }
    });

    it('an aborted call is StoreUnavailableError; a nonsense page is a RangeError', async () => {
      const signal = AbortSignal.abort();
      await expect(fixture.log.append(entry(1), { signal })).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(fixture.log.list({ limit: 0 })).rejects.toBeInstanceOf(RangeError);
    });
  });
}
