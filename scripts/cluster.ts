/**
 * `pnpm cluster [--replicas=N] [--zookeeper=ensemble|standalone] [--kafka]`: a local Catraca cluster on loopback
 * (ZooKeeper, Redis, PostgreSQL, N authorizer replicas, nginx in front; with `--kafka` also a KRaft Kafka broker and
 * the async mode on every replica) until Ctrl-C or SIGTERM. Creates no accounts.
 */
import { parseArgs } from 'node:util';
import { startLocalCluster, type LocalCluster } from '../test-support/cluster.js';
import { startKafka, type KafkaBroker } from '../test-support/kafka.js';

const { values } = parseArgs({
  options: {
    replicas: { type: 'string', default: '2' },
    zookeeper: { type: 'string', default: 'ensemble' },
    kafka: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  process.stdout.write('Usage: pnpm cluster [--replicas=N] [--zookeeper=ensemble|standalone] [--kafka]\n');
  process.exit(0);
}
const replicas = Number(values.replicas);
const zookeeper = values.zookeeper;
if (!Number.isInteger(replicas) || replicas < 1 || replicas > 16) {
  process.stderr.write(`cluster: --replicas must be an integer from 1 to 16, got ${values.replicas}\n`);
  process.exit(2);
}
if (zookeeper !== 'ensemble' && zookeeper !== 'standalone') {
  process.stderr.write(`cluster: --zookeeper must be ensemble or standalone, got ${zookeeper}\n`);
  process.exit(2);
}

process.stdout.write(`starting a local cluster (${replicas} replicas, ZooKeeper ${zookeeper})...\n`);
let cluster: LocalCluster | undefined;
let kafka: KafkaBroker | undefined;
let stopping = false;
const stop = async (signal: string): Promise<void> => {
  if (stopping) return;
  stopping = true;
  process.stdout.write(`\n${signal}: stopping the cluster...\n`);
  await cluster?.stop();
  await kafka?.stop();
  process.stdout.write('stopped\n');
  process.exit(0);
};
process.on('SIGINT', () => void stop('SIGINT'));
process.on('SIGTERM', () => void stop('SIGTERM'));

try {
  if (values.kafka) kafka = await startKafka();
  const asyncEnv: Record<string, string> = kafka ? { ASYNC: 'on', KAFKA_BROKERS: kafka.bootstrap } : {};
  cluster = await startLocalCluster({ replicas, zookeeper, env: { ZOOKEEPER_SESSION_TIMEOUT_MS: '6000', ...asyncEnv } });
} catch (error) {
  process.stderr.write(`cluster: ${(error as Error).message}\n`);
  process.exit(1);
}
if (stopping) await new Promise(() => {}); // a signal arrived during the start: stop() exits

const lines = [
  '',
  `Catraca cluster ready: ${cluster.url}`,
  '',
  `  load balancer  nginx ${cluster.url}   (config ${cluster.nginx?.configFile})`,
  ...cluster.replicas.map((r) => `  replica ${r.index}      ${r.url}   pid ${r.pid}, log ${r.logFile}`),
  `  zookeeper      ${cluster.zookeeper?.connectionString ?? '(none)'}`,
  `  redis          ${cluster.redis.url}`,
  `  postgresql     ${cluster.postgresUrl}`,
  `  kafka          ${kafka ? `${kafka.bootstrap} (KRaft; async mode on: POST /async/transactions)` : '(off; --kafka starts one)'}`,
  '',
  `Try: curl -s -XPOST ${cluster.url}/accounts -H 'content-type: application/json' -d '{"id":"acc-1","balances":{"CASH":"100.00"}}'`,
  `     curl -s -XPOST ${cluster.url}/transactions -H 'content-type: application/json' -d '{"id":"t-1","account":"acc-1","totalAmount":"1.00","mcc":"5999","merchant":"LOJA"}'`,
  '',
  'Ctrl-C stops everything.',
  '',
];
process.stdout.write(lines.join('\n'));
