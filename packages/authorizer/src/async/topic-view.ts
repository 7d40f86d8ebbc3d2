import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Consumer, stringDeserializers, type MessagesStream } from '@platformatic/kafka';
import type { Logger } from 'pino';

export interface TopicViewOptions<T> {
  brokers: string[];
  topic: string;
  /** Parses a value; undefined ignores the record. */
  parse(value: string): T | undefined;
  /** Most keys kept; the least recently written are forgotten first. Default unbounded. */
  maxEntries?: number;
  logger: Logger;
}

/**
 * Every replica's in-memory copy of a compacted topic (latest value per key): the whole topic from the earliest
 * offset, then every new record. Read from a group of its own (one member: every partition, nothing committed).
 * A write this replica makes is applied locally at once with {@link set} (read-your-writes), and again when it comes
 * back from Kafka.
 */
export class TopicView<T> {
  readonly #entries = new Map<string, T>();
  #consumer: Consumer<string, string, string, string> | undefined;
  #stream: MessagesStream<string, string, string, string> | undefined;
  readonly #positions = new Map<number, bigint>();

  constructor(private readonly options: TopicViewOptions<T>) {}

  /** Starts reading and resolves once the view has caught up with the topic's end as of now (or after `timeoutMs`). */
  async start(timeoutMs = 30_000): Promise<void> {
    const { brokers, topic, logger } = this.options;
    const consumer = new Consumer({
      clientId: 'catraca-view',
      groupId: `catraca-view-${randomUUID()}`,
      bootstrapBrokers: brokers,
      deserializers: stringDeserializers,
      autocommit: false,
      sessionTimeout: 10_000,
      heartbeatInterval: 1_000,
      maxWaitTime: 200,
      retries: Number.MAX_SAFE_INTEGER,
      retryDelay: 500,
    });
    this.#consumer = consumer;
    const ends = await consumer.listOffsets({ topics: [topic] });
    const stream = await consumer.consume({ topics: [topic], mode: 'earliest', autocommit: false });
    this.#stream = stream;
    stream.on('error', (error) => logger.error({ err: error, topic }, 'view stream failed'));
    stream.on('data', (message) => {
      this.#positions.set(message.partition, message.offset + 1n);
      const key = message.key;
      if (!key) return;
      const raw = message.value;
      const value = raw === null || raw === undefined || raw === '' ? undefined : this.options.parse(raw);
      if (value === undefined) this.#entries.delete(key);
      else this.set(key, value);
    });
    const targets = ends.get(topic) ?? [];
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (targets.every((end, partition) => end === 0n || (this.#positions.get(partition) ?? 0n) >= end)) return;
      await sleep(50);
    }
    logger.warn({ topic }, 'view did not catch up in time; serving what it has');
  }

  get(key: string): T | undefined {
    return this.#entries.get(key);
  }

  /** Applies a value locally (this replica's own write, before it comes back from Kafka). */
  set(key: string, value: T): void {
    this.#entries.delete(key);
    this.#entries.set(key, value);
    const max = this.options.maxEntries;
    if (max !== undefined && this.#entries.size > max) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }

  entries(): IterableIterator<[string, T]> {
    return this.#entries.entries();
  }

  async close(): Promise<void> {
    await this.#stream?.close().catch(() => {});
    const consumer = this.#consumer;
    if (consumer) await new Promise<void>((resolve) => consumer.close(true, () => resolve()));
  }
}
