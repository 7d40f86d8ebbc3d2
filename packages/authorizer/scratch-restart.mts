import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { inject } from 'light-my-request';
import { pino } from 'pino';
import { startKafka } from '../../test-support/kafka.ts';
import { loadConfig } from './src/config.ts';
import { createRuntime } from './src/runtime.ts';
import { startReceiver, SECRET } from './test/async/async-helpers.ts';
const k = await startKafka();
const receiver = await startReceiver();
const dir = mkdtempSync(path.join(tmpdir(), 'x-'));
const logger = pino({ level: 'info' }, pino.destination('/tmp/kf/restart.log'));
const rt = await createRuntime(loadConfig({ DATA_DIR: dir, SQLITE_DURABILITY: 'normal', ASYNC: 'on', KAFKA_BROKERS: k.bootstrap, KAFKA_PARTITIONS: '4', WEBHOOK_BACKOFF_MAX_MS: '1000' }), logger);
const call = (method: any, url: string, body?: unknown) => inject(rt.app.callback(), { method, url, headers: { 'content-type': 'application/json' }, ...(body ? { payload: JSON.stringify(body) } : {}) });
await call('PUT', '/async/webhooks/default', { url: receiver.url, secret: SECRET });
await call('POST', '/accounts', { id: 'a', balances: { CASH: 1000 } });
const send = async (id: string) => (await call('POST', '/async/transactions', { id, account: 'a', totalAmount: '1.00', mcc: '1234', merchant: 'X' })).statusCode;
console.log('before', await send('t1'));
await receiver.waitFor(['t1']);
console.log('t1 delivered');
let stop = false; let n = 0; const sent: string[] = [];
const load = (async () => { while (!stop) { const id = `L${n++}`; if (await send(id) === 202) sent.push(id); await sleep(5); } })();
await sleep(1500);
await k.kill();
console.log('killed, sent', sent.length);
await sleep(1500);
await k.restart();
await sleep(3000);
stop = true; await load;
console.log('sent', sent.length);
for (let i = 0; i < 6; i++) { const m = await rt.metrics.registry.metrics(); console.log(m.split('\n').filter((l) => /^catraca_(async_decisions_total|async_consumer_lag|webhook_deliveries_total|async_decision_retries)/.test(l)).join(' | ')); await sleep(5000); }
try { await receiver.waitFor(sent, 30000); console.log('all L delivered'); } catch (e) { console.log(String(e)); }
console.log('restarted');
for (let i = 0; i < 20; i++) { const s = await send('t3'); console.log('after', s); if (s === 202) break; await sleep(1000); }
try { await receiver.waitFor(['t3'], 30000); console.log('t3 delivered'); } catch (e) { console.log(String(e)); }
console.log('store t3', await rt.store.getTransaction('t3'));
await rt.close(); await receiver.close(); await k.stop();
