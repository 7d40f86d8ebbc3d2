/**
 * The async path's benchmark (part of `pnpm bench`; alone: `pnpm bench:async [--quick] [--rate=N]`): one authorizer
 * (embedded SQLite, `ASYNC=on`) on a private KRaft Kafka broker, with a webhook receiver in this process.
 *
 * - Closed loop: 32 clients POST /async/transactions back to back: accepted/s (202s, each acknowledged by Kafka with
 *   acks=all) and the accept latency; then how long the deciders and dispatchers take to drain what was accepted.
 * - Open loop at a fixed rate below saturation: end-to-end decision latency, from sending the request to the webhook
 *   arriving at the receiver (accept → Kafka → decide → store → decisions topic → signed POST), p50/p99.
 *
 * Runs under `tsx` (it imports test-support/, which is not compiled into bench/dist).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createWebhookReceiver } from '@catraca/authorizer';
import { Pool } from 'undici';
import { describeMachine } from './machine.js';
import { createAccounts } from './scenarios.js';
import { startAuthorizer } from './server.js';
import { Samples } from './stats.js';

interface KafkaHandle {
  readonly bootstrap: string;
  stop(): Promise<void>;
}
const KAFKA_MODULE = new URL('../../test-support/kafka.ts', import.meta.url).href;
const SECRET = 'bench-webhook-secret-0123456789';
const ACCOUNTS = 1_000;
const CLIENTS = 32;

export interface AsyncBenchOptions {
  quick: boolean;
  /** Open-loop arrival rate (per second). */
  rate: number;
}

export interface AsyncBenchResult {
  markdown: string;
}

interface Closed {
  accepted: number;
  refused: number;
  seconds: number;
  accept: Samples;
  drainSeconds: number;
  endToEnd: Samples;
}

interface Open {
  rate: number;
  accepted: number;
  refused: number;
  accept: Samples;
  endToEnd: Samples;
  missing: number;
}

const fmt = (n: number): string => (Number.isNaN(n) ? '–' : n.toFixed(1));

