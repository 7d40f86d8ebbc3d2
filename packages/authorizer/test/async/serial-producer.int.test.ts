import { Consumer, Producer, ProduceAcks, stringSerializers } from '@platformatic/kafka';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKafka, type KafkaBroker } from '../../../../test-support/kafka.js';
import { SerialProducer } from '../../src/async/serial-producer.js';
import { ensureTopics, topicNames } from '../../src/async/topics.js';
import { silent } from '../helpers.js';

/** Records in partition 0 of `topic` (its end offset). */
async function endOffset(bootstrap: string, topic: string): Promise<number> {
  const consumer = new Consumer({ clientId: 'count', groupId: 'count', bootstrapBrokers: [bootstrap] });
  try {
    return Number((await consumer.listOffsets({ topics: [topic] })).get(topic)![0]);
  } finally {
    await consumer.close();
  }
}

describe('an acknowledged write is a written record (idempotent producer, real broker)', () => {
  let kafka: KafkaBroker;
  beforeAll(async () => {
    kafka = await startKafka();
    for (const base of ['raw', 'serial']) {
      await ensureTopics({ brokers: [kafka.bootstrap], topics: topicNames(base), partitions: 1, replication: 1, logger: silent });
    }
  });
  afterAll(async () => kafka?.stop());

  it('the client library alone acknowledges concurrent idempotent sends it never wrote (why SerialProducer exists)', async () => {
    const producer = new Producer({
      clientId: 'raw',
      bootstrapBrokers: [kafka.bootstrap],
      serializers: stringSerializers,
      idempotent: true,
      acks: ProduceAcks.ALL,
    });
    try {
      await producer.send({ messages: [{ topic: 'raw', key: 'warm-up', value: 'x' }] });
      const sends = await Promise.allSettled(
        Array.from({ length: 50 }, (_, i) => producer.send({ messages: [{ topic: 'raw', key: `k${i}`, value: 'x' }] })),
      );
      const acknowledged = sends.filter((s) => s.status === 'fulfilled').length;
      // If this starts failing, the library fixed its sequence numbering: SerialProducer may then be simplified.
      expect(await endOffset(kafka.bootstrap, 'raw')).toBeLessThan(1 + acknowledged);
    } finally {
      await producer.close();
    }
  });

  it('SerialProducer: every one of 500 concurrent writes acknowledged is in the topic, exactly once', async () => {
    const producer = new SerialProducer({ brokers: [kafka.bootstrap], clientId: 'serial', logger: silent });
    try {
      const writes = await Promise.allSettled(
        Array.from({ length: 500 }, (_, i) => producer.write({ topic: 'serial', key: `k${i % 7}`, value: String(i) })),
      );
      expect(writes.every((w) => w.status === 'fulfilled')).toBe(true);
      expect(await endOffset(kafka.bootstrap, 'serial')).toBe(500);
    } finally {
      await producer.close();
    }
  });
});
