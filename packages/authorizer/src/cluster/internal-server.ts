import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Outcome } from '../service/outcome.js';
import { FORWARD_PATH, HEADER, forwardBodySchema, type ForwardBody, type ForwardReply } from './forward-protocol.js';
import { secretMatcher } from './secret.js';

const BODY_LIMIT_BYTES = 16 * 1024;

/** What the internal channel needs from the replica. */
export interface ForwardHandler {
  /**
   * Serves a forwarded request here, or answers `not_owner` without running anything (this replica is not the
   * account's home, is handing it over, or holds an older epoch than `expectedEpoch`).
   */
  serveForwarded(body: ForwardBody, expectedEpoch: bigint | undefined, signal: AbortSignal): Promise<ForwardReply>;
}

export interface InternalServerOptions {
  host: string;
  port: number;
  secret: string;
  /** Longest budget a sender may ask for (the sender's own deadline bounds it anyway). */
  maxBudgetMs: number;
  handler: ForwardHandler;
  logger: Logger;
}

/**
 * The replicas' internal channel: one endpoint, `POST /internal/v1/forward`, on its own listener (never behind the
 * public load balancer), refusing any caller without the cluster's shared secret. Keep-alive connections from the
 * other replicas carry the forwards.
 */
export class InternalServer {
  readonly #server: http.Server;
  readonly #matches: (presented: string | undefined) => boolean;

  constructor(private readonly options: InternalServerOptions) {
    this.#matches = secretMatcher(options.secret);
    this.#server = http.createServer({ keepAliveTimeout: 65_000, requestTimeout: 10_000 }, (req, res) => {
      void this.#handle(req, res);
    });
  }

  /** Starts listening; resolves with the bound port. */
  async listen(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(this.options.port, this.options.host, () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    return (this.#server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeIdleConnections();
    });
  }

  async #handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const reply = (status: number, body: unknown): void => {
      const text = JSON.stringify(body);
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    };
    try {
      if (req.method !== 'POST' || req.url !== FORWARD_PATH) return reply(404, { error: 'not_found' });
      const secret = req.headers[HEADER.secret];
      if (!this.#matches(typeof secret === 'string' ? secret : undefined)) {
        req.resume();
        return reply(401, { error: 'unauthorized' });
      }
      const budgetMs = Number(req.headers[HEADER.budget]);
      if (!Number.isFinite(budgetMs) || budgetMs <= 0) return reply(400, { error: 'bad_budget' });
      const epochHeader = req.headers[HEADER.epoch];
      const expectedEpoch = typeof epochHeader === 'string' && /^\d{1,20}$/.test(epochHeader) ? BigInt(epochHeader) : undefined;
      const gone = new AbortController();
      res.once('close', () => {
        if (!res.writableFinished) gone.abort(new Error('sender gone'));
      });
      const signal = AbortSignal.any([AbortSignal.timeout(Math.min(budgetMs, this.options.maxBudgetMs)), gone.signal]);
      const raw = await readBody(req);
      if (raw === undefined) return reply(413, { error: 'too_large' });
      let parsed;
      try {
        parsed = forwardBodySchema.safeParse(JSON.parse(raw));
      } catch {
        return reply(400, { error: 'bad_json' });
      }
      if (!parsed.success) return reply(400, { error: 'bad_request' });
      const answer = await this.options.handler.serveForwarded(parsed.data, expectedEpoch, signal);
      reply(200, answer);
    } catch (error) {
      this.options.logger.error({ err: error }, 'internal forward failed');
      if (!res.headersSent) reply(500, { error: 'internal_error' });
    }
  }
}

function readBody(req: http.IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > BODY_LIMIT_BYTES) {
        req.destroy();
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    });
    req.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.once('error', reject);
  });
}

/** The part of an outcome that crosses the channel. */
export function wireOutcome(outcome: Outcome): Extract<ForwardReply, { status: 'served' }>['outcome'] {
  return { code: outcome.code, reason: outcome.reason, transactionId: outcome.transactionId, replayed: outcome.replayed };
}
