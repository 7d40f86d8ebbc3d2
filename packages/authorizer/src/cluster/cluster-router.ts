import type { Logger } from 'pino';
import type { Metrics } from '../metrics.js';
import type { Authorizer, Job } from '../service/authorizer.js';
import { refused, type Outcome, type Reason } from '../service/outcome.js';
import type { RequestRouter } from '../service/routing.js';
import type { ForwardClient } from './forward-client.js';
import type { ForwardBody, ForwardReply } from './forward-protocol.js';
import type { ForwardHandler } from './internal-server.js';
import { wireOutcome } from './internal-server.js';
import type { KeptLocks } from './kept-locks.js';
import type { Membership } from './membership.js';
import { homeOf } from './rendezvous.js';

export interface ClusterRouterOptions {
  membership: Membership;
  /** The account locks this replica keeps while it owns accounts. */
  locks: KeptLocks;
  /** Lock key of an account (the same the authorizer uses). */
  lockKey(accountId: string): string;
  /** Inverse of `lockKey`: the account of a lock key, or undefined for a key that is not an account's. */
  accountOf(lockKey: string): string | undefined;
  client: ForwardClient;
  /** The request budget (DEADLINE_MS) a forward starts from. */
  deadlineMs: number;
  /** Taken off the remaining budget that a forward hands to the owner, so that its answer can come back in time. */
  replyMarginMs: number;
  /**
   * How long past the request's budget the sender still waits for the owner's answer: an owner that started the
   * commit within its budget finishes it (a commit is never abandoned half-way), exactly as a request served locally
   * answers with its decision after its commit; without an answer by then the sender answers `07 in_progress`.
   */
  commitGraceMs: number;
  /** Most kept locks handed over (let go) per tick after a membership change; the rest follow on later ticks. */
  handoverPerTick: number;
  handoverTickMs: number;
  /**
   * True while the coordination session is usable. Otherwise requests are served where they arrive, under that
   * replica's LOCK_UNAVAILABLE policy: the member list is stale, and the policy is the operator's per-replica choice.
   */
  coordinationUsable(): boolean;
  metrics: Metrics;
  logger: Logger;
}

/** Remembered owner epochs (account → epoch) are bounded; the oldest are forgotten first. */
const MAX_REMEMBERED_EPOCHS = 100_000;

/**
 * Cluster routing and ownership. Sender side ({@link RequestRouter}): a request whose account's home — by rendezvous
 * hashing over the live members — is another replica is forwarded there once, with its transaction id, the owner
 * epoch this replica last saw for the account and the remaining budget; the answer comes back as is. Receiver side
 * ({@link ForwardHandler}): a forward is served only by the account's home, which keeps the account's lock between
 * batches; otherwise it answers `not_owner` without running anything. On a membership change the locks of accounts
 * homed elsewhere are let go (a bounded number per tick).
 */
export class ClusterRouter implements RequestRouter, ForwardHandler {
  #authorizer: Authorizer | undefined;
  readonly #epochs = new Map<string, string>();
  readonly #offChange: () => void;
  #handover: NodeJS.Timeout | undefined;
  #draining = false;

