import { startKafka } from '../../test-support/kafka.ts';
import { Producer, ProduceAcks, stringSerializers, stringDeserializers, Admin, Consumer } from '@platformatic/kafka';
const k = await startKafka();
const admin = new Admin({ clientId: 'a', bootstrapBrokers: [k.bootstrap] });
await admin.createTopics({ topics: ['x'], partitions: 1, replicas: 1 });
const p = new Producer({ clientId: 'p', bootstrapBrokers: [k.bootstrap], serializers: stringSerializers });
for (let i = 0; i < 5; i++) await p.send({ messages: [{ topic: 'x', key: 'k', value: String(i) }] });
const c = new Consumer({ clientId: 'c', groupId: 'g', bootstrapBrokers: [k.bootstrap], deserializers: stringDeserializers, autocommit: false });
const s = await c.consume({ topics: ['x'], mode: 'committed', fallbackMode: 'earliest', autocommit: false });
let n = 0;
for await (const m of s) { n++; console.log(m.offset, (m as any).metadata); if (n === 3) { try { await c.commit({ offsets: [{ topic: 'x', partition: 0, offset: m.offset + 1n, leaderEpoch: -1 }] }); console.log('commit ok'); } catch (e) { console.log('commit err', e, (e as any).errors); } break; } }
console.log(await c.listCommittedOffsets({ topics: [{ topic: 'x', partitions: [0] }] }));
await s.close(); await c.close(); await p.close(); await admin.close(); await k.stop();
