import Koa from 'koa';
import { inject } from 'light-my-request';
import { describe, expect, it } from 'vitest';
import { readJson } from './body.js';

/** A one-route app that answers what `readJson` made of the body, or the status of what it threw. */
function app(limitBytes: number): Koa {
  const koa = new Koa();
  koa.silent = true;
  koa.use(async (ctx) => {
    try {
      const first = await readJson(ctx, limitBytes);
      // A second read (a signature check may read before the route) gets the same bytes, not a drained stream.
      const second = await readJson(ctx, limitBytes);
      if (JSON.stringify(first) !== JSON.stringify(second)) throw new Error('second read differs');
      ctx.body = first;
    } catch (error) {
      const e = error as { status?: number; message: string; expose?: boolean };
      ctx.status = 299;
      ctx.set('X-Connection', String(ctx.response.get('Connection')));
      ctx.body = { thrown: e.status, message: e.message, expose: e.expose };
    }
  });
  return koa;
}

async function read(payload: string | Buffer, headers: Record<string, string> = {}, limitBytes = 64): Promise<unknown> {
  return (await reply(payload, headers, limitBytes)).json();
}

function reply(payload: string | Buffer, headers: Record<string, string> = {}, limitBytes = 64) {
  return inject(app(limitBytes).callback(), {
    method: 'POST',
    url: '/',
    headers: { 'content-type': 'application/json', ...headers },
    payload,
  });
}

describe('readJson', () => {
  it('parses a JSON body, money numbers as their source text', async () => {
    expect(await read('{"totalAmount": 0.10, "mcc": 5811}')).toEqual({ ok: true, value: { totalAmount: '0.10', mcc: 5811 } });
  });

  it('names an empty or blank body, and a body that is not JSON', async () => {
    expect(await read('')).toEqual({ ok: false, error: 'body is empty' });
    expect(await read(' \n\t ')).toEqual({ ok: false, error: 'body is empty' });
    expect(await read('{"a":')).toEqual({ ok: false, error: 'body is not valid JSON' });
  });

  it('a body over the limit is a 413 the client may read, at the limit it is read', async () => {
    expect(await read('"' + 'x'.repeat(62) + '"')).toEqual({ ok: true, value: 'x'.repeat(62) });
    expect(await read('"' + 'x'.repeat(63) + '"')).toEqual({ thrown: 413, message: 'request body too large', expose: true });
  });

  it('a declared Content-Length over the limit is refused before the body is read', async () => {
    expect(await read('{}', { 'content-length': '65' })).toMatchObject({ thrown: 413, message: 'request body too large' });
  });

  it('a Content-Length that disagrees with the body is a client error, not a parsed body', async () => {
    const reply = (await read('{"a":1}', { 'content-length': '5' })) as { thrown?: number; ok?: boolean };
    expect(reply.ok).toBeUndefined();
    expect(reply.thrown).toBe(400);
  });
});

describe('readJson on bytes', () => {
  it('refuses invalid UTF-8 instead of replacing it', async () => {
    const bytes = Buffer.concat([Buffer.from('{"merchant":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]);
    expect(await read(bytes)).toEqual({ ok: false, error: 'body must be UTF-8 JSON' });
  });

  it('asks for the connection to be closed after a 413', async () => {
    const r = await reply('"' + 'x'.repeat(100) + '"');
    expect(r.headers['x-connection']).toBe('close');
  });
});
