import Koa from 'koa';
import { inject } from 'light-my-request';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { requireScope } from './auth.js';

function app() {
  const koa = new Koa();
  koa.silent = true;
  koa.use(async (ctx, next) => {
    ctx.state.log = pino({ level: 'silent' });
    try {
      await next();
    } catch (error) {
      const e = error as { status: number; message: string; expose: boolean };
      ctx.status = e.status;
      ctx.body = { message: e.message, expose: e.expose };
    }
  });
  koa.use(requireScope('admin', [{ name: 'ops', secret: 's3cret' }, { name: 'twin', secret: 's3cret' }]));
  koa.use((ctx) => {
    ctx.body = { actor: ctx.state.actor, scope: ctx.state.scope };
  });
  return koa.callback();
}

const call = (authorization?: string) =>
  inject(app(), { method: 'GET', url: '/', headers: authorization === undefined ? {} : { authorization } });

describe('requireScope', () => {
  it('names the first matching credential as the actor', async () => {
    expect((await call('Bearer s3cret')).json()).toEqual({ actor: 'ops', scope: 'admin' });
    expect((await call('bearer   s3cret')).json()).toEqual({ actor: 'ops', scope: 'admin' });
  });

  it('refuses anything but exactly "Bearer <secret>", with a 401 that names the scope', async () => {
    for (const header of [undefined, 's3cret', 'Bearer s3cret x', 'x Bearer s3cret', 'Bearers3cret', 'Bearer wrong']) {
      const reply = await call(header);
      expect(reply.statusCode, String(header)).toBe(401);
      expect(reply.json()).toEqual({ message: 'missing or invalid credentials for scope admin', expose: true });
      expect(reply.headers['www-authenticate']).toBe('Bearer realm="catraca", scope="admin"');
    }
  });
});