  constructor(private readonly options: ClusterRouterOptions) {
    this.#offChange = options.membership.onChange((members) => {
      options.client.retain(new Set(members.values()));
      this.#scheduleHandover();
    });
  }

  /** The authorizer that serves requests homed here (set once, after both are built). */
  attach(authorizer: Authorizer): void {
    this.#authorizer = authorizer;
  }

  /** The member that is home for `accountId` in this replica's current view. */
  homeOf(accountId: string): string | undefined {
    return homeOf(accountId, this.options.membership.members().keys());
  }

  async route(job: Job, signal: AbortSignal): Promise<Outcome | undefined> {
    const started = performance.now();
    const { membership, client, metrics, logger } = this.options;
    const accountId = job.request.accountId;
    if (!this.options.coordinationUsable()) return undefined;
    let home = this.homeOf(accountId);
    for (let attempt = 0; ; attempt++) {
      if (home === undefined || home === membership.self) return undefined;
      const url = membership.members().get(home);
      if (url === undefined) return undefined;
      const budgetMs = this.options.deadlineMs - (performance.now() - started) - this.options.replyMarginMs;
      if (budgetMs <= 0 || signal.aborted) {
        metrics.forwards.inc({ outcome: 'no_budget' });
        return refused(job.id, 'deadline_exceeded');
      }
      // The forward is bounded by the budget plus the commit grace, not by the request's own deadline (see commitGraceMs).
      const wait = AbortSignal.timeout(Math.max(1, Math.ceil(budgetMs + this.options.replyMarginMs + this.options.commitGraceMs)));
      const reply = await client.send(url, job, this.#epochs.get(accountId), budgetMs, wait);
      if ('failed' in reply) {
        if (reply.failed === 'refused') {
          metrics.forwards.inc({ outcome: 'refused' });
          logger.warn({ err: reply.error, home, account: accountId }, 'forward refused: nothing ran');
          return refused(job.id, 'unavailable');
        }
        // Sent, and no answer: the owner may still commit it. A retry with the same id gets the final answer.
        metrics.forwards.inc({ outcome: wait.aborted ? 'timeout' : 'lost' });
        logger.warn({ err: reply.error, home, account: accountId }, 'forward without an answer');
        return refused(job.id, 'in_progress');
      }
      if (reply.status === 'served') {
        metrics.forwards.inc({ outcome: 'served' });
        if (reply.epoch !== undefined) this.#rememberEpoch(accountId, reply.epoch);
        return { ...reply.outcome, reason: reply.outcome.reason as Reason, replayed: reply.outcome.replayed };
      }
      metrics.forwards.inc({ outcome: 'not_owner' });
      this.#epochs.delete(accountId);
      if (attempt > 0) return refused(job.id, 'unavailable');
      // Views differ (a membership change in flight): refresh once — the receiver's idea of the home, else ours anew.
      const mine = this.homeOf(accountId);
      home = mine !== home ? mine : reply.home;
    }
  }

  async serveForwarded(body: ForwardBody, expectedEpoch: bigint | undefined, signal: AbortSignal): Promise<ForwardReply> {
    const authorizer = this.#authorizer;
    const { membership, locks, lockKey } = this.options;
    const accountId = body.request.accountId;
    const home = this.homeOf(accountId);
    const key = lockKey(accountId);
    const held = locks.tokenOf(key);
    if (!authorizer || this.#draining || home !== membership.self || (expectedEpoch !== undefined && held !== undefined && held < expectedEpoch)) {
      return home === undefined ? { status: 'not_owner' } : { status: 'not_owner', home };
    }
    const outcome = await serveLocally(authorizer, body, signal);
    const epoch = locks.tokenOf(key);
    return epoch === undefined
      ? { status: 'served', outcome: wireOutcome(outcome) }
      : { status: 'served', outcome: wireOutcome(outcome), epoch: epoch.toString() };
  }

  /** Stops accepting forwards (planned shutdown): senders get `not_owner` and refresh their view. */
  drain(): void {
    this.#draining = true;
  }

  close(): void {
    this.#offChange();
    clearTimeout(this.#handover);
  }

  /** Lets go of kept locks whose account is now homed elsewhere, `handoverPerTick` at a time. */
  #scheduleHandover(): void {
    if (this.#handover) return;
    const tick = (): void => {
      this.#handover = undefined;
      const { locks, accountOf, membership, handoverPerTick, logger } = this.options;
      const moving = (key: string): boolean => {
        const account = accountOf(key);
        return account !== undefined && this.homeOf(account) !== membership.self;
      };
      const count = locks.letGo(moving, handoverPerTick);
      if (count > 0) logger.info({ locks: count }, 'handing over accounts homed elsewhere');
      if (count >= handoverPerTick) {
        this.#handover = setTimeout(tick, this.options.handoverTickMs);
        this.#handover.unref();
      }
    };
    this.#handover = setTimeout(tick, 0);
    this.#handover.unref();
  }

  #rememberEpoch(accountId: string, epoch: string): void {
    this.#epochs.delete(accountId);
    this.#epochs.set(accountId, epoch);
    if (this.#epochs.size > MAX_REMEMBERED_EPOCHS) {
      const oldest = this.#epochs.keys().next().value;
      if (oldest !== undefined) this.#epochs.delete(oldest);
    }
  }
}

/** Runs a forwarded job on this replica, as the home of its account (never routed again: one hop). */
function serveLocally(authorizer: Authorizer, body: ForwardBody, signal: AbortSignal): Promise<Outcome> {
  const serve = { forwarded: true };
  switch (body.kind) {
    case 'debit': {
      const { id, accountId, amount, mcc, merchant } = body.request;
      return authorizer.authorize({ id, accountId, amount, mcc, merchant }, signal, serve);
    }
    case 'credit':
      return authorizer.credit(body.request, signal, serve);
    case 'reversal': {
      const { id, accountId, originalId, amount } = body.request;
      return authorizer.reverse({ id, accountId, originalId, amount }, signal, serve);
    }
  }
}
