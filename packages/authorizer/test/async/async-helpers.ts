import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { createWebhookReceiver } from '../../src/async/webhook-receiver.js';
import type { WebhookBody } from '../../src/async/records.js';

export const SECRET = 'whsec-test-secret-0123456789';

/** A real webhook receiver on a loopback port that records what it verified and what it refused. */
export interface Receiver {
  url: string;
  port: number;
  received: WebhookBody[];
  rejected: string[];
  /** The first decision per id. */
  byId(): Map<string, WebhookBody>;
  waitFor(ids: readonly string[], timeoutMs?: number): Promise<Map<string, WebhookBody>>;
  /** Stops listening (connections refused) — the receiver is "down". */
  down(): Promise<void>;
  /** Listens again on the same port. */
  up(): Promise<void>;
  close(): Promise<void>;
}

export async function startReceiver(secret = SECRET, port = 0): Promise<Receiver> {
  const received: WebhookBody[] = [];
  const rejected: string[] = [];
  const handler = createWebhookReceiver({
    secret,
    onDecision: (decision) => received.push(decision),
    onRejected: (reason) => rejected.push(reason),
  });
  let server: http.Server | undefined;
  const listen = async (p: number): Promise<number> => {
    server = http.createServer(handler);
    await new Promise<void>((resolve, reject) => {
      server!.once('error', reject);
      server!.listen(p, '127.0.0.1', resolve);
    });
    return (server.address() as AddressInfo).port;
  };
  const actual = await listen(port);
  const byId = () => {
    const map = new Map<string, WebhookBody>();
    for (const d of received) if (!map.has(d.id)) map.set(d.id, d);
    return map;
  };
  const close = async () => {
    const s = server;
    server = undefined;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  };
  return {
    url: `http://127.0.0.1:${actual}/hooks/catraca`,
    port: actual,
    received,
    rejected,
    byId,
    async waitFor(ids, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const map = byId();
        const missing = ids.filter((id) => !map.has(id));
        if (missing.length === 0) return map;
        if (Date.now() > deadline) throw new Error(`webhooks missing for ${missing.length} of ${ids.length}: ${missing.slice(0, 5).join(', ')}`);
        await sleep(50);
      }
    },
    down: close,
    async up() {
      await listen(actual);
    },
    close,
  };
}
