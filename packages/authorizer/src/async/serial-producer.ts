import { ProduceAcks, Producer, stringSerializers } from '@platformatic/kafka';
import type { Logger } from 'pino';

export interface OutgoingRecord {
  topic: string;
  key: string;
  /** null writes a tombstone. */
  value: string | null;
}

interface Pending {
  record: OutgoingRecord;
  resolve(): void;
  reject(error: unknown): void;
}

export interface SerialProducerOptions {
  brokers: string[];
  clientId: string;
  logger: Logger;
  /** Bound on one produce request (the client's own timeout). Default 5 s. */
  timeoutMs?: number;
  /** Most records in one produce request. Default 500. */
  maxBatch?: number;
}

/**
 * An idempotent producer (`acks=all`) with at most one produce request in flight: records written while one is in
 * flight wait and leave together in the next request. Why: @platformatic/kafka 1.x numbers an idempotent batch from
 * a per-partition sequence it advances only when the answer arrives, so two concurrent `send` calls to one partition
 * carry the same sequence number and the broker refuses the second (OUT_OF_ORDER_SEQUENCE_NUMBER). Serializing keeps
 * the numbering right, and batching keeps the throughput (one round trip for everything that queued meanwhile).
 */
export class SerialProducer {
  #producer: Producer<string, string, string, string>;
  #queue: Pending[] = [];
  #sending = false;
  readonly #maxBatch: number;

  constructor(private readonly options: SerialProducerOptions) {
    this.#maxBatch = options.maxBatch ?? 500;
    this.#producer = this.#create();
  }

  #create(): Producer<string, string, string, string> {
    return new Producer({
      clientId: this.options.clientId,
      bootstrapBrokers: this.options.brokers,
      serializers: stringSerializers,
      idempotent: true,
      acks: ProduceAcks.ALL,
      timeout: this.options.timeoutMs ?? 5_000,
      retries: 3,
      retryDelay: 100,
      autocreateTopics: false,
    });
  }

  /** Resolves once Kafka acknowledged the record (with every record of its request); rejects when it did not. */
  write(record: OutgoingRecord): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ record, resolve, reject });
      if (!this.#sending) void this.#drain();
    });
  }

  async #drain(): Promise<void> {
    this.#sending = true;
    try {
      while (this.#queue.length > 0) {
        const batch = this.#queue.splice(0, this.#maxBatch);
        try {
          const sent = this.#producer.send({
            messages: batch.map(({ record }) => ({
              topic: record.topic,
              key: record.key,
              value: record.value as string,
            })),
          });
          // The client's own timeout bounds a request, not every wait around it (metadata, a producer id after a
          // broker restart): bound the whole send, and treat an overrun like a failure.
          await withTimeout(sent, 3 * (this.options.timeoutMs ?? 5_000));
          for (const p of batch) p.resolve();
        } catch (error) {
          for (const p of batch) p.reject(error);
          // The failed request may have been written (its answer lost) while the library did not advance its sequence
          // numbers: the next request would reuse them and be acknowledged as a duplicate without being written. A new
          // producer id starts a new sequence; at worst the failed records are written twice, which the async path's
          // consumers absorb (idempotent by transaction id), never lost.
          const old = this.#producer;
          this.#producer = this.#create();
          old.close(true, () => {});
        }
      }
    } finally {
      this.#sending = false;
    }
  }

  async close(): Promise<void> {
    while (this.#sending) await new Promise((resolve) => setTimeout(resolve, 10));
    await this.#producer.close().catch((error: unknown) => this.options.logger.warn({ err: error }, 'producer close failed'));
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`produce request not answered in ${ms} ms`)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
