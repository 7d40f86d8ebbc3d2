import { Admin } from '@platformatic/kafka';
import type { Logger } from 'pino';

/** The async path's topics, all named after `KAFKA_TOPIC`. */
export interface Topics {
  /** Accepted purchases, keyed by account: one partition serves an account's transactions in order. */
  transactions: string;
  /** Decisions on their way to webhooks, keyed by account. */
  decisions: string;
  /** Deliveries that ran out of retries, waiting for an admin to replay them. */
  deadLetter: string;
  /** Registered webhooks, keyed by client (compacted: the latest registration of each client). */
  webhooks: string;
  /** Delivery state per transaction, keyed by transaction id (compacted). */
  deliveries: string;
}

export function topicNames(base: string): Topics {
  return {
    transactions: base,
    decisions: `${base}.decisions`,
    deadLetter: `${base}.dead-letter`,
    webhooks: `${base}.webhooks`,
    deliveries: `${base}.deliveries`,
  };
}

export interface EnsureTopicsOptions {
  brokers: string[];
  topics: Topics;
  partitions: number;
  replication: number;
  logger: Logger;
}

/** Creates the topics that do not exist yet (several replicas may race: "already exists" is success). */
export async function ensureTopics(options: EnsureTopicsOptions): Promise<void> {
  const { brokers, topics, partitions, replication, logger } = options;
  const admin = new Admin({ clientId: 'catraca-admin', bootstrapBrokers: brokers, retries: 5, retryDelay: 500 });
  const minIsr = String(Math.min(2, replication));
  const plans: Array<{ name: string; partitions: number; compacted: boolean }> = [
    { name: topics.transactions, partitions, compacted: false },
    { name: topics.decisions, partitions, compacted: false },
    { name: topics.deadLetter, partitions: 1, compacted: false },
    { name: topics.webhooks, partitions: 1, compacted: true },
    { name: topics.deliveries, partitions, compacted: true },
  ];
  try {
    const existing = new Set(await admin.listTopics());
    for (const plan of plans) {
      if (existing.has(plan.name)) continue;
      try {
        await admin.createTopics({
          topics: [plan.name],
          partitions: plan.partitions,
          replicas: replication,
          configs: [
            { name: 'min.insync.replicas', value: minIsr },
            { name: 'cleanup.policy', value: plan.compacted ? 'compact' : 'delete' },
          ],
        });
        logger.info({ topic: plan.name, partitions: plan.partitions }, 'created topic');
      } catch (error) {
        if (!/already exists/i.test(String((error as Error).message) + JSON.stringify((error as { errors?: unknown }).errors ?? ''))) {
          throw error;
        }
      }
    }
  } finally {
    await admin.close();
  }
}
