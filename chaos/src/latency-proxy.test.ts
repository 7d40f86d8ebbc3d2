import { createServer, createConnection, type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { LatencyProxy } from './latency-proxy.js';

describe('latency proxy', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    // Last started, first stopped: a server closes only once its connections are gone.
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('forwards bytes both ways in order, also when the delay is turned off mid-stream', async () => {
    const echo = createServer((socket) => socket.pipe(socket));
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => echo.close(() => resolve())));
    const proxy = await LatencyProxy.start((echo.address() as AddressInfo).port);
    cleanups.push(() => proxy.close());

    const client = createConnection({ host: '127.0.0.1', port: proxy.port });
    cleanups.push(async () => void client.destroy());
    let received = '';
    const expected = Array.from({ length: 200 }, (_, i) => `<${i}>`).join('');
    const done = new Promise<void>((resolve) =>
      client.on('data', (chunk: Buffer) => {
        received += chunk.toString();
        if (received.length >= expected.length) resolve();
      }),
    );
    await new Promise<void>((resolve) => client.once('connect', () => resolve()));
    proxy.setDelay(30);
    for (let i = 0; i < 200; i++) {
      if (i === 100) proxy.setDelay(0); // later chunks must not overtake the delayed ones
      client.write(`<${i}>`);
      if (i % 20 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    await done;
    expect(received).toBe(expected);
  });

  it('refuses a negative delay', async () => {
    const proxy = await LatencyProxy.start(1);
    cleanups.push(() => proxy.close());
    expect(() => proxy.setDelay(-1)).toThrow(RangeError);
  });
});
