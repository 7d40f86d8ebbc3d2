import { ProduceAcks, Producer, stringSerializers } from '@platformatic/kafka';
import type { Logger } from 'pino';

/**
 * One idempotent producer (`acks=all`) for the async path's own topics: decisions, delivery states, webhooks and the
 * dead letters. Every write resolves only once Kafka acknowledged it.
 */
export class KafkaWriter {
  readonly #producer: Producer<string, string, string, string>;

  constructor(
    brokers: string[],
    private readonly logger: Logger,
    clientId = 'catraca-writer',
  ) {
    this.#producer = new Producer({
      clientId,
      bootstrapBrokers: brokers,
      serializers: stringSerializers,
      idempotent: true,
      acks: ProduceAcks.ALL,
      retries: 3,
      retryDelay: 100,
      autocreateTopics: false,
    });
  }

  /** Writes `value` (JSON-encoded) under `key`; `null` writes a tombstone (compacted topics forget the key). */
  async write(topic: string, key: string, value: unknown): Promise<void> {
    await this.#producer.send({
      messages: [{ topic, key, value: value === null ? (null as unknown as string) : JSON.stringify(value) }],
    });
  }

  async close(): Promise<void> {
    await this.#producer.close().catch((error: unknown) => this.logger.warn({ err: error }, 'producer close failed'));
  }
}
