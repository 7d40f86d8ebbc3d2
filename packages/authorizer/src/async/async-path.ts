import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Config } from '../config.js';
import type { Authorizer, DebitRequest } from '../service/authorizer.js';
import { AsyncMetrics } from './async-metrics.js';
import { createDecider } from './decider.js';
import { Intake } from './intake.js';
import { KafkaWriter } from './kafka-writer.js';
import { OrderedConsumer } from './ordered-consumer.js';
import { acceptedSchema, decisionSchema, decode, type Accepted, type Decision } from './records.js';
import { TopicView } from './topic-view.js';
import { ensureTopics, topicNames, type Topics } from './topics.js';
import { createDispatcher } from './webhook-dispatcher.js';
import {
  deadLetterSchema,
  deliveryStateSchema,
  webhookSchema,
  type DeadLetter,
  type DeliveryState,
  type Webhook,
} from './webhooks.js';

/** The part of the configuration the async path reads. */
export type AsyncConfig = Pick<
  Config,
  | 'ASYNC'
  | 'KAFKA_BROKERS'
  | 'KAFKA_TOPIC'
  | 'KAFKA_GROUP'
  | 'KAFKA_PARTITIONS'
  | 'KAFKA_REPLICATION'
  | 'ASYNC_DEADLINE_MS'
  | 'ASYNC_MAX_IN_FLIGHT'
  | 'WEBHOOK_TIMEOUT_MS'
  | 'WEBHOOK_RETRY_FOR_MS'
  | 'WEBHOOK_BACKOFF_BASE_MS'
  | 'WEBHOOK_BACKOFF_MAX_MS'
>;

export interface AsyncPathDeps {
  config: AsyncConfig;
  /** The service entry point the sync route calls. */
  authorizer: Pick<Authorizer, 'authorize'>;
  registry: Registry;
  logger: Logger;
}

/**
 * The asynchronous mode (SPEC-level design in the README): the intake writes accepted purchases to Kafka; with
 * `ASYNC=on` this replica also joins the consumer group that decides them and the one that delivers the decisions to
 * the clients' webhooks. The admin views (webhooks, delivery states, dead letters) are kept on every replica.
 */
export class AsyncPath {
  readonly metrics: AsyncMetrics;
  readonly topics: Topics;
  readonly #intake: Intake;
  readonly #writer: KafkaWriter;
  readonly #webhooks: TopicView<Webhook>;
  readonly #deliveries: TopicView<DeliveryState>;
  readonly #deadLetters: TopicView<DeadLetter>;
  readonly #consumers: OrderedConsumer<Accepted | Decision>[] = [];
  #closed: Promise<void> | undefined;

