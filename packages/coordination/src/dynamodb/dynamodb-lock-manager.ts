import {
  DynamoDBClient,
  GetItemCommand,
  UpdateItemCommand,
  type GetItemCommandInput,
  type UpdateItemCommandInput,
  type UpdateItemCommandOutput,
} from '@aws-sdk/client-dynamodb';
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ClosedError,
  CoordinationError,
  CoordinationUnavailableError,
  InvalidArgumentError,
  LockLostError,
  LockTimeoutError,
  type LockLostReason,
} from '../errors.js';
import type { AcquireOptions, ConnectionState, Lock, Participant, RevocableLockManager } from '../types.js';
import { assertKey, resolveWait } from '../wait.js';
import { assertNotReentrant, runWithLock } from '../with-lock.js';
import { DynamoDbLock } from './dynamodb-lock.js';
import { LocalTurns } from './local-turns.js';
import {
  DYNAMODB_LOCK_DEFAULTS,
  MAX_PARTITION_KEY_BYTES,
  resolveDynamoDbOptions,
  type DynamoDbLockManagerOptions,
  type ResolvedDynamoDbOptions,
} from './options.js';
import {
  acquireRequest,
  fenceOf,
  isConditionFailed,
  readRequest,
  recordOf,
  releaseRequest,
  renewRequest,
  revocationRequested,
  revokeRequest,
  type LockRecord,
} from './requests.js';

/** Record versions remembered for stale-lease detection; beyond this, the oldest observations are forgotten. */
const MAX_OBSERVATIONS = 10_000;

/** The one busy answer of a try-lock (`timeoutMs: 0`). */
class BusyOnce extends Error {}

/**
 * Per-key mutual exclusion on Amazon DynamoDB: a lease lock on conditional writes, after Amazon's DynamoDB Lock Client.
 * One item per key names its holder; every acquisition increments the item's fence counter in the same conditional
 * write, which gives the fencing token. The holder renews its lease every `leaseMs / 3`; a waiter takes over a lock
 * only after it has seen the item's record version unchanged for a whole lease *on its own monotonic clock*, so no
 * wall clock is compared across machines. Within one manager the acquirers of a key queue locally (FIFO) and only
 * the first talks to DynamoDB: it polls with a jittered backoff (one consistent read per poll), and a local release
 * hands the key to the next local waiter at once.
 */
export class DynamoDbLockManager implements RevocableLockManager {
  /** Defaults of every optional constructor option. */
  static readonly DEFAULTS = DYNAMODB_LOCK_DEFAULTS;
  readonly #options: ResolvedDynamoDbOptions;
  readonly #client: DynamoDBClient;
  readonly #ownsClient: boolean;
  readonly #held = new Set<DynamoDbLock>();
  /** One controller per acquisition in progress; close() aborts them. */
  readonly #waits = new Set<AbortController>();
  /** The local queue per key: only the acquirer whose turn it is talks to DynamoDB. */
  readonly #turns = new LocalTurns();
  /** The turn each held lock keeps until it is released or lost. */
  readonly #turnOf = new Map<DynamoDbLock, () => void>();
  /** Per partition key: the record version a waiter last saw, and (monotonic) when it first saw it. */
  readonly #seen = new Map<string, { rvn: string; at: number }>();
  readonly #background = new Set<Promise<unknown>>();
  readonly #listeners = new Set<(state: ConnectionState) => void>();
  #state: ConnectionState = 'connected';
  #closed = false;
  /** This manager's id, written with each acquisition so that `participants()` can tell processes apart. */
  readonly #session = randomUUID();

  constructor(options: DynamoDbLockManagerOptions) {
    this.#options = resolveDynamoDbOptions(options);
    const { client, clientConfig } = this.#options;
    this.#ownsClient = client === undefined;
    // The manager bounds and retries every request itself: an SDK retry would only hide an outage for longer.
    this.#client = client ?? new DynamoDBClient({ maxAttempts: 1, ...clientConfig });
  }

  /**
   * `connected` until a request fails for want of an answer (then `suspended`), `reconnected` at the next answer,
   * `closed` after {@link close}. There is no `lost`: locks are lost one by one, through their own lease.
   */
  get state(): ConnectionState {
    return this.#state;
  }

  /** Argument errors are rejections, like every other failure of an acquire. */
  async acquire(key: string, options?: AcquireOptions): Promise<Lock> {
    const pk = this.#pk(key);
    assertNotReentrant(this, key);
    return this.#acquire(key, pk, options);
  }

