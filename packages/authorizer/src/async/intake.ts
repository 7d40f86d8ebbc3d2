import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { DebitRequest } from '../service/authorizer.js';
import { KafkaUnavailableError } from './errors.js';
import type { Accepted } from './records.js';
import { SerialProducer } from './serial-producer.js';

export interface IntakeOptions {
  brokers: string[];
  topic: string;
  logger: Logger;
  /** Longest wait for Kafka's acknowledgement before the request is refused. */
  timeoutMs: number;
}

/**
 * The producing side of the async path: writes an accepted purchase to the transactions topic keyed by account, with
 * an idempotent producer and `acks=all`, and resolves only once Kafka acknowledged it (so a 202 means "durably queued").
 */
export class Intake {
  readonly #producer: SerialProducer;

  constructor(private readonly options: IntakeOptions) {
    this.#producer = new SerialProducer({
      brokers: options.brokers,
      clientId: 'catraca-intake',
      logger: options.logger,
      timeoutMs: options.timeoutMs,
    });
  }

  /**
   * Queues `request` for `client`'s webhook; resolves with the record as written (its id made here when the client sent
   * none). Throws {@link KafkaUnavailableError} when Kafka did not acknowledge (nothing is known to be queued: the
   * client retries with the same id, which the store's idempotency makes safe).
   */
  async accept(request: DebitRequest, client: string, signal: AbortSignal): Promise<Accepted> {
    const accepted: Accepted = {
      v: 1,
      id: request.id ?? randomUUID(),
      account: request.accountId,
      amount: request.amount,
      mcc: request.mcc,
      merchant: request.merchant,
      client,
      acceptedAt: Date.now(),
    };
    const send = this.#producer.write({ topic: this.options.topic, key: accepted.account, value: JSON.stringify(accepted) });
    try {
      await raceAbort(send, signal);
    } catch (error) {
      throw new KafkaUnavailableError('Kafka did not acknowledge the transaction', { cause: error });
    }
    return accepted;
  }

  close(): Promise<void> {
    return this.#producer.close();
  }
}

/** Rejects when `signal` fires first (the write may still land: the client's retry with the same id settles it). */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
