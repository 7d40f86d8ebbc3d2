import { setTimeout as sleep } from 'node:timers/promises';
import { Consumer, stringDeserializers, type Message, type MessagesStream } from '@platformatic/kafka';
import type { Logger } from 'pino';
import type { AsyncMetrics } from './async-metrics.js';
import { OffsetTracker } from './offset-tracker.js';

/**
 * Handles one record. `owned()` turns false when this replica no longer owns the record (rebalance, closing): stop
 * retrying and return false — its next owner replays it. Return true once the record's effect is durable; only then
 * can its offset be committed. A throw is logged and treated like false.
 */
export type RecordHandler<T> = (value: T, owned: () => boolean) => Promise<boolean>;

export interface OrderedConsumerOptions<T> {
  brokers: string[];
  topic: string;
  group: string;
  clientId: string;
  /** Parses a record value; undefined skips the record (counted, committed past). */
  parse(value: string | undefined): T | undefined;
  /** Records with the same key are handled one after the other, in offset order; others concurrently. */
  keyOf(value: T): string;
  handle: RecordHandler<T>;
  /** Most records taken and not yet done; the stream pauses above it. */
  maxInFlight: number;
  metrics: AsyncMetrics;
  logger: Logger;
  /** Consumer group session timeout. Default 10 s. */
  sessionTimeoutMs?: number;
  /** Interval of the lag gauge's refresh (0: none). Default 5 s. */
  lagIntervalMs?: number;
}

interface PartitionState {
  tracker: OffsetTracker;
  /** Serializes the partition's commits so that a lower position never overtakes a higher one. */
  committing: Promise<void>;
  latest: bigint | undefined;
}

/**
 * A consumer group member that handles records in order per key with at-least-once delivery: a partition's offset is
 * committed only past records whose handler finished, so a crash or rebalance replays the rest to the next owner. The
 * handlers must be idempotent (the async path's are: the store answers a replayed transaction id with its decision).
 */
export class OrderedConsumer<T> {
  #consumer: Consumer<string, string, string, string> | undefined;
  #stream: MessagesStream<string, string, string, string> | undefined;
  readonly #partitions = new Map<string, PartitionState>();
  readonly #chains = new Map<string, Promise<void>>();
  #inFlight = 0;
  #closing = false;
  #paused = false;

  constructor(private readonly options: OrderedConsumerOptions<T>) {}

