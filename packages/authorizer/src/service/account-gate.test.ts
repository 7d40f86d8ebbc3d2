import {
  CoordinationUnavailableError,
  type AcquireOptions,
  type ConnectionState,
  type Lock,
  type LockManager,
} from '@catraca/coordination';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { Metrics } from '../metrics.js';
import { AccountGate, GateRefusal, type LockUnavailablePolicy } from './account-gate.js';

/**
 * A lock service whose session is gone, as ZooKeeperLockManager behaves then: `acquire` waits for a connection until
 * the caller's signal fires, and only then reports the outage.
 */
class DisconnectedLockManager implements LockManager {
  acquireCalls = 0;
  constructor(readonly state: ConnectionState) {}
  acquire(_key: string, options?: AcquireOptions): Promise<Lock> {
    this.acquireCalls++;
    return new Promise((_, reject) =>
      options?.signal?.addEventListener('abort', () => reject(new CoordinationUnavailableError('no connection')), {
        once: true,
      }),
    );
  }
  withLock<T>(): Promise<T> {
    return Promise.reject(new CoordinationUnavailableError('no connection'));
  }
  onStateChange(): () => void {
    return () => {};
  }
  async close(): Promise<void> {}
}

/** A gate whose batches answer, per job, whether they ran under a lock or on the fence alone. */
function gate(locks: LockManager, policy: LockUnavailablePolicy): { gate: AccountGate<string, string>; metrics: Metrics } {
  const metrics = new Metrics({ defaultMetrics: false });
  const accountGate = new AccountGate<string, string>({
    process: async (_account, jobs, ctx) => jobs.map(() => (ctx.lock === undefined ? 'degraded' : 'locked')),
    locks,
    keyFor: (id) => `account-${id}`,
    policy,
    maxBatch: 64,
    maxHoldMs: 20,
    metrics,
    logger: pino({ level: 'silent' }),
  });
  return { gate: accountGate, metrics };
}

describe('AccountGate with the lock service known to be down', () => {
  for (const state of ['suspended', 'lost'] as const) {
    it(`fence-only, session ${state}: runs the job on the fence at once instead of waiting out its deadline`, async () => {
      const locks = new DisconnectedLockManager(state);
      const { gate: g, metrics } = gate(locks, 'fence-only');
      // A budget far longer than the test: the job must not wait for it.
      const budget = new AbortController();
      const result = await g.run('acc', budget.signal, 'job');
      expect(result).toBe('degraded');
      expect(locks.acquireCalls).toBe(0);
      const degraded = await metrics.degraded.get();
      expect(degraded.values.find((v) => v.labels['policy'] === 'fence-only')?.value).toBe(1);
      budget.abort();
    });
  }

  it('fail-closed, session suspended: refuses as unavailable at once instead of waiting out its deadline', async () => {
    const locks = new DisconnectedLockManager('suspended');
    const { gate: g } = gate(locks, 'fail-closed');
    const budget = new AbortController();
    const outcome = g.run('acc', budget.signal, 'job');
    await expect(outcome).rejects.toBeInstanceOf(GateRefusal);
    await expect(outcome).rejects.toMatchObject({ reason: 'unavailable' });
    expect(locks.acquireCalls).toBe(0);
    budget.abort();
  });
});
