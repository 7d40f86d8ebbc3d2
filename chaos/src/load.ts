/**
 * Steady load for the chaos scenarios: a closed loop of N clients, each sending one operation at a time with a
 * unique id over a fixed set of accounts — mostly purchases (`POST /transactions`), a few top-ups
 * (`POST /accounts/:id/credits`), and reversals (`POST /reversals`) of a share of the purchases, in full or in part:
 * half of them sent right after the purchase, before its answer (the point of sale that timed out), half after it.
 * An operation whose outcome is unknown or passing (transport error, client timeout,
 * HTTP 5xx, `07 deadline_exceeded|unavailable`, credit 503) is retried with the same id, as an acquirer would.
 * Every attempt and every operation is recorded for the phase statistics and the invariant checker.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Category } from '@catraca/authorizer';

export const MCC_OF: Readonly<Record<Category, string>> = Object.freeze({ FOOD: '5411', MEAL: '5811', CASH: '5999' });

/** What one HTTP attempt got. `transport`: no HTTP answer, or an HTTP error from the load balancer. */
export type AttemptOutcome = '00' | '51' | '07' | 'credited' | 'transport' | 'invalid';

export interface Attempt {
  opId: string;
  kind: 'debit' | 'credit' | 'reversal';
  /** performance.now() at send. */
  sentAt: number;
  latencyMs: number;
  outcome: AttemptOutcome;
  /** Catraca-Reason, the HTTP status, or the transport error. */
  detail: string;
}

export interface DebitOp {
  id: string;
  account: string;
  amount: number;
  mcc: string;
  /** Every decision code the client was answered for this id (should be one at most). */
  seen: Set<'00' | '51'>;
  /** The client was answered `07 reversed` (a reversal spent the id before the purchase got through). */
  refusedAsReversed?: boolean;
  /** Final state from the client's point of view. */
  final: '00' | '51' | '07' | 'unknown';
  startedAt: number;
  endedAt: number;
}

export interface CreditOp {
  id: string;
  account: string;
  category: Category;
  amount: number;
  /** The server acknowledged the credit (201, or 200 for a replay). */
  acknowledged: boolean;
  startedAt: number;
  endedAt: number;
}

export interface ReversalOp {
  id: string;
  /** The purchase it reverses. */
  original: string;
  account: string;
  /** Centavos; undefined: the whole remaining amount. */
  amount: number | undefined;
  /** Sent right after the purchase, before its answer. */
  early: boolean;
  /** Every `00` reason the client was answered for this id (should be one at most). */
  seen: Set<string>;
  /** Final state from the client's point of view: the code and reason, or unknown. */
  final: string;
  startedAt: number;
  endedAt: number;
}

export interface LoadOptions {
  url: string;
  accounts: readonly string[];
  clients: number;
  /** Prefix of every operation id (unique per run). */
  idPrefix: string;
  /** Share of operations that are credits. */
  creditShare: number;
  /** Share of purchases that are reversed (half before the purchase's answer). Default 0. */
  reversalShare?: number;
  /** Client-side bound on one attempt (a paused replica never answers). */
  attemptTimeoutMs: number;
  retryDelayMs: number;
  /** An operation stops retrying this long after it started (its outcome stays unknown). */
  opBudgetMs: number;
  seed: number;
}

/** A small deterministic PRNG (mulberry32), so a run's operation mix is reproducible. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** `07` reasons that say nothing final yet (SPEC §2.3-2.4): passing conditions, and outcomes not known yet. */
export const RETRIED_REASONS: ReadonlySet<string> = new Set(['deadline_exceeded', 'unavailable', 'in_progress', 'outcome_unknown']);

/** An outcome that says nothing was decided yet: retried with the same id, as an acquirer would. */
function passing(outcome: AttemptOutcome, detail: string): boolean {
  return outcome === 'transport' || (outcome === '07' && RETRIED_REASONS.has(detail));
}

const CATEGORY_LIST: readonly Category[] = ['FOOD', 'MEAL', 'CASH'];
const money = (centavos: number): string => `${Math.floor(centavos / 100)}.${String(centavos % 100).padStart(2, '0')}`;

export class LoadGenerator {
  readonly attempts: Attempt[] = [];
  readonly debits = new Map<string, DebitOp>();
  readonly credits = new Map<string, CreditOp>();
  readonly reversals = new Map<string, ReversalOp>();
  #running = false;
  #clients: Promise<void>[] = [];
  #seq = 0;
  readonly #random: () => number;

  constructor(private readonly options: LoadOptions) {
    this.#random = prng(options.seed);
  }

