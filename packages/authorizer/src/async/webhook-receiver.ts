import { appendFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { WebhookBody } from './records.js';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, verify } from './webhook-signature.js';

export interface WebhookReceiverOptions {
  /** The secret registered with the webhook. */
  secret: string;
  /** Replay window. Default 300 s. */
  toleranceSeconds?: number;
  /** Called once per verified delivery (duplicates included: deduplicate by `id`). */
  onDecision?(decision: WebhookBody, received: { attempt: number; atMs: number }): void;
  /** Called for every refused request, with why. */
  onRejected?(reason: string): void;
  /** Appends one JSON line per verified delivery (the chaos suite's webhook log). */
  logFile?: string;
  /** Largest body read. Default 16 KiB. */
  limitBytes?: number;
}

/**
 * An example webhook receiver, as a client would write one: reads the raw body, checks the timestamp window and the
 * HMAC signature in constant time before trusting anything, answers 401 to a forged or stale request and 204 to a
 * verified one. Mount it on `http.createServer(createWebhookReceiver({ secret }))`.
 */
export function createWebhookReceiver(options: WebhookReceiverOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const limit = options.limitBytes ?? 16 * 1024;
  return (req, res) => {
    if (req.method !== 'POST') {
      res.writeHead(405).end();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) req.destroy();
      else chunks.push(chunk);
    });
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const header = (name: string) => {
        const value = req.headers[name];
        return Array.isArray(value) ? value[0] : value;
      };
      const checked = verify(options.secret, body, header(TIMESTAMP_HEADER), header(SIGNATURE_HEADER), {
        ...(options.toleranceSeconds === undefined ? {} : { toleranceSeconds: options.toleranceSeconds }),
      });
      if (!checked.ok) {
        options.onRejected?.(checked.reason);
        res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ error: checked.reason }));
        return;
      }
      let decision: WebhookBody;
      try {
        decision = JSON.parse(body) as WebhookBody;
      } catch {
        options.onRejected?.('malformed');
        res.writeHead(400).end();
        return;
      }
      const received = { attempt: Number(header('catraca-delivery-attempt') ?? '1'), atMs: Date.now() };
      if (options.logFile) appendFileSync(options.logFile, `${JSON.stringify({ ...decision, at: received.atMs })}\n`);
      options.onDecision?.(decision, received);
      res.writeHead(204).end();
    });
  };
}
