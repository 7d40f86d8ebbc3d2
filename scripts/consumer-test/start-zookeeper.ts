/**
 * Starts a private standalone ZooKeeper on a free loopback port (test-support/zookeeper.ts), prints its connection
 * string on one line, and stops it (killing the JVM, removing its temp dir) when stdin closes or on SIGTERM/SIGINT.
 * Used by scripts/consumer-test.sh, which must leave nothing running.
 */
import { startZooKeeper } from '../../test-support/zookeeper.js';

const zk = await startZooKeeper();
let stopping = false;
const stop = async (): Promise<void> => {
  if (stopping) return;
  stopping = true;
  await zk.stop();
  process.exit(0);
};
process.once('SIGTERM', () => void stop());
process.once('SIGINT', () => void stop());
process.stdin.on('end', () => void stop()).resume();
process.stdout.write(`${zk.connectionString}\n`);