  /**
   * Who holds `key`: `[{ node: <acquisition id>, sessionId: <holding manager's id>, isHolder: true }]`, or `[]` when
   * free. Waiters are not listed: they poll and leave no trace in DynamoDB. A lease that ran out but was not taken
   * over yet still shows its holder.
   */
  async participants(key: string, options: { signal?: AbortSignal } = {}): Promise<Participant[]> {
    const pk = this.#pk(key);
    if (this.#closed) throw new ClosedError();
    const record = await this.#read(pk, options.signal);
    return record.owner === undefined ? [] : [{ node: record.owner, sessionId: record.session ?? '', isHolder: true }];
  }

  /**
   * Curator's `Revoker`: marks the current holder of `key` as asked to let go (`revoke` = its acquisition id). The
   * holder's `onRevocationRequested` runs at its next renewal (within `leaseMs / 3`), or at once when this manager
   * holds the key. Resolves false when nobody holds `key`.
   */
  async requestRevocation(key: string, options: { signal?: AbortSignal } = {}): Promise<boolean> {
    const pk = this.#pk(key);
    if (this.#closed) throw new ClosedError();
    const local = [...this.#held].find((lock) => lock.key === key);
    if (local) {
      this.#askToLetGo(local);
      return true;
    }
    try {
      await this.#update(revokeRequest(this.#options.tableName, pk), options.signal);
      return true;
    } catch (error) {
      if (isConditionFailed(error)) return false;
      throw error;
    }
  }

  withLock<T>(key: string, fn: (lock: Lock) => Promise<T>, options?: AcquireOptions): Promise<T> {
    return runWithLock(this, key, fn, options);
  }

  onStateChange(listener: (state: ConnectionState) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#setState('closed');
    for (const wait of this.#waits) wait.abort(new ClosedError());
    const releases = [...this.#held].map((lock) => {
      lock.lose(new LockLostError(lock.key, 'closed'));
      this.#leaveTurn(lock);
      return this.#releaseIfOurs(lock.pk, lock.owner).catch(() => {});
    });
    this.#held.clear();
    await Promise.allSettled([...releases, ...this.#background]);
    if (this.#ownsClient) this.#client.destroy();
  }

  #pk(key: string): string {
    assertKey(key);
    const pk = this.#options.keyPrefix + key;
    if (Buffer.byteLength(pk) > MAX_PARTITION_KEY_BYTES) {
      throw new InvalidArgumentError(`invalid lock key: "<keyPrefix><key>" is over ${MAX_PARTITION_KEY_BYTES} UTF-8 bytes`);
    }
    return pk;
  }

  #askToLetGo(lock: DynamoDbLock): void {
    const thrown = lock.revocationRequested();
    if (thrown !== undefined) {
      this.#options.logger.error({ event: 'revocation-callback-threw', key: lock.key, err: errorMessage(thrown) }, 'onRevocationRequested threw');
    }
  }

  async #acquire(key: string, pk: string, options: AcquireOptions | undefined): Promise<Lock> {
    // Validates timeoutMs, signal and onRevocationRequested; timeoutMs 0 is a try-lock (`once`): one attempt, bounded
    // by requestTimeoutMs, never cut short by its own deadline.
    const { signal: callerSignal, tryOnce: once } = resolveWait(options);
    const onRevocation = options?.onRevocationRequested;
    if (this.#closed) throw new ClosedError();
    if (options?.signal?.aborted) throw new LockTimeoutError(key, { cause: options.signal.reason });

    // One signal for this wait: the caller's deadline, or close().
    const wait = new AbortController();
    const forward = (): void => wait.abort(callerSignal?.reason);
    if (!once) callerSignal?.addEventListener('abort', forward, { once: true });
    const onCallerAbort = (): void => wait.abort(options?.signal?.reason);
    if (once) options?.signal?.addEventListener('abort', onCallerAbort, { once: true });
    this.#waits.add(wait);
    const progress = { answeredBusy: false };
    let leave: (() => void) | undefined;
    try {
      leave = once ? this.#turns.tryEnter(key) : await this.#turns.enter(key, wait.signal);
      // Another acquirer in this process has the key (or is getting it): busy, unless the service is not answering.
      if (leave === undefined) throw new BusyOnce();
      const lock = await this.#acquireLoop(key, pk, wait.signal, progress, once, onRevocation);
      this.#turnOf.set(lock, leave);
      return lock;
    } catch (error) {
      leave?.();
      if (this.#closed) throw new ClosedError({ cause: error });
      if (error instanceof BusyOnce) throw new LockTimeoutError(key);
      if (leave === undefined && wait.signal.aborted && this.#state !== 'suspended') {
        throw new LockTimeoutError(key, { cause: wait.signal.reason });
      }
      if (wait.signal.aborted) {
        // Busy only if DynamoDB said so; a wait that ended without any answer is an outage (or too short to tell).
        throw progress.answeredBusy
          ? new LockTimeoutError(key, { cause: wait.signal.reason })
          : new CoordinationUnavailableError('DynamoDB did not answer before the wait ended', { cause: error });
      }
      throw error instanceof CoordinationError ? error : new CoordinationUnavailableError(String(error), { cause: error });
    } finally {
      callerSignal?.removeEventListener('abort', forward);
      options?.signal?.removeEventListener('abort', onCallerAbort);
      this.#waits.delete(wait);
    }
  }

  async #acquireLoop(
    key: string,
    pk: string,
    signal: AbortSignal,
    progress: { answeredBusy: boolean },
    once: boolean,
    onRevocation: ((lock: Lock) => void) | undefined,
  ): Promise<DynamoDbLock> {
    const { tableName, leaseMs } = this.#options;
    let write = true; // the common case is a free key: write at once, read only after a refusal
    let staleRvn: string | undefined;
    let owner = '';
    let sentAt = 0;
    for (let attempt = 0; ; attempt++) {
      signal.throwIfAborted();
      // A try-lock makes a few attempts at most, even on a key that keeps changing hands.
      if (once && attempt >= 3) throw new BusyOnce();
      if (write) {
        owner = randomUUID();
        const mine = owner;
        sentAt = performance.now();
        let out: UpdateItemCommandOutput | undefined;
        try {
          out = await this.#update(
            acquireRequest(tableName, pk, mine, randomUUID(), leaseMs, this.#session, staleRvn),
            signal,
            // The caller gave up while the write was in flight: a late grant must not keep the key for a whole lease.
            () => this.#releaseInBackground(key, pk, mine),
          );
        } catch (error) {
          if (!isConditionFailed(error)) {
            // Unknown outcome (no answer): the write may have been applied; give it back if so.
            if (error instanceof CoordinationUnavailableError) this.#releaseInBackground(key, pk, mine);
            throw error;
          }
          // Refused: the key has an owner (or the stale version moved on). An answer: the key is busy.
          progress.answeredBusy = true;
        }
        if (out !== undefined) {
          const lock = this.#granted(key, pk, mine, fenceOf(out.Attributes), sentAt, onRevocation);
          if (lock) return lock;
          staleRvn = undefined;
          continue;
        }
      }
      const record = await this.#read(pk, signal);
      const readAt = performance.now();
      // An SDK retry of our own write that had been applied: the lock is ours.
      if (record.owner === owner && owner !== '' && record.fence !== undefined) {
        const lock = this.#granted(key, pk, owner, record.fence, sentAt, onRevocation);
        if (lock) return lock;
        write = true;
        staleRvn = undefined;
        continue;
      }
      if (record.owner === undefined || record.rvn === undefined) {
        this.#seen.delete(pk);
        write = true;
        staleRvn = undefined;
        continue;
      }
      progress.answeredBusy = true;
      const seen = this.#seen.get(pk);
      if (seen?.rvn === record.rvn) {
        if (readAt - seen.at >= (record.leaseMs ?? leaseMs)) {
          // Unchanged for a whole lease on our clock: the holder stopped renewing (its signal fired leaseMs/3 ago).
          write = true;
          staleRvn = record.rvn;
          continue;
        }
      } else {
        // Remembered across acquires, so that even short waits (or try-locks) eventually take over a dead holder.
        this.#observe(pk, record.rvn, readAt);
      }
      if (once) throw new BusyOnce();
      write = false;
      await this.#pause(attempt, signal);
    }
  }

  get #lossAfterMs(): number {
    return (this.#options.leaseMs * 2) / 3;
  }

  /** The lock, or undefined when the grant came too late to trust (it is then given back). */
  #granted(
    key: string,
    pk: string,
    owner: string,
    fencingToken: bigint,
    sentAt: number,
    onRevocation: ((lock: Lock) => void) | undefined,
  ): DynamoDbLock | undefined {
    this.#seen.delete(pk);
    if (this.#closed) {
      // close() ran while the grant's answer was on its way: nobody may hold a lock of a closed manager.
      this.#releaseInBackground(key, pk, owner);
      throw new ClosedError();
    }
    // A reply slower than the loss deadline leaves too little of the lease to trust: give it back, try again.
    if (performance.now() - sentAt >= this.#lossAfterMs) {
      this.#releaseInBackground(key, pk, owner);
      return undefined;
    }
    const lock = new DynamoDbLock(key, fencingToken, pk, owner, sentAt, (l) => this.#release(l), onRevocation);
    this.#held.add(lock);
    this.#schedule(lock);
    return lock;
  }

  /** Arms the next renewal (a third of the lease after the last one) and the loss deadline (two thirds). */
  #schedule(lock: DynamoDbLock): void {
    const now = performance.now();
    const { leaseMs } = this.#options;
    lock.setTimers(
      setTimeout(() => void this.#renew(lock), Math.max(0, lock.renewedAt + leaseMs / 3 - now)),
      setTimeout(() => this.#lose(lock, 'session-lost'), Math.max(0, lock.renewedAt + this.#lossAfterMs - now)),
    );
  }

  async #renew(lock: DynamoDbLock): Promise<void> {
    const { tableName, leaseMs, retryMaxMs, logger } = this.#options;
    const sentAt = performance.now();
    let out: UpdateItemCommandOutput;
    try {
      // Bounded by a renewal period too, so that a hung request leaves time for another before the loss deadline.
      out = await this.#update(renewRequest(tableName, lock.pk, lock.owner, randomUUID(), leaseMs), undefined, undefined, leaseMs / 3);
    } catch (error) {
      if (!lock.held) return;
      if (isConditionFailed(error)) {
        // The item names another holder (or none): someone took the lock, or the item was changed by hand.
        this.#lose(lock, 'session-lost');
        return;
      }
      logger.warn({ event: 'lock-renew-failed', key: lock.key, err: errorMessage(error) }, 'lease renewal failed; retrying');
      // Retry until the loss deadline (its timer is still armed).
      lock.setTimers(setTimeout(() => void this.#renew(lock), Math.max(retryMaxMs, leaseMs / 30)), undefined);
      return;
    }
    if (!lock.held) return;
    lock.renewedAt = sentAt;
    this.#schedule(lock);
    if (revocationRequested(out.Attributes, lock.owner)) this.#askToLetGo(lock);
  }

  #lose(lock: DynamoDbLock, reason: LockLostReason): void {
    if (!lock.lose(new LockLostError(lock.key, reason))) return;
    this.#held.delete(lock);
    this.#leaveTurn(lock);
    this.#options.logger.warn(
      { event: 'lock-lost', key: lock.key, reason, msSinceRenewal: performance.now() - lock.renewedAt, leaseMs: this.#options.leaseMs },
      'lock lost',
    );
    // Give the key back early if it is still ours, so others need not wait out the lease.
    this.#releaseInBackground(lock.key, lock.pk, lock.owner);
  }

  async #release(lock: DynamoDbLock): Promise<void> {
    this.#held.delete(lock);
    try {
      await this.#releaseIfOurs(lock.pk, lock.owner);
    } catch (error) {
      // Nothing the caller could do: other processes take the key over once the lease has run out.
      this.#options.logger.warn({ event: 'lock-release-failed', key: lock.key, err: errorMessage(error) }, 'release failed; the lease will expire');
    } finally {
      // After the release, so that the next local waiter's first write finds the key free.
      this.#leaveTurn(lock);
    }
  }

  #leaveTurn(lock: DynamoDbLock): void {
    this.#turnOf.get(lock)?.();
    this.#turnOf.delete(lock);
  }

  /** Frees the lock if `owner` still holds it; a lock that is not (or no longer) ours is left alone. */
  async #releaseIfOurs(pk: string, owner: string): Promise<void> {
    try {
      await this.#update(releaseRequest(this.#options.tableName, pk, owner, randomUUID()));
    } catch (error) {
      if (!isConditionFailed(error)) throw error;
    }
  }

  #releaseInBackground(key: string, pk: string, owner: string): void {
    const task = this.#releaseIfOurs(pk, owner).catch(
      (error: unknown) => this.#options.logger.debug({ event: 'lock-delete-failed', key, err: errorMessage(error) }, 'background release failed'),
    );
    this.#background.add(task);
    void task.finally(() => this.#background.delete(task));
  }

  #observe(pk: string, rvn: string, at: number): void {
    this.#seen.delete(pk);
    this.#seen.set(pk, { rvn, at });
    if (this.#seen.size > MAX_OBSERVATIONS) {
      const oldest = this.#seen.keys().next();
      if (!oldest.done) this.#seen.delete(oldest.value);
    }
  }

