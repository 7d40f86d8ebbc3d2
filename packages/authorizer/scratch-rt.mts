import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { inject } from 'light-my-request';
import { pino } from 'pino';
import { startKafka } from '../../test-support/kafka.ts';
import { loadConfig } from './src/config.ts';
import { createRuntime } from './src/runtime.ts';
const k = await startKafka();
const dir = mkdtempSync(path.join(tmpdir(), 'x-'));
const rt = await createRuntime(loadConfig({ DATA_DIR: dir, SQLITE_DURABILITY: 'normal', ASYNC: 'on', KAFKA_BROKERS: k.bootstrap, KAFKA_PARTITIONS: '4', LOG_LEVEL: 'warn' }), pino({ level: 'warn' }));
const t = performance.now();
let fails = 0;
await Promise.all(Array.from({ length: 16 }, async (_, a) => {
  for (let i = 0; i < 30; i++) {
    const r = await inject(rt.app.callback(), { method: 'POST', url: '/async/transactions', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ id: `a${a}-${i}`, account: `acc${a}`, totalAmount: '1.00', mcc: '5411', merchant: 'X' }) });
    if (r.statusCode !== 202) fails++;
  }
}));
console.log('done', fails, (performance.now() - t).toFixed(0));
await rt.close();
await k.stop();
