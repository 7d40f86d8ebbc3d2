import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

const SLOW_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** The async path's Prometheus metrics, registered on the service's registry. */
export class AsyncMetrics {
  readonly accepted: Counter<'outcome'>;
  readonly decided: Counter<'code' | 'reason' | 'replayed'>;
  readonly decisionRetries: Counter<'reason'>;
  readonly skippedRecords: Counter<'topic'>;
  readonly acceptToDecision: Histogram;
  readonly consumerLag: Gauge<'topic' | 'partition'>;
  readonly webhookDuration: Histogram<'outcome'>;
  readonly webhookDeliveries: Counter<'outcome'>;
  readonly deadLettered: Counter<'reason'>;
  readonly acceptToWebhook: Histogram;

  constructor(registry: Registry) {
    const registers = [registry];
    this.accepted = new Counter({
      name: 'catraca_async_accepted_total',
      help: 'POST /async/transactions answers: accepted (202, acknowledged by Kafka), invalid, unavailable',
      labelNames: ['outcome'],
      registers,
    });
    this.decided = new Counter({
      name: 'catraca_async_decisions_total',
      help: 'Async records decided by the consumer, by code, reason and whether the store already had the decision',
      labelNames: ['code', 'reason', 'replayed'],
      registers,
    });
    this.decisionRetries = new Counter({
      name: 'catraca_async_decision_retries_total',
      help: 'Async decisions retried after a passing 07 (deadline, unavailable dependency)',
      labelNames: ['reason'],
      registers,
    });
    this.skippedRecords = new Counter({
      name: 'catraca_async_skipped_records_total',
      help: 'Records that are not ours (unreadable), skipped',
      labelNames: ['topic'],
      registers,
    });
    this.acceptToDecision = new Histogram({
      name: 'catraca_async_accept_to_decision_seconds',
      help: 'From the intake accepting a transaction to its decision being stored',
      buckets: SLOW_BUCKETS,
      registers,
    });
    this.consumerLag = new Gauge({
      name: 'catraca_async_consumer_lag',
      help: 'Records not yet committed by this replica\'s consumer group, per assigned partition',
      labelNames: ['topic', 'partition'],
      registers,
    });
    this.webhookDuration = new Histogram({
      name: 'catraca_webhook_delivery_seconds',
      help: 'One webhook POST attempt, by outcome (delivered, http_error, network_error, timeout)',
      labelNames: ['outcome'],
      buckets: SLOW_BUCKETS,
      registers,
    });
    this.webhookDeliveries = new Counter({
      name: 'catraca_webhook_deliveries_total',
      help: 'Webhook attempts by outcome (delivered, http_error, network_error, timeout)',
      labelNames: ['outcome'],
      registers,
    });
    this.deadLettered = new Counter({
      name: 'catraca_webhook_dead_lettered_total',
      help: 'Deliveries parked in the dead-letter topic, by reason (retries_exhausted, no_webhook)',
      labelNames: ['reason'],
      registers,
    });
    this.acceptToWebhook = new Histogram({
      name: 'catraca_async_accept_to_webhook_seconds',
      help: 'From the intake accepting a transaction to its webhook being acknowledged by the client',
      buckets: SLOW_BUCKETS,
      registers,
    });
  }
}
