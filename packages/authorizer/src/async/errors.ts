/** Why the asynchronous path could not do something; a decline is never one of these. */
export type AsyncErrorCode = 'KAFKA_UNAVAILABLE' | 'INVALID_RECORD' | 'NO_WEBHOOK';

/** Base class of the async path's errors, with `{ cause }` chaining. */
export abstract class AsyncError extends Error {
  abstract readonly code: AsyncErrorCode;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Kafka did not acknowledge a write (or a read failed) in time: nothing is known to be queued. */
export class KafkaUnavailableError extends AsyncError {
  readonly code = 'KAFKA_UNAVAILABLE' as const;
}

/** A record read back from a topic does not have the expected shape (skipped and counted, never decided). */
export class InvalidRecordError extends AsyncError {
  readonly code = 'INVALID_RECORD' as const;
}

/** A decision's client has no webhook registered: it is parked in the dead-letter topic until one is. */
export class NoWebhookError extends AsyncError {
  readonly code = 'NO_WEBHOOK' as const;
}
