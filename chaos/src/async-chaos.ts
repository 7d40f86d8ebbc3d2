/**
 * `pnpm chaos:async [--hold-ms=8000]`: the async path under faults. A KRaft Kafka broker, a local cluster (2 replicas,
 * ZooKeeper lock, PostgreSQL, `ASYNC=on`) and a webhook receiver that appends every verified delivery to a log file.
 * Steady async load (each client owns its accounts and sends their purchases in order); one fault at a time, held,
 * then lifted: Kafka broker SIGKILL + restart, broker SIGSTOP (paused), a deciding replica SIGKILL + restart, the
 * webhook receiver down. Then the invariant checker reads the outcomes from the webhook log and the store:
 *
 * - no lost decision: every accepted (202) transaction has a webhook;
 * - duplicated deliveries agree (one code per id);
 * - the webhook is the stored decision: `00`/`51` stored with that code, `07` not stored;
 * - exactly once: every stored record was accepted, once; per account, opening − approved debits = balance = the
 *   ledger's sum, never negative;
 * - per-account order: the store's versions follow the order in which each account's purchases were accepted.
 *
 * Exit code 1 when an invariant failed, 2 on an error. Writes chaos/results/async-<date>.md.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createWebhookReceiver, openPostgresStore, type Store, type TransactionRecord } from '@catraca/authorizer';
import { send } from '../../test-support/cluster-client.js';
import { startLocalCluster, type LocalCluster } from '../../test-support/cluster.js';
import { startKafka, type KafkaBroker } from '../../test-support/kafka.js';

const { values } = parseArgs({
  options: {
    'hold-ms': { type: 'string', default: '8000' },
    clients: { type: 'string', default: '8' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  process.stdout.write('Usage: pnpm chaos:async [--hold-ms=8000] [--clients=8]\n');
  process.exit(0);
}
const holdMs = Number(values['hold-ms']);
const clients = Number(values.clients);
const SECRET = 'chaos-webhook-secret-0123456789';
const ACCOUNTS_PER_CLIENT = 3;
const OPENING_CENTS = 15_000; // 150.00 of CASH: purchases of 1.00–3.00 run some accounts dry, so 51s happen too

interface Sent {
  id: string;
  account: string;
  cents: number;
  /** Accepted (202) at last, after retries with the same id. */
  accepted: boolean;
}

interface Phase {
  fault: string;
  accepted: number;
  refused: number;
}

const out = (line = ''): void => void process.stdout.write(`${line}\n`);