  /** Joins the group and starts handling records from the committed positions (the earliest when none). */
  async start(): Promise<void> {
    const { brokers, group, topic, metrics, logger, clientId } = this.options;
    const consumer = new Consumer({
      clientId,
      groupId: group,
      bootstrapBrokers: brokers,
      deserializers: stringDeserializers,
      autocommit: false,
      sessionTimeout: this.options.sessionTimeoutMs ?? 10_000,
      heartbeatInterval: 1_000,
      rebalanceTimeout: 30_000,
      maxWaitTime: 200,
      retries: Number.MAX_SAFE_INTEGER,
      retryDelay: 500,
      highWaterMark: 256,
    });
    this.#consumer = consumer;
    // A new generation: forget the old positions. Work in flight finishes (it is idempotent) but commits nothing.
    consumer.on('consumer:group:join', (payload) => {
      this.#partitions.clear();
      logger.info({ group, assignments: payload.assignments }, 'consumer joined its group');
    });
    consumer.on('consumer:lag', (lag) => {
      for (const [t, partitions] of lag) {
        partitions.forEach((value, partition) => {
          if (value >= 0n) metrics.consumerLag.set({ topic: t, partition: String(partition) }, Number(value));
        });
      }
    });
    consumer.on('consumer:lag:error', (error) => logger.debug({ err: error }, 'lag refresh failed'));
    const stream = await consumer.consume({ topics: [topic], mode: 'committed', fallbackMode: 'earliest', autocommit: false });
    this.#stream = stream;
    stream.on('data', (message) => this.#take(message));
    stream.on('error', (error) => logger.error({ err: error, group }, 'consumer stream failed'));
    const lagIntervalMs = this.options.lagIntervalMs ?? 5_000;
    if (lagIntervalMs > 0) consumer.startLagMonitoring({ topics: [topic] }, lagIntervalMs);
  }

  /** Records taken and not yet done. */
  get inFlight(): number {
    return this.#inFlight;
  }

  #take(message: Message<string, string, string, string>): void {
    const { metrics, logger, maxInFlight } = this.options;
    if (this.#closing || !this.#assigned(message.topic, message.partition)) return;
    const key = `${message.topic}:${message.partition}`;
    let partition = this.#partitions.get(key);
    if (!partition || (partition.latest !== undefined && message.offset <= partition.latest)) {
      // First record of a generation, or the stream went back to the committed position: a fresh tracker. Work still
      // running under the old one finishes but commits nothing.
      partition = { tracker: new OffsetTracker(), committing: Promise.resolve(), latest: undefined };
      this.#partitions.set(key, partition);
    }
    partition.tracker.take(message.offset);
    partition.latest = message.offset;
    const tracker = partition.tracker;
    this.#inFlight += 1;
    if (this.#inFlight >= maxInFlight && !this.#paused) {
      this.#paused = true;
      this.#stream?.pause();
    }
    const settle = (done: boolean): void => {
      this.#inFlight -= 1;
      if (this.#paused && this.#inFlight <= maxInFlight / 2) {
        this.#paused = false;
        this.#stream?.resume();
      }
      if (done) this.#commit(key, tracker, message.topic, message.partition, message.offset);
    };
    const value = this.options.parse(message.value ?? undefined);
    if (value === undefined) {
      metrics.skippedRecords.inc({ topic: message.topic });
      logger.warn({ topic: message.topic, partition: message.partition, offset: String(message.offset) }, 'skipped an unreadable record');
      settle(true);
      return;
    }
    const owned = (): boolean => !this.#closing && this.#partitions.get(key)?.tracker === tracker;
    const chainKey = this.options.keyOf(value);
    const previous = this.#chains.get(chainKey) ?? Promise.resolve();
    const next = previous
      .then(() => (owned() ? this.options.handle(value, owned) : false))
      .then(settle, (error: unknown) => {
        logger.error({ err: error, topic: message.topic, offset: String(message.offset) }, 'record handler failed');
        settle(false);
      });
    this.#chains.set(chainKey, next);
    void next.finally(() => {
      if (this.#chains.get(chainKey) === next) this.#chains.delete(chainKey);
    });
  }

  #assigned(topic: string, partition: number): boolean {
    const assignments = this.#consumer?.assignments;
    return assignments?.some((a) => a.topic === topic && a.partitions.includes(partition)) ?? false;
  }

  #commit(key: string, tracker: OffsetTracker, topic: string, partition: number, offset: bigint): void {
    const position = tracker.done(offset);
    const state = this.#partitions.get(key);
    const consumer = this.#consumer;
    if (position === undefined || !state || state.tracker !== tracker || !consumer) return;
    state.committing = state.committing.then(async () => {
      if (this.#partitions.get(key)?.tracker !== tracker) return;
      try {
        await consumer.commit({ offsets: [{ topic, partition, offset: position, leaderEpoch: -1 }] });
      } catch (error) {
        // A rebalance in progress or a lost coordinator: the next owner replays from the last commit (idempotent).
        this.options.logger.debug({ err: error, topic, partition, offset: String(position) }, 'offset commit failed');
      }
    });
  }

  /** Stops taking records, lets the ones in flight finish (bounded by `graceMs`), commits, and leaves the group. */
  async close(graceMs = 10_000): Promise<void> {
    if (this.#closing) return;
    this.#stream?.pause();
    const deadline = Date.now() + graceMs;
    while (this.#inFlight > 0 && Date.now() < deadline) await sleep(20);
    this.#closing = true;
    await Promise.allSettled([...this.#partitions.values()].map((p) => p.committing));
    const consumer = this.#consumer;
    if (!consumer) return;
    consumer.stopLagMonitoring();
    await this.#stream?.close().catch(() => {});
    await new Promise<void>((resolve) => consumer.close(true, () => resolve()));
  }
}