/** Runs both loops and returns the report section (also printed). */
export async function runAsyncBench(options: AsyncBenchOptions): Promise<AsyncBenchResult> {
  const out = (line = ''): void => void process.stdout.write(`${line}\n`);
  const durationMs = options.quick ? 8_000 : 15_000;
  const { startKafka } = (await import(KAFKA_MODULE)) as { startKafka(): Promise<KafkaHandle> };
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'catraca-bench-async-'));
  const received = new Map<string, number>();
  const receiver = http.createServer(
    createWebhookReceiver({ secret: SECRET, onDecision: (d) => void (received.has(d.id) || received.set(d.id, performance.now())) }),
  );
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  out(`\nasync path — load average ${os.loadavg().map((n) => n.toFixed(2)).join(' ')}`);
  const kafka = await startKafka();
  const server = await startAuthorizer(
    {
      DATA_DIR: dataDir,
      ASYNC: 'on',
      KAFKA_BROKERS: kafka.bootstrap,
      KAFKA_PARTITIONS: '12',
      SQLITE_DURABILITY: 'full',
      LOG_LEVEL: 'info',
    },
    { timeoutMs: 90_000 },
  ).catch(async (error: unknown) => {
    await kafka.stop();
    throw error;
  });
  const pool = new Pool(server.base, { connections: CLIENTS, pipelining: 1 });
  try {
    const put = await pool.request({
      path: '/async/webhooks/default',
      method: 'PUT',
      body: JSON.stringify({ url: hookUrl, secret: SECRET }),
      headers: { 'content-type': 'application/json' },
    });
    await put.body.text();
    if (put.statusCode !== 200) throw new Error(`webhook registration: HTTP ${put.statusCode}`);
    const accounts = Array.from({ length: ACCOUNTS }, (_, i) => `bench-async-${i}`);
    await createAccounts(server.base, accounts);

    const sentAt = new Map<string, number>();
    let seq = 0;
    const post = async (runId: string): Promise<{ id: string; ok: boolean; ms: number }> => {
      const n = seq++;
      const id = `${runId}-${n}`;
      const started = performance.now();
      sentAt.set(id, started);
      const response = await pool.request({
        path: '/async/transactions',
        method: 'POST',
        body: JSON.stringify({ id, account: accounts[n % ACCOUNTS], totalAmount: '1.00', mcc: '5411', merchant: 'MERCADO BENCH' }),
        headers: { 'content-type': 'application/json' },
      });
      await response.body.text();
      return { id, ok: response.statusCode === 202, ms: performance.now() - started };
    };
    const waitDelivered = async (ids: string[], timeoutMs: number): Promise<number> => {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const missing = ids.filter((id) => !received.has(id)).length;
        if (missing === 0) return 0;
        await sleep(100);
      }
      return ids.filter((id) => !received.has(id)).length;
    };

    // Warm-up: JIT, connections, group assignment.
    const warm: string[] = [];
    await Promise.all(Array.from({ length: 8 }, async () => {
      for (let i = 0; i < 50; i++) {
        const r = await post('warm');
        if (r.ok) warm.push(r.id);
      }
    }));
    await waitDelivered(warm, 60_000);

    // Closed loop.
    const closedIds: string[] = [];
    const closed: Closed = { accepted: 0, refused: 0, seconds: 0, accept: new Samples(), drainSeconds: 0, endToEnd: new Samples() };
    const closedStart = performance.now();
    const closedEnd = closedStart + durationMs;
    await Promise.all(
      Array.from({ length: CLIENTS }, async () => {
        while (performance.now() < closedEnd) {
          const r = await post('closed');
          closed.accept.add(r.ms);
          if (r.ok) {
            closed.accepted++;
            closedIds.push(r.id);
          } else closed.refused++;
        }
      }),
    );
    closed.seconds = (performance.now() - closedStart) / 1000;
    const drainMissing = await waitDelivered(closedIds, 300_000);
    closed.drainSeconds = (performance.now() - closedStart) / 1000 - closed.seconds;
    for (const id of closedIds) {
      const at = received.get(id);
      if (at !== undefined) closed.endToEnd.add(at - sentAt.get(id)!);
    }
    out(
      `  closed loop (${CLIENTS} clients, ${durationMs / 1000} s): ${fmt(closed.accepted / closed.seconds)} accepted/s, accept p50 ${fmt(closed.accept.percentile(50))} ms p99 ${fmt(closed.accept.percentile(99))} ms; backlog drained ${fmt(closed.drainSeconds)} s after the last accept (${fmt(closed.accepted / (closed.seconds + closed.drainSeconds))} decided+delivered/s)${drainMissing ? `; ${drainMissing} never delivered` : ''}`,
    );

    // Open loop: end-to-end latency at a fixed arrival rate.
    const open: Open = { rate: options.rate, accepted: 0, refused: 0, accept: new Samples(), endToEnd: new Samples(), missing: 0 };
    const openIds: string[] = [];
    const interval = 1000 / options.rate;
    const total = Math.floor((durationMs / 1000) * options.rate);
    const openStart = performance.now();
    const inflight: Promise<void>[] = [];
    for (let i = 0; i < total; i++) {
      const due = openStart + i * interval;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      inflight.push(
        post('open').then((r) => {
          open.accept.add(r.ms);
          if (r.ok) {
            open.accepted++;
            openIds.push(r.id);
          } else open.refused++;
        }),
      );
    }
    await Promise.all(inflight);
    open.missing = await waitDelivered(openIds, 120_000);
    for (const id of openIds) {
      const at = received.get(id);
      if (at !== undefined) open.endToEnd.add(at - sentAt.get(id)!);
    }
    out(
      `  open loop (${options.rate}/s, ${durationMs / 1000} s): accept p50 ${fmt(open.accept.percentile(50))} ms p99 ${fmt(open.accept.percentile(99))} ms; accept → webhook p50 ${fmt(open.endToEnd.percentile(50))} ms p99 ${fmt(open.endToEnd.percentile(99))} ms`,
    );

    const markdown = [
      '## Async path (Kafka, webhooks)',
      '',
      `One authorizer (embedded SQLite, synchronous=FULL, \`ASYNC=on\`), one KRaft Kafka broker (256 MB heap, 12`,
      `partitions), the webhook receiver (signature verified) and the load generator, all on this machine. ${ACCOUNTS}`,
      `accounts, purchases of 1.00 spread over them. Reproduce: \`pnpm bench:async${options.quick ? ' --quick' : ''} --rate=${options.rate}\`.`,
      '',
      '| loop | accepted/s | refused | accept p50 / p99 (ms) | accept → webhook p50 / p99 (ms) | backlog drain |',
      '|---|---:|---:|---:|---:|---:|',
      `| closed, ${CLIENTS} clients | ${fmt(closed.accepted / closed.seconds)} | ${closed.refused} | ${fmt(closed.accept.percentile(50))} / ${fmt(closed.accept.percentile(99))} | ${fmt(closed.endToEnd.percentile(50))} / ${fmt(closed.endToEnd.percentile(99))} | ${fmt(closed.drainSeconds)} s (${fmt(closed.accepted / (closed.seconds + closed.drainSeconds))} delivered/s overall) |`,
      `| open, ${options.rate}/s | ${fmt(open.accepted / (durationMs / 1000))} | ${open.refused} | ${fmt(open.accept.percentile(50))} / ${fmt(open.accept.percentile(99))} | ${fmt(open.endToEnd.percentile(50))} / ${fmt(open.endToEnd.percentile(99))} | ${open.missing} not delivered |`,
      '',
      'Closed loop: the intake runs ahead of the deciders, so its end-to-end figures are mostly queueing (the backlog);',
      'the open loop, below saturation, is the latency a client sees from sending a purchase to its webhook.',
      '',
    ].join('\n');
    return { markdown };
  } finally {
    await pool.close();
    await server.stop();
    await kafka.stop();
    receiver.closeAllConnections();
    await new Promise<void>((resolve) => receiver.close(() => resolve()));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

// As a program (`pnpm bench:async`).
if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const { values } = parseArgs({
    options: { quick: { type: 'boolean', default: false }, rate: { type: 'string', default: '200' } },
  });
  const rate = Number(values.rate);
  const started = Date.now();
  process.stdout.write(`pnpm bench:async\n${describeMachine()}\n`);
  runAsyncBench({ quick: values.quick, rate })
    .then(({ markdown }) => {
      const dir = fileURLToPath(new URL('../results/', import.meta.url));
      mkdirSync(dir, { recursive: true });
      const date = new Date().toISOString();
      const file = path.join(dir, `async-${date.slice(0, 10)}${values.quick ? '-quick' : ''}.md`);
      writeFileSync(file, `# pnpm bench:async — ${date}\n\nMachine: ${describeMachine()}\n\n${markdown}\n(${((Date.now() - started) / 60_000).toFixed(1)} min)\n`);
      process.stdout.write(`\n${markdown}\nwritten to ${path.relative(process.cwd(), file)}\n`);
    })
    .catch((error: unknown) => {
      process.stderr.write(`bench:async failed: ${(error as Error).stack ?? String(error)}\n`);
      process.exitCode = 1;
    });
}
