import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { AsyncMetrics } from './async-metrics.js';
import { backoffDelay } from './backoff.js';
import type { KafkaWriter } from './kafka-writer.js';
import type { Decision, WebhookBody } from './records.js';
import type { Topics } from './topics.js';
import type { TopicView } from './topic-view.js';
import { signatureHeaders } from './webhook-signature.js';
import type { DeadLetter, DeliveryState, Webhook } from './webhooks.js';

export interface DispatcherOptions {
  topics: Topics;
  writer: KafkaWriter;
  webhooks: TopicView<Webhook>;
  deliveries: TopicView<DeliveryState>;
  /** One attempt's budget. */
  timeoutMs: number;
  /** How long a delivery is retried before it is parked in the dead-letter topic. */
  retryForMs: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  metrics: AsyncMetrics;
  logger: Logger;
}

type Attempt = { ok: true } | { ok: false; error: string; outcome: 'http_error' | 'network_error' | 'timeout' };

/**
 * Delivers decisions to their client's webhook, as the handler of the decisions topic's consumer: a signed POST of
 * `{"id","account","code"}`, retried with exponential backoff and jitter for `retryForMs`, then parked in the
 * dead-letter topic. Each step is written to the deliveries topic (state per transaction). A decision already
 * delivered (a replayed record publishes its decision again) is not sent again; an admin replay is.
 */
export function createDispatcher(options: DispatcherOptions): (decision: Decision, owned: () => boolean) => Promise<boolean> {
  const { topics, writer, webhooks, deliveries, metrics, logger } = options;

  const writeState = async (state: DeliveryState): Promise<void> => {
    await writer.write(topics.deliveries, state.id, state);
    deliveries.set(state.id, state);
  };

  /** Retries a write that must land (a final state) while the record is ours. */
  const persist = async (write: () => Promise<void>, owned: () => boolean): Promise<boolean> => {
    for (let n = 1; ; n++) {
      try {
        await write();
        return true;
      } catch (error) {
        if (!owned()) return false;
        logger.warn({ err: error, attempt: n }, 'writing a delivery state failed; retrying');
        await sleep(backoffDelay(n, { baseMs: 100, maxMs: 5_000 }));
      }
    }
  };

  const park = async (decision: Decision, reason: DeadLetter['reason'], attempts: number, owned: () => boolean, lastError?: string) => {
    const letter: DeadLetter = { decision, reason, attempts, parkedAt: Date.now(), ...(lastError === undefined ? {} : { lastError }) };
    // The state first: once a letter is listed, its transaction's state already says dead_lettered.
    if (!(await persist(() => writeState(stateOf(decision, 'dead_lettered', attempts, lastError ?? reason)), owned))) return false;
    if (!(await persist(() => writer.write(topics.deadLetter, decision.id, letter), owned))) return false;
    metrics.deadLettered.inc({ reason });
    logger.warn({ transaction: decision.id, client: decision.client, reason, attempts }, 'webhook delivery parked in the dead-letter topic');
    return true;
  };

  const attempt = async (hook: Webhook, decision: Decision, n: number): Promise<Attempt> => {
    const body: WebhookBody = { id: decision.id, account: decision.account, code: decision.code };
    const text = JSON.stringify(body);
    const started = performance.now();
    let result: Attempt;
    try {
      const response = await fetch(hook.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'catraca-webhooks/1',
          'catraca-delivery-attempt': String(n),
          ...signatureHeaders(hook.secret, text),
        },
        body: text,
        redirect: 'manual',
        signal: AbortSignal.timeout(options.timeoutMs),
      });
      await response.body?.cancel().catch(() => {});
      result = response.status >= 200 && response.status < 300
        ? { ok: true }
        : { ok: false, error: `HTTP ${response.status}`, outcome: 'http_error' };
    } catch (error) {
      const timedOut = (error as Error).name === 'TimeoutError';
      result = { ok: false, error: timedOut ? 'timeout' : String((error as Error).cause ?? error), outcome: timedOut ? 'timeout' : 'network_error' };
    }
    const outcome = result.ok ? 'delivered' : result.outcome;
    metrics.webhookDuration.observe({ outcome }, (performance.now() - started) / 1000);
    metrics.webhookDeliveries.inc({ outcome });
    return result;
  };

  return async (decision, owned) => {
    const known = deliveries.get(decision.id);
    if (known?.state === 'delivered' && (decision.replay ?? 0) <= (known.replay ?? 0)) return true;
    const started = Date.now();
    let lastError: string | undefined;
    for (let n = 1; ; n++) {
      const hook = webhooks.get(decision.client);
      if (!hook) return park(decision, 'no_webhook', n - 1, owned, lastError);
      const result = await attempt(hook, decision, n);
      if (result.ok) {
        metrics.acceptToWebhook.observe((Date.now() - decision.acceptedAt) / 1000);
        const delivered: DeliveryState = { ...stateOf(decision, 'delivered', n), deliveredAt: Date.now() };
        deliveries.set(delivered.id, delivered);
        return persist(() => writeState(delivered), owned);
      }
      lastError = result.error;
      if (!owned()) return false;
      const elapsed = Date.now() - started;
      if (elapsed >= options.retryForMs) return park(decision, 'retries_exhausted', n, owned, lastError);
      await writeState(stateOf(decision, 'retrying', n, lastError)).catch(() => {});
      const delay = backoffDelay(n, { baseMs: options.backoffBaseMs, maxMs: options.backoffMaxMs });
      await sleep(Math.max(1, Math.min(delay, options.retryForMs - elapsed)));
      if (!owned()) return false;
    }
  };
}

function stateOf(decision: Decision, state: DeliveryState['state'], attempts: number, lastError?: string): DeliveryState {
  return {
    id: decision.id,
    account: decision.account,
    client: decision.client,
    code: decision.code,
    state,
    attempts,
    decidedAt: decision.decidedAt,
    updatedAt: Date.now(),
    ...(decision.replay === undefined ? {} : { replay: decision.replay }),
    ...(lastError === undefined ? {} : { lastError }),
  };
}