async function main(): Promise<number> {
  const startLoad = loadavg().map((n) => n.toFixed(2)).join(' ');
  const dir = join(tmpdir(), `catraca-chaos-async-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  const logFile = join(dir, 'webhooks.jsonl');
  writeFileSync(logFile, '');
  let receiverServer: http.Server | undefined;
  let receiverPort = 0;
  const handler = createWebhookReceiver({ secret: SECRET, logFile });
  const receiverUp = async () => {
    receiverServer = http.createServer(handler);
    await new Promise<void>((resolve) => receiverServer!.listen(receiverPort, '127.0.0.1', resolve));
    receiverPort = (receiverServer.address() as AddressInfo).port;
  };
  const receiverDown = async () => {
    const s = receiverServer;
    receiverServer = undefined;
    s?.closeAllConnections();
    await new Promise<void>((resolve) => (s ? s.close(() => resolve()) : resolve()));
  };
  await receiverUp();

  let kafka: KafkaBroker | undefined;
  let cluster: LocalCluster | undefined;
  let store: Store | undefined;
  try {
    out(`pnpm chaos:async — load average ${startLoad}`);
    kafka = await startKafka();
    cluster = await startLocalCluster({
      replicas: 2,
      zookeeper: 'standalone',
      withNginx: false,
      env: {
        ASYNC: 'on',
        KAFKA_BROKERS: kafka.bootstrap,
        KAFKA_PARTITIONS: '6',
        WEBHOOK_BACKOFF_BASE_MS: '100',
        WEBHOOK_BACKOFF_MAX_MS: '2000',
        WEBHOOK_RETRY_FOR_MS: '600000',
      },
    });
    const c = cluster;
    const k = kafka;
    store = await openPostgresStore({ connectionString: c.postgresUrl, maxConnections: 2, statementTimeoutMs: 30_000 });
    const put = await send(c.replicas[0]!.url, 'PUT', '/async/webhooks/default', {
      url: `http://127.0.0.1:${receiverPort}/hooks`,
      secret: SECRET,
    });
    if (put.status !== 200) throw new Error(`webhook registration: ${put.status} ${put.text}`);
    const accounts = Array.from({ length: clients * ACCOUNTS_PER_CLIENT }, (_, i) => `chaos-async-${i}`);
    for (const id of accounts) {
      const r = await send(c.replicas[0]!.url, 'POST', '/accounts', { id, balances: { CASH: (OPENING_CENTS / 100).toFixed(2) } });
      if (r.status !== 201) throw new Error(`create ${id}: ${r.status} ${r.text}`);
    }

    const sent: Sent[] = [];
    const phases: Phase[] = [];
    let phase: Phase = { fault: 'steady', accepted: 0, refused: 0 };
    let stop = false;
    let seq = 0;
    const worker = async (w: number) => {
      const mine = accounts.filter((_, i) => i % clients === w);
      let n = 0;
      while (!stop) {
        const account = mine[n++ % mine.length]!;
        const cents = 100 * (1 + (seq % 3));
        const tx: Sent = { id: `ca-${seq++}`, account, cents, accepted: false };
        sent.push(tx);
        // Same id until accepted: an acquirer's retry. Sequential per client, so per account the accept order is known.
        for (let attempt = 0; !tx.accepted; attempt++) {
          const replica = c.replicas[(w + attempt) % c.replicas.length]!;
          try {
            if (!replica.running) throw new Error('down');
            const reply = await send(replica.url, 'POST', '/async/transactions', {
              id: tx.id, account, totalAmount: (cents / 100).toFixed(2), mcc: '1234', merchant: 'LOJA CHAOS',
            }, 10_000);
            if (reply.status === 202) tx.accepted = true;
            else phase.refused++;
          } catch {
            phase.refused++;
          }
          if (!tx.accepted) await sleep(Math.min(1_000, 50 * (attempt + 1)));
          if (stop && !tx.accepted && attempt > 200) break;
        }
        if (tx.accepted) phase.accepted++;
        await sleep(20);
      }
    };
    const load = Promise.all(Array.from({ length: clients }, (_, w) => worker(w)));
    const run = async (fault: string, inject: () => Promise<void>, lift: () => Promise<void>) => {
      phases.push(phase);
      phase = { fault, accepted: 0, refused: 0 };
      out(`  ${fault}: injecting`);
      await inject();
      await sleep(holdMs);
      await lift();
      await sleep(6_000);
      out(`  ${fault}: lifted (accepted ${phase.accepted}, refused attempts ${phase.refused})`);
    };
    await sleep(6_000);
    await run('Kafka broker SIGKILL, restarted', () => k.kill(), () => k.restart());
    await run('Kafka broker paused (SIGSTOP)', async () => k.pause(), async () => k.resume());
    await run('deciding replica SIGKILL, restarted', () => c.killReplica(1, 'SIGKILL'), () => c.restartReplica(1));
    await run('webhook receiver down', receiverDown, receiverUp);
    phases.push(phase);
    stop = true;
    await load;

    // Wait for every accepted transaction's webhook.
    const accepted = sent.filter((t) => t.accepted);
    const readLog = () =>
      readFileSync(logFile, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { id: string; account: string; code: string });
    const deadline = Date.now() + 300_000;
    let log = readLog();
    for (;;) {
      const seen = new Set(log.map((d) => d.id));
      if (accepted.every((t) => seen.has(t.id)) || Date.now() > deadline) break;
      await sleep(500);
      log = readLog();
    }

    // The invariants, from the webhook log and the store.
    const violations: string[] = [];
    const codes = new Map<string, Set<string>>();
    for (const d of log) codes.set(d.id, (codes.get(d.id) ?? new Set()).add(d.code));
    const acceptedIds = new Set(accepted.map((t) => t.id));
    for (const t of accepted) if (!codes.has(t.id)) violations.push(`lost decision: ${t.id} accepted, no webhook`);
    for (const [id, set] of codes) {
      if (set.size > 1) violations.push(`deliveries disagree: ${id} → ${[...set].join(', ')}`);
      if (!acceptedIds.has(id)) violations.push(`webhook for a transaction never accepted: ${id}`);
    }
    let records = 0;
    for (const account of accounts) {
      const stored: TransactionRecord[] = [];
      for (let before: number | undefined; ; ) {
        const page = await store.listTransactions(account, before === undefined ? { limit: 1_000 } : { limit: 1_000, before });
        stored.push(...page.items);
        if (page.nextBefore === undefined) break;
        before = page.nextBefore;
      }
      stored.reverse();
      records += stored.length;
      const ids = stored.map((r) => r.id);
      if (new Set(ids).size !== ids.length) violations.push(`applied twice on ${account}`);
      for (const r of stored) {
        if (!acceptedIds.has(r.id)) violations.push(`stored but never accepted: ${r.id}`);
        const hook = codes.get(r.id);
        if (hook && !hook.has(r.code)) violations.push(`webhook ${[...hook].join()} but stored ${r.code}: ${r.id}`);
      }
      const expectedOrder = accepted.filter((t) => t.account === account && ids.includes(t.id)).map((t) => t.id);
      const at = expectedOrder.findIndex((id, i) => ids[i] !== id);
      if (at >= 0) {
        const around = (list: string[]) => list.slice(Math.max(0, at - 2), at + 3).join(',');
        violations.push(`order: ${account} at #${at}: stored ${around(ids)}, accepted ${around(expectedOrder)}`);
      }
      const approved = stored.filter((r) => r.code === '00').reduce((s, r) => s + r.amount, 0);
      const balance = (await store.getAccount(account))!.balances.CASH;
      if (balance !== OPENING_CENTS - approved) violations.push(`conservation: ${account} balance ${balance}, opening − approved ${OPENING_CENTS - approved}`);
      const ledger = await store.listLedger(account);
      const sum = ledger.filter((e) => e.category === 'CASH').reduce((s, e) => s + e.delta, 0);
      if (sum !== balance) violations.push(`ledger: ${account} sums to ${sum}, balance ${balance}`);
      if (ledger.some((e) => e.balanceAfter < 0)) violations.push(`negative balance on ${account}`);
    }
    for (const t of accepted) {
      const hook = codes.get(t.id);
      if (hook?.has('07')) {
        const r = await store.getTransaction(t.id);
        if (r) violations.push(`07 delivered but stored: ${t.id}`);
      }
    }
    const duplicates = log.length - codes.size;
    const table = [
      '| phase | accepted | refused attempts (07 or transport, retried) |',
      '|---|---:|---:|',
      ...phases.map((p) => `| ${p.fault} | ${p.accepted} | ${p.refused} |`),
    ];
    const verdict = violations.length === 0 ? 'PASS' : `FAIL (${violations.length})`;
    const report = [
      `# pnpm chaos:async — ${new Date().toISOString()}`,
      '',
      `Load average at the start: ${startLoad} (a shared 2-core machine). ${clients} clients, ${accounts.length} accounts, faults held ${holdMs / 1000} s.`,
      '',
      ...table,
      '',
      `Accepted ${accepted.length}; webhooks ${log.length} (${codes.size} distinct ids, ${duplicates} duplicate deliveries); stored ${records}.`,
      `Codes delivered: ${['00', '51', '07'].map((code) => `${code} ${[...codes.values()].filter((s) => s.has(code)).length}`).join(', ')}.`,
      '',
      `Invariants (no lost decision, deliveries agree, webhook = stored decision, exactly once, conservation, per-account order): **${verdict}**`,
      ...violations.slice(0, 30).map((v) => `- ${v}`),
      '',
    ].join('\n');
    out(`\n${report}`);
    const resultsDir = fileURLToPath(new URL('../results/', import.meta.url));
    mkdirSync(resultsDir, { recursive: true });
    writeFileSync(join(resultsDir, `async-${new Date().toISOString().slice(0, 10)}.md`), report);
    return violations.length === 0 ? 0 : 1;
  } finally {
    await store?.close().catch(() => {});
    await cluster?.stop().catch(() => {});
    await kafka?.stop().catch(() => {});
    await receiverDown().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`chaos:async failed: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(2);
  },
);
