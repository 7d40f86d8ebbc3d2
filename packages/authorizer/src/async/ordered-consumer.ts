import { setTimeout as sleep } from 'node:timers/promises';
import { Consumer, stringDeserializers, type Message, type MessagesStream } from '@platformatic/kafka';
import type { Logger } from 'pino';
import type { AsyncMetrics } from './async-metrics.js';
import { backoffDelay } from './backoff.js';
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
  /** A stream that has not fetched for this long (and is not paused) is reconnected. Default 10 s. */
  stallTimeoutMs?: number;
}

interface PartitionState {
  tracker: OffsetTracker;
  /** The first offset this tracker took. */
  first: bigint;
  /** Whether the tracker starts where the group's committed position is (else it must never commit: see #commit). */
  contiguous: Promise<boolean> | undefined;
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
  #reopening = false;
  #lastFetch = Date.now();
  #lastLag = 0;
  #watchdog: NodeJS.Timeout | undefined;

  constructor(private readonly options: OrderedConsumerOptions<T>) {}

  /** Joins the group and starts handling records from the committed positions (the earliest when none). */
  async start(): Promise<void> {
    await this.#open();
    this.#watchdog = setInterval(() => void this.#watch(), 1_000);
    this.#watchdog.unref();
  }

  async #open(): Promise<void> {
    const { brokers, group, topic, logger, clientId } = this.options;
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
      retries: 5,
      retryDelay: 500,
      highWaterMark: 256,
    });
    this.#consumer = consumer;
    this.#partitions.clear();
    // A new generation: forget the old positions. Work in flight finishes (it is idempotent) but commits nothing.
    consumer.on('consumer:group:join', (payload) => {
      if (this.#consumer !== consumer) return;
      this.#partitions.clear();
      logger.info({ group, assignments: payload.assignments }, 'consumer joined its group');
    });
    try {
      const stream = await consumer.consume({ topics: [topic], mode: 'committed', fallbackMode: 'earliest', autocommit: false });
      if (this.#consumer !== consumer) {
        await stream.close().catch(() => {});
        return;
      }
      this.#stream = stream;
      this.#lastFetch = Date.now();
      stream.on('fetch', () => (this.#lastFetch = Date.now()));
      // Bound to this member: records a closed stream still hands out must not be taken for the new one.
      stream.on('data', (message) => {
        if (this.#consumer === consumer) this.#take(message);
      });
      stream.on('error', (error) => {
        if (this.#consumer !== consumer) return;
        logger.warn({ err: error, group }, 'consumer stream failed; reconnecting');
        this.#reopen();
      });
    } catch (error) {
      if (this.#consumer === consumer) this.#consumer = undefined;
      consumer.close(true, () => {});
      throw error;
    }
  }

  /**
   * The client does not always come back by itself (a broker restart can leave its fetch loop silent): when the stream
   * failed or has not fetched for a while, drop this member and join again from the committed positions. Records in
   * flight finish under the old member and commit nothing; the new one replays them (idempotent).
   */
  #reopen(): void {
    if (this.#closing || this.#reopening) return;
    this.#reopening = true;
    const old = this.#consumer;
    const oldStream = this.#stream;
    this.#consumer = undefined;
    this.#stream = undefined;
    this.#partitions.clear();
    void oldStream?.close().catch(() => {});
    old?.close(true, () => {});
    void (async () => {
      for (let attempt = 1; !this.#closing; attempt++) {
        await sleep(backoffDelay(attempt, { baseMs: 500, maxMs: 5_000 }));
        if (this.#closing) break;
        try {
          await this.#open();
          this.#paused = false;
          this.options.logger.info({ group: this.options.group }, 'consumer reconnected');
          break;
        } catch (error) {
          this.options.logger.warn({ err: error, group: this.options.group, attempt }, 'consumer reconnect failed');
        }
      }
      this.#reopening = false;
    })();
  }

  async #watch(): Promise<void> {
    if (this.#closing || this.#reopening) return;
    const stalledMs = this.options.stallTimeoutMs ?? 10_000;
    if (this.#stream && !this.#paused && Date.now() - this.#lastFetch > stalledMs) {
      this.options.logger.warn({ group: this.options.group, stalledMs }, 'consumer fetched nothing for too long; reconnecting');
      this.#reopen();
      return;
    }
    const lagIntervalMs = this.options.lagIntervalMs ?? 5_000;
    if (lagIntervalMs > 0 && Date.now() - this.#lastLag >= lagIntervalMs) {
      this.#lastLag = Date.now();
      await this.#measureLag().catch((error: unknown) => this.options.logger.debug({ err: error }, 'lag measure failed'));
    }
  }

  /** Lag per assigned partition: the partition's end offset minus the group's committed position, both from Kafka. */
  async #measureLag(): Promise<void> {
    const consumer = this.#consumer;
    const { topic, metrics } = this.options;
    const assigned = consumer?.assignments?.find((a) => a.topic === topic)?.partitions ?? [];
    if (!consumer || assigned.length === 0) return;
    const [ends, committed] = await Promise.all([
      consumer.listOffsets({ topics: [topic] }),
      consumer.listCommittedOffsets({ topics: [{ topic, partitions: assigned }] }),
    ]);
    const endOffsets = ends.get(topic) ?? [];
    const positions = committed.get(topic) ?? [];
    for (const partition of assigned) {
      const end = endOffsets[partition];
      if (end === undefined) continue;
      const position = positions[partition] ?? -1n;
      const lag = position >= 0n ? end - position : end;
      metrics.consumerLag.set({ topic, partition: String(partition) }, Number(lag));
    }
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
      partition = {
        tracker: new OffsetTracker(),
        first: message.offset,
        contiguous: undefined,
        committing: Promise.resolve(),
        latest: undefined,
      };
      this.#partitions.set(key, partition);
    }
    partition.tracker.take(message.offset);
    partition.latest = message.offset;
    const tracker = partition.tracker;
    // Records fetched before a rebalance or reconnect can still arrive after it, ahead of the re-fetch from the
    // committed position. A tracker that does not start there neither decides (the partition's order would break)
    // nor commits (the records between would be skipped): its records come again with the re-fetch.
    const consumer = this.#consumer!;
    const state = partition;
    state.contiguous ??= this.#startsAtCommitted(consumer, message.topic, message.partition, state.first);
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
      .then(async () => ((await state.contiguous!) ? this.#handle(value, owned, message.topic, message.offset) : false))
      .then(settle);
    this.#chains.set(chainKey, next);
    void next.finally(() => {
      if (this.#chains.get(chainKey) === next) this.#chains.delete(chainKey);
    });
  }

  /** Runs the handler until it finishes or the record is no longer ours; a throw is retried with backoff. */
  async #handle(value: T, owned: () => boolean, topic: string, offset: bigint): Promise<boolean> {
    for (let attempt = 1; owned(); attempt++) {
      try {
        return await this.options.handle(value, owned);
      } catch (error) {
        this.options.logger.warn({ err: error, topic, offset: String(offset), attempt }, 'record handler failed; retrying');
        await sleep(backoffDelay(attempt, { baseMs: 100, maxMs: 5_000 }));
      }
    }
    return false;
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
      if (!(await state.contiguous)) return;
      try {
        await consumer.commit({ offsets: [{ topic, partition, offset: position, leaderEpoch: -1 }] });
      } catch (error) {
        // A rebalance in progress or a lost coordinator: the next owner replays from the last commit (idempotent).
        this.options.logger.debug({ err: error, topic, partition, offset: String(position) }, 'offset commit failed');
      }
    });
  }

  /**
   * Whether a tracker starting at `first` starts at the group's committed position (or, with none, at the partition's
   * earliest offset). A tracker that does not is normally replaced within moments by the re-fetch from the committed
   * position; if it is still current after the stall timeout, the member reconnects (which re-fetches from there).
   */
  async #startsAtCommitted(consumer: Consumer<string, string, string, string>, topic: string, partition: number, first: bigint): Promise<boolean> {
    const key = `${topic}:${partition}`;
    const tracker = this.#partitions.get(key)?.tracker;
    let verdict = false;
    for (let attempt = 1; attempt <= 8 && this.#consumer === consumer; attempt++) {
      try {
        const committed = (await consumer.listCommittedOffsets({ topics: [{ topic, partitions: [partition] }] })).get(topic)?.[partition] ?? -1n;
        if (committed >= 0n) verdict = committed >= first;
        else verdict = first <= ((await consumer.listOffsets({ topics: [topic], timestamp: -2n })).get(topic)?.[partition] ?? 0n);
        break;
      } catch (error) {
        this.options.logger.debug({ err: error, topic, partition, attempt }, 'committed position unknown yet; asking again');
        await sleep(backoffDelay(attempt, { baseMs: 200, maxMs: 5_000 }));
      }
    }
    if (!verdict) {
      this.options.logger.debug({ topic, partition, first: String(first) }, 'records ahead of the committed position: skipped until the re-fetch');
      const timer = setTimeout(() => {
        if (this.#consumer === consumer && tracker !== undefined && this.#partitions.get(key)?.tracker === tracker) {
          this.options.logger.warn({ topic, partition }, 'no re-fetch from the committed position came; reconnecting');
          this.#reopen();
        }
      }, this.options.stallTimeoutMs ?? 10_000);
      timer.unref();
    }
    return verdict;
  }

  /** Stops taking records, lets the ones in flight finish (bounded by `graceMs`), commits, and leaves the group. */
  async close(graceMs = 10_000): Promise<void> {
    if (this.#closing) return;
    clearInterval(this.#watchdog);
    this.#stream?.pause();
    const deadline = Date.now() + graceMs;
    while (this.#inFlight > 0 && Date.now() < deadline) await sleep(20);
    this.#closing = true;
    await Promise.allSettled([...this.#partitions.values()].map((p) => p.committing));
    const consumer = this.#consumer;
    if (!consumer) return;
    await this.#stream?.close().catch(() => {});
    await new Promise<void>((resolve) => consumer.close(true, () => resolve()));
  }
}
