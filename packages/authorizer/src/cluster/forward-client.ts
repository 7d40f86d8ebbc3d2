import { Pool } from 'undici';
import type { Job } from '../service/authorizer.js';
import { FORWARD_PATH, HEADER, forwardBody, forwardReplySchema, type ForwardReply } from './forward-protocol.js';

const NOT_CONNECTED = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);

/** Why a forward produced no reply: `refused` — nothing reached the receiver; `unknown` — it may have run. */
export type ForwardFailure = { failed: 'refused' | 'unknown'; error: unknown };

/**
 * Keep-alive HTTP client of the internal channel: one undici pool per peer address, reused by every forward.
 */
export class ForwardClient {
  readonly #pools = new Map<string, Pool>();

  constructor(
    private readonly secret: string,
    private readonly connectionsPerPeer: number,
  ) {}

  async send(
    baseUrl: string,
    job: Job,
    expectedEpoch: string | undefined,
    budgetMs: number,
    signal: AbortSignal,
  ): Promise<ForwardReply | ForwardFailure> {
    const pool = this.#pool(baseUrl);
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      [HEADER.secret]: this.secret,
      [HEADER.budget]: String(Math.max(1, Math.floor(budgetMs))),
    };
    if (expectedEpoch !== undefined) headers[HEADER.epoch] = expectedEpoch;
    try {
      const response = await pool.request({
        method: 'POST',
        path: FORWARD_PATH,
        headers,
        body: JSON.stringify(forwardBody(job)),
        signal,
      });
      const text = await response.body.text();
      if (response.statusCode !== 200) {
        // The receiver refused the request before running anything (auth, shape): a configuration problem.
        return { failed: 'refused', error: new Error(`forward answered HTTP ${response.statusCode}: ${text.slice(0, 200)}`) };
      }
      const parsed = forwardReplySchema.safeParse(JSON.parse(text));
      if (!parsed.success) return { failed: 'unknown', error: parsed.error };
      return parsed.data as ForwardReply;
    } catch (error) {
      const code = (error as { code?: string }).code;
      // A connection that could not be made carried nothing; anything else may have reached the receiver.
      const neverSent = code !== undefined && NOT_CONNECTED.has(code);
      return { failed: neverSent ? 'refused' : 'unknown', error };
    }
  }

  /** Drops the pools of peers that are no longer members. */
  retain(baseUrls: ReadonlySet<string>): void {
    for (const [url, pool] of this.#pools) {
      if (baseUrls.has(url)) continue;
      this.#pools.delete(url);
      void pool.close().catch(() => {});
    }
  }

  async close(): Promise<void> {
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    await Promise.allSettled(pools.map((pool) => pool.destroy()));
  }

  #pool(baseUrl: string): Pool {
    let pool = this.#pools.get(baseUrl);
    if (!pool) {
      pool = new Pool(baseUrl, {
        connections: this.connectionsPerPeer,
        pipelining: 1,
        keepAliveTimeout: 60_000,
        connectTimeout: 1_000,
      });
      this.#pools.set(baseUrl, pool);
    }
    return pool;
  }
}