  private constructor(private readonly deps: AsyncPathDeps) {
    const { config, logger } = deps;
    const brokers = config.KAFKA_BROKERS;
    this.metrics = new AsyncMetrics(deps.registry);
    this.topics = topicNames(config.KAFKA_TOPIC);
    this.#intake = new Intake({ brokers, topic: this.topics.transactions, logger, timeoutMs: 5_000 });
    this.#writer = new KafkaWriter(brokers, logger);
    const parse = <T>(schema: { safeParse(v: unknown): { success: boolean; data?: T } }) => (raw: string): T | undefined => {
      try {
        const parsed = schema.safeParse(JSON.parse(raw));
        return parsed.success ? parsed.data : undefined;
      } catch {
        return undefined;
      }
    };
    this.#webhooks = new TopicView({ brokers, topic: this.topics.webhooks, parse: parse<Webhook>(webhookSchema), logger });
    this.#deliveries = new TopicView({
      brokers,
      topic: this.topics.deliveries,
      parse: parse<DeliveryState>(deliveryStateSchema),
      maxEntries: 200_000,
      logger,
    });
    this.#deadLetters = new TopicView({
      brokers,
      topic: this.topics.deadLetter,
      parse: parse<DeadLetter>(deadLetterSchema),
      maxEntries: 100_000,
      logger,
    });
  }

  /** Creates the topics, catches up the views and, with `ASYNC=on`, joins the consumer groups. */
  static async open(deps: AsyncPathDeps): Promise<AsyncPath> {
    const { config, logger } = deps;
    const path = new AsyncPath(deps);
    try {
      await ensureTopics({
        brokers: config.KAFKA_BROKERS,
        topics: path.topics,
        partitions: config.KAFKA_PARTITIONS,
        replication: config.KAFKA_REPLICATION,
        logger,
      });
      await Promise.all([path.#webhooks.start(), path.#deliveries.start(), path.#deadLetters.start()]);
      if (config.ASYNC === 'on') await path.#startConsumers();
    } catch (error) {
      await path.close();
      throw error;
    }
    return path;
  }

  async #startConsumers(): Promise<void> {
    const { config, authorizer, logger } = this.deps;
    const brokers = config.KAFKA_BROKERS;
    const decide = createDecider({
      authorizer,
      publish: (decision) => this.#writer.write(this.topics.decisions, decision.account, decision),
      deadlineMs: config.ASYNC_DEADLINE_MS,
      metrics: this.metrics,
      logger: logger.child({ component: 'async-decider' }),
    });
    const deliver = createDispatcher({
      topics: this.topics,
      writer: this.#writer,
      webhooks: this.#webhooks,
      deliveries: this.#deliveries,
      timeoutMs: config.WEBHOOK_TIMEOUT_MS,
      retryForMs: config.WEBHOOK_RETRY_FOR_MS,
      backoffBaseMs: config.WEBHOOK_BACKOFF_BASE_MS,
      backoffMaxMs: config.WEBHOOK_BACKOFF_MAX_MS,
      metrics: this.metrics,
      logger: logger.child({ component: 'webhooks' }),
    });
    const decider = new OrderedConsumer<Accepted>({
      brokers,
      topic: this.topics.transactions,
      group: config.KAFKA_GROUP,
      clientId: 'catraca-decider',
      parse: (value) => decode(acceptedSchema, value),
      keyOf: (accepted) => accepted.account,
      handle: decide,
      maxInFlight: config.ASYNC_MAX_IN_FLIGHT,
      metrics: this.metrics,
      logger: logger.child({ component: 'async-decider' }),
    });
    const dispatcher = new OrderedConsumer<Decision>({
      brokers,
      topic: this.topics.decisions,
      group: `${config.KAFKA_GROUP}.webhooks`,
      clientId: 'catraca-webhooks',
      parse: (value) => decode(decisionSchema, value),
      keyOf: (decision) => decision.account,
      handle: deliver,
      maxInFlight: config.ASYNC_MAX_IN_FLIGHT,
      metrics: this.metrics,
      logger: logger.child({ component: 'webhooks' }),
    });
    this.#consumers.push(decider as OrderedConsumer<Accepted | Decision>, dispatcher as OrderedConsumer<Accepted | Decision>);
    await Promise.all([decider.start(), dispatcher.start()]);
  }

  /** Writes an accepted purchase to Kafka; resolves once Kafka acknowledged it. */
  accept(request: DebitRequest, client: string, signal: AbortSignal): Promise<Accepted> {
    return this.#intake.accept(request, client, signal);
  }

  webhook(client: string): Webhook | undefined {
    return this.#webhooks.get(client);
  }

  webhooks(): Webhook[] {
    return [...this.#webhooks.entries()].map(([, hook]) => hook).sort((a, b) => a.client.localeCompare(b.client));
  }

  /** Registers (or replaces) a client's webhook; resolves once Kafka acknowledged it. */
  async putWebhook(hook: Webhook): Promise<void> {
    await this.#writer.write(this.topics.webhooks, hook.client, hook);
    this.#webhooks.set(hook.client, hook);
  }

  /** Removes a client's webhook; false when it had none. */
  async deleteWebhook(client: string): Promise<boolean> {
    if (!this.#webhooks.get(client)) return false;
    await this.#writer.write(this.topics.webhooks, client, null);
    this.#webhooks.delete(client);
    return true;
  }

  delivery(id: string): DeliveryState | undefined {
    return this.#deliveries.get(id);
  }

  /** Parked deliveries not delivered since (oldest first). */
  deadLetters(): DeadLetter[] {
    return [...this.#deadLetters.entries()]
      .map(([, letter]) => letter)
      .filter((letter) => this.#deliveries.get(letter.decision.id)?.state !== 'delivered')
      .sort((a, b) => a.parkedAt - b.parkedAt);
  }

  /** Sends a parked delivery again (through the decisions topic); false when none is parked under `id`. */
  async replay(id: string): Promise<boolean> {
    const letter = this.#deadLetters.get(id);
    if (!letter || this.#deliveries.get(id)?.state === 'delivered') return false;
    const replay = Math.max(letter.decision.replay ?? 0, this.#deliveries.get(id)?.replay ?? 0) + 1;
    const decision: Decision = { ...letter.decision, replay };
    const state: DeliveryState = {
      id,
      account: decision.account,
      client: decision.client,
      code: decision.code,
      state: 'pending',
      attempts: 0,
      replay,
      decidedAt: decision.decidedAt,
      updatedAt: Date.now(),
    };
    await this.#writer.write(this.topics.deliveries, id, state);
    this.#deliveries.set(id, state);
    await this.#writer.write(this.topics.decisions, decision.account, decision);
    return true;
  }

  /** Readiness: every view started; the consumers run on their own retries. */
  get consumersRunning(): number {
    return this.#consumers.length;
  }

  /** Stops the consumers (in-flight records finish, bounded by `graceMs`), then every client. Idempotent. */
  close(graceMs = 10_000): Promise<void> {
    return (this.#closed ??= (async () => {
      await Promise.allSettled(this.#consumers.map((c) => c.close(graceMs)));
      await Promise.allSettled([this.#webhooks.close(), this.#deliveries.close(), this.#deadLetters.close()]);
      await Promise.allSettled([this.#intake.close(), this.#writer.close()]);
    })());
  }
}