  /** Starts the clients (idempotent while running). */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#clients = Array.from({ length: this.options.clients }, () => this.#client());
  }

  /** Stops starting operations and waits until every client's current operation has ended (retries included). */
  async stop(): Promise<void> {
    this.#running = false;
    await Promise.all(this.#clients);
    this.#clients = [];
  }

  async #client(): Promise<void> {
    while (this.#running) {
      const account = this.options.accounts[Math.floor(this.#random() * this.options.accounts.length)]!;
      const category = CATEGORY_LIST[Math.floor(this.#random() * 3)]!;
      const id = `${this.options.idPrefix}-${(this.#seq++).toString(36)}`;
      if (this.#random() < this.options.creditShare) await this.#credit(id, account, category);
      else await this.#debit(id, account, category);
    }
  }

  async #debit(id: string, account: string, category: Category): Promise<void> {
    const amount = 100 + Math.floor(this.#random() * 2_900);
    const op: DebitOp = { id, account, amount, mcc: MCC_OF[category], seen: new Set(), final: 'unknown', startedAt: performance.now(), endedAt: 0 };
    this.debits.set(id, op);
    const body = { id, account, totalAmount: money(amount), mcc: op.mcc, merchant: 'LOJA CHAOS' };
    // Decided up front, so that the operation mix does not depend on the answers.
    const reversed = this.#random() < (this.options.reversalShare ?? 0);
    const early = this.#random() < 0.5;
    const partial = this.#random() < 0.5 ? 1 + Math.floor(this.#random() * amount) : undefined;
    const reversal = (): Promise<void> => this.#reversal(`${id}-rev`, id, account, partial, early);
    // The early reversal leaves once the purchase is on its way, without waiting for its answer.
    const racing = reversed && early ? sleep(Math.floor(this.#random() * 5)).then(reversal) : undefined;
    for (;;) {
      const { outcome, detail } = await this.#attempt(id, 'debit', '/transactions', body, (status, text, headers) => {
        if (status !== 200) return { outcome: 'transport', detail: `http ${status}` };
        const code = /^\{"code":"(00|51|07)"\}$/.exec(text)?.[1];
        if (code === undefined) return { outcome: 'invalid', detail: `http 200 ${text.slice(0, 80)}` };
        return { outcome: code as '00' | '51' | '07', detail: headers.get('catraca-reason') ?? '' };
      });
      if (outcome === '00' || outcome === '51') {
        op.seen.add(outcome);
        op.final = outcome;
        break;
      }
      if (outcome === '07' && detail === 'reversed') op.refusedAsReversed = true;
      if (!passing(outcome, detail)) {
        op.final = outcome === '07' ? '07' : 'unknown';
        break;
      }
      if (performance.now() - op.startedAt > this.options.opBudgetMs) break;
      await sleep(this.options.retryDelayMs);
    }
    op.endedAt = performance.now();
    if (racing) await racing;
    else if (reversed) await reversal();
  }

  async #reversal(id: string, original: string, account: string, amount: number | undefined, early: boolean): Promise<void> {
    const op: ReversalOp = { id, original, account, amount, early, seen: new Set(), final: 'unknown', startedAt: performance.now(), endedAt: 0 };
    this.reversals.set(id, op);
    const body = { id, original, account, ...(amount === undefined ? {} : { amount: money(amount) }) };
    for (;;) {
      const { outcome, detail } = await this.#attempt(id, 'reversal', '/reversals', body, (status, text, headers) => {
        if (status !== 200) return { outcome: 'transport', detail: `http ${status}` };
        const code = /^\{"code":"(00|07)"\}$/.exec(text)?.[1];
        if (code === undefined) return { outcome: 'invalid', detail: `http 200 ${text.slice(0, 80)}` };
        return { outcome: code as '00' | '07', detail: headers.get('catraca-reason') ?? '' };
      });
      if (outcome === '00') op.seen.add(detail);
      if (!passing(outcome, detail)) {
        op.final = outcome === '00' || outcome === '07' ? `${outcome} ${detail}` : 'unknown';
        break;
      }
      if (performance.now() - op.startedAt > this.options.opBudgetMs) break;
      await sleep(this.options.retryDelayMs);
    }
    op.endedAt = performance.now();
  }

  async #credit(id: string, account: string, category: Category): Promise<void> {
    const amount = 20_000;
    const op: CreditOp = { id, account, category, amount, acknowledged: false, startedAt: performance.now(), endedAt: 0 };
    this.credits.set(id, op);
    const body = { id, category, amount: money(amount) };
    for (;;) {
      const { outcome } = await this.#attempt(id, 'credit', `/accounts/${account}/credits`, body, (status, text) => {
        if (status === 200 || status === 201) return { outcome: 'credited', detail: String(status) };
        if (status === 503 || status === 502 || status === 504) return { outcome: 'transport', detail: `http ${status}` };
        return { outcome: 'invalid', detail: `http ${status} ${text.slice(0, 80)}` };
      });
      if (outcome === 'credited') op.acknowledged = true;
      if (outcome !== 'transport' || performance.now() - op.startedAt > this.options.opBudgetMs) break;
      await sleep(this.options.retryDelayMs);
    }
    op.endedAt = performance.now();
  }

  async #attempt(
    opId: string,
    kind: Attempt['kind'],
    path: string,
    body: unknown,
    judge: (status: number, text: string, headers: Headers) => { outcome: AttemptOutcome; detail: string },
  ): Promise<{ outcome: AttemptOutcome; detail: string }> {
    const sentAt = performance.now();
    let result: { outcome: AttemptOutcome; detail: string };
    try {
      const response = await fetch(`${this.options.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.options.attemptTimeoutMs),
      });
      const text = await response.text();
      result = judge(response.status, text, response.headers);
      // An HTTP error page that is not nginx's is the service breaking its contract, not a transport failure.
      if (result.outcome === 'transport' && !/nginx/i.test(text) && kind !== 'credit') {
        result = { outcome: 'invalid', detail: `http ${response.status} ${text.slice(0, 80)}` };
      }
    } catch (error) {
      const e = error as Error & { cause?: { code?: string } };
      result = { outcome: 'transport', detail: e.name === 'TimeoutError' ? 'client timeout' : (e.cause?.code ?? e.message) };
    }
    this.attempts.push({ opId, kind, sentAt, latencyMs: performance.now() - sentAt, outcome: result.outcome, detail: result.detail });
    return result;
  }
}
