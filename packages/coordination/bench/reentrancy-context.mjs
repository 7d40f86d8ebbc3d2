// What the reentrancy check costs: a critical section of 20 awaits, run plainly or inside an AsyncLocalStorage
// context as withLock does. Prints µs per section. `node packages/coordination/bench/reentrancy-context.mjs plain|als`
import { AsyncLocalStorage } from 'node:async_hooks';
const als = new AsyncLocalStorage();
const mode = process.argv[2];
async function section() { let x = 0; for (let i = 0; i < 20; i++) x += await Promise.resolve(i); return x; }
async function loop(n) { for (let i = 0; i < n; i++) { if (mode === 'als') await als.run(new Map([[i, i]]), section); else await section(); } }
await loop(20000);
const t = performance.now(); await loop(200000); console.log(mode, ((performance.now() - t) / 200000 * 1000).toFixed(2), 'µs per section');
