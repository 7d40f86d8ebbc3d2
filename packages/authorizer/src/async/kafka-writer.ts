import type { Logger } from 'pino';
import { SerialProducer } from './serial-producer.js';

/**
 * The writer of the async path's own topics (decisions, delivery states, webhooks, dead letters): idempotent,
 * `acks=all`; every write resolves only once Kafka acknowledged it.
 */
export class KafkaWriter {
  readonly #producer: SerialProducer;

  constructor(brokers: string[], logger: Logger, clientId = 'catraca-writer') {
    this.#producer = new SerialProducer({ brokers, clientId, logger });
  }

  /** Writes `value` (JSON-encoded) under `key`; `null` writes a tombstone (compacted topics forget the key). */
  write(topic: string, key: string, value: unknown): Promise<void> {
    return this.#producer.write({ topic, key, value: value === null ? null : JSON.stringify(value) });
  }

  close(): Promise<void> {
    return this.#producer.close();
  }
}