  /** Sleeps a jittered, doubling pause in [retryMinMs, retryMaxMs]; rejects with the signal's reason when it fires. */
  #pause(attempt: number, signal: AbortSignal): Promise<void> {
    const { retryMinMs, retryMaxMs } = this.#options;
    const ceiling = Math.min(retryMaxMs, retryMinMs * 2 ** Math.min(attempt, 20));
    return sleep(retryMinMs + Math.random() * (ceiling - retryMinMs), undefined, { signal });
  }

  async #read(pk: string, signal: AbortSignal | undefined): Promise<LockRecord> {
    const input: GetItemCommandInput = readRequest(this.#options.tableName, pk);
    const out = await this.#send((abortSignal) => this.#client.send(new GetItemCommand(input), { abortSignal }), signal);
    return recordOf(out.Item);
  }

  #update(input: UpdateItemCommandInput, signal?: AbortSignal, onLate?: () => void, maxMs?: number): Promise<UpdateItemCommandOutput> {
    return this.#send((abortSignal) => this.#client.send(new UpdateItemCommand(input), { abortSignal }), signal, onLate, maxMs);
  }

  /**
   * Sends one request, bounded by `requestTimeoutMs` and by `signal`. A conditional-check failure is rethrown as is
   * (an answer); every other failure is a {@link CoordinationUnavailableError}; an abort of `signal` rejects with its
   * reason at once, and `onLate` then runs if the request, still in flight, succeeds.
   */
  #send<T>(send: (abortSignal: AbortSignal) => Promise<T>, signal?: AbortSignal, onLate?: () => void, maxMs?: number): Promise<T> {
    const requestTimeoutMs = Math.max(1, Math.round(Math.min(this.#options.requestTimeoutMs, maxMs ?? Infinity)));
    if (signal?.aborted) return Promise.reject(signal.reason);
    const timeout = AbortSignal.timeout(requestTimeoutMs);
    // A request whose late answer matters (a write) runs to its own timeout; any other is cut with the caller's wait.
    const sent = send(signal === undefined || onLate !== undefined ? timeout : AbortSignal.any([timeout, signal]));
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const onAbort = (): void => {
        if (settled) return;
        settled = true;
        reject(signal?.reason);
        if (onLate) sent.then(onLate, () => {});
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      sent.then(
        (value) => {
          signal?.removeEventListener('abort', onAbort);
          this.#answered();
          if (settled) return;
          settled = true;
          resolve(value);
        },
        (error: unknown) => {
          signal?.removeEventListener('abort', onAbort);
          const answered = isConditionFailed(error);
          if (answered) this.#answered();
          // A request cut by the caller's own signal says nothing about the service.
          else if (timeout.aborted || (!signal?.aborted && isTransportError(error))) this.#setState('suspended');
          if (settled) return;
          settled = true;
          if (answered) reject(error);
          else if (timeout.aborted) reject(new CoordinationUnavailableError(`DynamoDB did not answer within ${requestTimeoutMs} ms`, { cause: error }));
          else reject(new CoordinationUnavailableError(`DynamoDB request failed: ${errorMessage(error)}`, { cause: error }));
        },
      );
    });
  }

  #answered(): void {
    if (this.#state === 'suspended') this.#setState('reconnected');
  }

  #setState(state: ConnectionState): void {
    if (this.#state === state || (this.#closed && state !== 'closed')) return;
    this.#state = state;
    this.#options.logger.info({ event: 'state', state }, `dynamodb lock manager ${state}`);
    for (const listener of [...this.#listeners]) {
      try {
        listener(state);
      } catch (error) {
        this.#options.logger.error({ event: 'listener-error', err: errorMessage(error) }, 'state listener threw');
      }
    }
  }
}

/** No HTTP answer at all (refused, reset, DNS, TLS) or a server-side failure: as good as no answer. */
function isTransportError(error: unknown): boolean {
  if (!(error instanceof Error)) return true;
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return status === undefined || status >= 500;
}

function errorMessage(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  return error.name && error.name !== 'Error' ? `${error.name}: ${error.message}` : error.message;
}
