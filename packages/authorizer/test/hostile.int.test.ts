/**
 * The hostile-client table (issue 11): each row is an attack or a bad input found by a review of the running service,
 * with the answer it must get. Every row failed before its fix. Real-socket cases (timeouts, slow bodies, TLS) live in
 * hostile-socket.int.test.ts.
 */
import { randomUUID } from 'node:crypto';
import { RedisCache } from '@catraca/cache';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startRedis, type RedisServer } from '../../../test-support/redis.js';
import { loadConfig } from '../src/config.js';
import { canonicalDebitPayload, payloadHash } from '../src/domain/index.js';
import { authorize, call, createAccount, embeddedRuntime } from './helpers.js';

type R = Awaited<ReturnType<typeof embeddedRuntime>>;

const metric = async (rt: R, name: string, labels = ''): Promise<number> => {
  const text = await rt.metrics.registry.metrics();
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels}`) && !l.startsWith('#'));
  return line === undefined ? 0 : Number(line.split(' ').pop());
};

describe('hostile: credentials never turn off', () => {
  it.each([
    ['AUTHORIZE_TOKENS', ','],
    ['AUTHORIZE_TOKENS', ' , '],
    ['ADMIN_TOKENS', ','],
    ['ADMIN_TOKENS', ' , '],
    ['ADMIN_TOKENS', ''],
  ])('%s=%o refuses to start, even on 0.0.0.0 with the opt-in', (key, value) => {
    expect(() => loadConfig({ [key]: value })).toThrow(/holds no credential/);
    expect(() => loadConfig({ HOST: '0.0.0.0', [key]: value })).toThrow(/holds no credential/);
  });

  it.each([
    ['the example secret placeholder', 'replace-me-authorize-token-0001'],
    ['the example named placeholder', 'acquirer-1:replace-me-authorize-token-0001'],
    ['a short secret', 'pos:tiny'],
  ])('refuses %s', (_what, value) => {
    expect(() => loadConfig({ AUTHORIZE_TOKENS: value })).toThrow();
  });

  it('the example Secret in deploy/ cannot be deployed as is: its placeholders stop the start', async () => {
    const { readFileSync } = await import('node:fs');
    const { parse } = await import('yaml');
    const text = readFileSync(new URL('../../../deploy/base/secret.example.yaml', import.meta.url), 'utf8');
    const data: Record<string, string> = parse(text).stringData;
    for (const key of ['AUTHORIZE_TOKENS', 'ADMIN_TOKENS', 'CACHE_SIGNING_KEY']) {
      expect(() => loadConfig({ [key]: data[key] }), key).toThrow(/placeholder/);
    }
    // The commented ZOOKEEPER_AUTH example is user:password, not "digest:user:password" (which was read as user "digest").
    const zk = /ZOOKEEPER_AUTH: "([^"]+)"/.exec(text)![1]!;
    expect(zk.split(':')[0]).not.toBe('digest');
    expect(() => loadConfig({ ZOOKEEPER_AUTH: `digest:${zk}` })).toThrow(/digest/);
  });

  it('names the caller: its credential name is in the metrics, its secret nowhere', async () => {
    const secret = 's'.repeat(32);
    const rt = await embeddedRuntime({ AUTHORIZE_TOKENS: `pos-7:${secret}`, ADMIN_TOKENS: `ops:${'o'.repeat(32)}` });
    try {
      const admin = { authorization: `Bearer ${'o'.repeat(32)}` };
      expect((await call(rt, 'POST', '/accounts', { id: 'n1', balances: { CASH: 5 } }, admin)).status).toBe(201);
      const tx = { id: 'n-t1', account: 'n1', totalAmount: 1, mcc: '1234', merchant: 'X' };
      expect((await authorize(rt, tx, { authorization: `Bearer ${secret}` })).body).toBe('{"code":"00"}');
      expect((await authorize(rt, tx, { authorization: 'Bearer pos-7' })).status).toBe(401);
      const text = await rt.metrics.registry.metrics();
      expect(text).toMatch(/catraca_requests_by_actor_total\{scope="authorize",actor="pos-7",status="200"\} 1/);
      expect(text).toMatch(/catraca_requests_by_actor_total\{scope="admin",actor="ops",status="201"\} 1/);
      expect(text).not.toContain(secret);
    } finally {
      await rt.dispose();
    }
  });
});

describe('hostile: a forged result-cache entry approves nothing', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('a Redis write cannot approve a purchase on a zero balance, nor make a future id an id_conflict', async () => {
    const prefix = `hostile:${randomUUID()}:`;
    const rt = await embeddedRuntime({
      CACHE: 'redis',
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: prefix,
      REDIS_CALL_TIMEOUT_MS: '2000',
      CACHE_SIGNING_KEY: 'test-cache-signing-key-0123456789abcdef',
    });
    const attacker = new RedisCache({ url: redis.url, keyPrefix: prefix, callTimeoutMs: 2000 });
    try {
      await createAccount(rt, 'poor', { CASH: 0 });
      const purchase = { id: 'forged-1', account: 'poor', totalAmount: '10000.00', mcc: '5999', merchant: 'LOJA' };
      const hash = payloadHash(
        canonicalDebitPayload({ accountId: 'poor', amount: 1_000_000, mcc: '5999', merchant: 'LOJA' }),
      );
      expect(await attacker.waitUntilReady({ signal: AbortSignal.timeout(10_000) })).toBe(true);
      await attacker.set('tx:forged-1', JSON.stringify({ h: hash, c: '00', r: 'approved' }));
      await attacker.set('tx:future-1', JSON.stringify({ h: 'f'.repeat(64), c: '00', r: 'approved' }));

      const forged = await authorize(rt, purchase);
      expect(forged.body).toBe('{"code":"51"}');
      expect(forged.headers['catraca-reason']).toBe('insufficient_funds');
      const future = await authorize(rt, { ...purchase, id: 'future-1', totalAmount: '1.00' });
      expect(future.headers['catraca-reason']).toBe('insufficient_funds');
      expect(await metric(rt, 'catraca_cache_invalid_entries_total')).toBe(2);
      // Its own entries still serve replays.
      const replay = await authorize(rt, purchase);
      expect(replay.body).toBe('{"code":"51"}');
      expect(replay.headers['catraca-replayed']).toBe('true');
      expect((await call(rt, 'GET', '/accounts/poor')).json().balances.CASH).toBe('0.00');
    } finally {
      await attacker.close();
      await rt.dispose();
    }
  });

  it('CACHE=redis needs a signing key', () => {
    expect(() => loadConfig({ CACHE: 'redis', REDIS_URL: 'redis://127.0.0.1:6379' })).toThrow(/CACHE_SIGNING_KEY/);
    expect(() =>
      loadConfig({ CACHE: 'redis', REDIS_URL: 'redis://127.0.0.1:6379', CACHE_SIGNING_KEY: 'short' }),
    ).toThrow(/at least 32/);
  });
});

describe('hostile: bad input is 07 invalid_request and changes nothing (SPEC §1)', () => {
  let rt: R;
  beforeEach(async () => {
    rt = await embeddedRuntime();
    await createAccount(rt, 'acc-1', { FOOD: '100.00', MEAL: '50.00', CASH: '30.00' });
  });
  afterEach(async () => {
    await rt.dispose();
  });

  const base = '{"id":"h-1","account":"acc-1","totalAmount":"1.00",';
  it.each([
    ['mcc 5411.0 (a JSON number with a fraction)', `${base}"mcc":5411.0,"merchant":"LOJA"}`],
    ['mcc 5.411e3', `${base}"mcc":5.411e3,"merchant":"LOJA"}`],
    ['mcc 5810.9999999999999999 (the double 5811)', `${base}"mcc":5810.9999999999999999,"merchant":"LOJA"}`],
    ['mcc 5411.0000000000001', `${base}"mcc":5411.0000000000001,"merchant":"LOJA"}`],
    ['mcc 4e-400 (the double 0)', `${base}"mcc":4e-400,"merchant":"LOJA"}`],
    ['a lone high surrogate in merchant', `${base}"mcc":"5999","merchant":"LOJA \\ud800"}`],
    ['a lone low surrogate in merchant', `${base}"mcc":"5999","merchant":"\\udc00LOJA"}`],
    ['a NUL in merchant', `${base}"mcc":"5999","merchant":"LO\\u0000JA"}`],
    ['a newline in merchant', `${base}"mcc":"5999","merchant":"LOJA\\nX"}`],
    ['a C1 control in merchant', `${base}"mcc":"5999","merchant":"LOJA\\u0085"}`],
    ['DEL in merchant', `${base}"mcc":"5999","merchant":"LOJA\\u007f"}`],
    ['a zero-width-space-only merchant', `${base}"mcc":"5999","merchant":"\\u200b\\u200b"}`],
    ['a BOM-and-space merchant', `${base}"mcc":"5999","merchant":" \\ufeff "}`],
    ['account "."', '{"id":"h-1","account":".","totalAmount":"1.00","mcc":"5999","merchant":"LOJA"}'],
    ['account ".."', '{"id":"h-1","account":"..","totalAmount":"1.00","mcc":"5999","merchant":"LOJA"}'],
    ['id ".."', '{"id":"..","account":"acc-1","totalAmount":"1.00","mcc":"5999","merchant":"LOJA"}'],
  ])('%s', async (_what, body) => {
    const reply = await call(rt, 'POST', '/transactions', body);
    expect(reply.status).toBe(200);
    expect(reply.body).toBe('{"code":"07"}');
    expect(reply.headers['catraca-reason']).toBe('invalid_request');
    expect((await call(rt, 'GET', '/accounts/acc-1')).json().version).toBe(0);
  });

  it('invalid UTF-8 is refused, not replaced by U+FFFD', async () => {
    const prefix = Buffer.from('{"id":"h-u","account":"acc-1","totalAmount":"1.00","mcc":"5999","merchant":"LOJA ');
    const body = Buffer.concat([prefix, Buffer.from([0xc3, 0x28]), Buffer.from('"}')]);
    const { inject } = await import('light-my-request');
    const reply = await inject(rt.app.callback(), {
      method: 'POST',
      url: '/transactions',
      headers: { 'content-type': 'application/json' },
      payload: body,
    });
    expect(reply.body).toBe('{"code":"07"}');
    expect(reply.headers['catraca-reason']).toBe('invalid_request');
    expect(await rt.store.getTransaction('h-u')).toBeUndefined();
  });

  it.each([
    ['a JSON integer mcc', 742, '0742'],
    ['a JSON integer mcc 5411', 5411, '5411'],
  ])('still accepts %s', async (_what, mcc, stored) => {
    const reply = await call(rt, 'POST', '/transactions', { id: `m-${stored}`, account: 'acc-1', totalAmount: '1.00', mcc, merchant: 'LOJA' });
    expect(reply.body).toBe('{"code":"00"}');
    expect((await rt.store.getTransaction(`m-${stored}`))!.mcc).toBe(stored);
  });

  it('amount 1.1 with totalAmount "1.10" is the same amount', async () => {
    const body = '{"id":"same-amt","account":"acc-1","amount":1.1,"totalAmount":"1.10","mcc":"5999","merchant":"LOJA"}';
    const reply = await call(rt, 'POST', '/transactions', body);
    expect(reply.body).toBe('{"code":"00"}');
    expect((await rt.store.getTransaction('same-amt'))!.amount).toBe(110);
    const differ = '{"id":"diff-amt","account":"acc-1","amount":1.1,"totalAmount":"1.11","mcc":"5999","merchant":"LOJA"}';
    expect((await call(rt, 'POST', '/transactions', differ)).headers['catraca-error']).toMatch(/differ/);
  });

  it('accounts "." and ".." cannot be created', async () => {
    for (const id of ['.', '..']) {
      expect((await call(rt, 'POST', '/accounts', { id, balances: { CASH: 1 } })).status, id).toBe(400);
    }
  });

  it('a rule whose match is a whole 40-character DE 43 field matches the purchases that carry that field', async () => {
    const field = `${'PADARIA CENTRAL'.padEnd(25)}${'SAO PAULO'.padEnd(13)}BR`;
    expect(field).toHaveLength(40);
    const put = await call(rt, 'PUT', '/merchant-rules', { match: field, category: 'MEAL' });
    expect(put.status).toBe(200);
    expect(put.json().match).toBe('PADARIA CENTRAL');
    // MCC 5411 says FOOD; the rule says MEAL.
    await call(rt, 'POST', '/transactions', { id: 'de43', account: 'acc-1', totalAmount: '1.00', mcc: '5411', merchant: field });
    expect((await rt.store.getTransaction('de43'))!.category).toBe('MEAL');
  });

  it('a rule match with control characters or only invisible characters is refused', async () => {
    for (const match of ['UBER\u0000', '\u200b', 'X\ud800']) {
      expect((await call(rt, 'PUT', '/merchant-rules', { match, category: 'MEAL' })).status, JSON.stringify(match)).toBe(400);
    }
  });
});

describe('hostile: the embedded default (loopback, no credentials) refuses what a web page can send', () => {
  let rt: R;
  beforeEach(async () => {
    rt = await embeddedRuntime();
    await createAccount(rt, 'acc-1', { CASH: '30.00' });
  });
  afterEach(async () => {
    await rt.dispose();
  });

  it.each([
    ['a foreign Host (DNS rebinding) reading a balance', 'GET', '/accounts/acc-1', { host: 'evil.example:8080' }],
    ['a foreign Host on /transactions', 'POST', '/transactions', { host: 'rebind.evil.example' }],
    ['a foreign Host on /metrics', 'GET', '/metrics', { host: '10.0.0.7' }],
    ['a cross-site Origin', 'POST', '/accounts/acc-1/credits', { origin: 'https://evil.example' }],
    ['an opaque Origin (sandboxed page)', 'POST', '/accounts/acc-1/credits', { origin: 'null' }],
  ])('403 for %s', async (_what, method, url, headers) => {
    const body = { id: 'c-1', category: 'CASH', amount: '1000000.00' };
    const reply = await call(rt, method as 'GET' | 'POST', url, method === 'POST' ? body : undefined, headers);
    expect(reply.status).toBe(403);
    expect((await rt.store.getAccount('acc-1'))!.balances.CASH).toBe(3_000);
  });

  it.each(['localhost:8080', '127.0.0.1', '127.0.0.1:8080', '[::1]:8080', 'api.localhost'])('serves Host %s', async (host) => {
    expect((await call(rt, 'GET', '/accounts/acc-1', undefined, { host })).status).toBe(200);
  });

  it.each(['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x'])(
    'an admin body of %s is 415 and credits nothing',
    async (type) => {
      const reply = await call(rt, 'POST', '/accounts/acc-1/credits', { id: 'c-2', category: 'CASH', amount: '1000000.00' }, {
        'content-type': type,
      });
      expect(reply.status).toBe(415);
      expect((await rt.store.getAccount('acc-1'))!.balances.CASH).toBe(3_000);
    },
  );

  it('the SQLite files are readable by their owner only', async () => {
    const { statSync } = await import('node:fs');
    const file = `${rt.config.DATA_DIR}/catraca.db`;
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(`${file}-wal`).mode & 0o777).toBe(0o600);
    expect(statSync(rt.config.DATA_DIR).mode & 0o077).toBe(0);
  });
});

describe('hostile: rate limits and caps', () => {
  it('over its rate, a credential gets 07 rate_limited on /transactions and 429 on admin routes; others are unaffected', async () => {
    const rt = await embeddedRuntime({
      AUTHORIZE_TOKENS: `pos-a:${'a'.repeat(24)},pos-b:${'b'.repeat(24)}`,
      ADMIN_TOKENS: `ops:${'o'.repeat(24)}`,
      RATE_LIMIT_AUTHORIZE_RPS: '1',
      RATE_LIMIT_ADMIN_RPS: '1',
      RATE_LIMIT_BURST_SECONDS: '3',
    });
    try {
      const admin = { authorization: `Bearer ${'o'.repeat(24)}` };
      await call(rt, 'POST', '/accounts', { id: 'rl', balances: { CASH: 100 } }, admin);
      const tx = (id: string) => ({ id, account: 'rl', totalAmount: '1.00', mcc: '5999', merchant: 'LOJA' });
      const a = { authorization: `Bearer ${'a'.repeat(24)}` };
      const answers = [];
      for (let i = 0; i < 10; i++) answers.push(await authorize(rt, tx(`rl-${i}`), a));
      expect(answers.every((r) => r.status === 200)).toBe(true);
      expect(answers.filter((r) => r.headers['catraca-reason'] === 'rate_limited').length).toBeGreaterThanOrEqual(1);
      for (const r of answers.filter((r) => r.headers['catraca-reason'] === 'rate_limited')) expect(r.body).toBe('{"code":"07"}');
      // Another credential has its own bucket.
      expect((await authorize(rt, tx('rl-b'), { authorization: `Bearer ${'b'.repeat(24)}` })).body).toBe('{"code":"00"}');
      const statuses = [];
      for (let i = 0; i < 10; i++) statuses.push((await call(rt, 'GET', '/accounts/rl', undefined, admin)).status);
      expect(statuses).toContain(429);
      const approved = answers.filter((r) => r.body === '{"code":"00"}').length + 1;
      expect((await rt.store.getAccount('rl'))!.balances.CASH).toBe(10_000 - approved * 100);
      expect(await metric(rt, 'catraca_rate_limited_total', '{scope="authorize",kind="credential"}')).toBeGreaterThanOrEqual(1);
    } finally {
      await rt.dispose();
    }
  });

  it('without credentials the bucket is per address', async () => {
    const rt = await embeddedRuntime({ RATE_LIMIT_AUTHORIZE_RPS: '1' });
    try {
      await createAccount(rt, 'ra', { CASH: 100 });
      const tx = (id: string) => ({ id, account: 'ra', totalAmount: '1.00', mcc: '5999', merchant: 'LOJA' });
      const reasons = [];
      for (let i = 0; i < 10; i++) reasons.push((await authorize(rt, tx(`ra-${i}`))).headers['catraca-reason']);
      expect(reasons).toContain('rate_limited');
      expect(await metric(rt, 'catraca_rate_limited_total', '{scope="authorize",kind="address"}')).toBeGreaterThanOrEqual(1);
    } finally {
      await rt.dispose();
    }
  });

  it('RATE_LIMIT_ADDRESS_RPS cuts off a flood from one address before the credential check', async () => {
    const rt = await embeddedRuntime({
      AUTHORIZE_TOKENS: `pos:${'a'.repeat(24)}`,
      ADMIN_TOKENS: `ops:${'o'.repeat(24)}`,
      RATE_LIMIT_ADDRESS_RPS: '1',
    });
    try {
      const statuses = [];
      for (let i = 0; i < 10; i++) statuses.push((await call(rt, 'GET', '/accounts/x', undefined, { authorization: 'Bearer wrong' })).status);
      expect(statuses[0]).toBe(401);
      expect(statuses).toContain(429);
      const tx = { id: 'flood', account: 'x', totalAmount: '1.00', mcc: '5999', merchant: 'LOJA' };
      const reasons = [];
      for (let i = 0; i < 10; i++) reasons.push((await authorize(rt, tx, { authorization: 'Bearer wrong' })).headers['catraca-reason']);
      expect(reasons).toContain('rate_limited');
      expect(await metric(rt, 'catraca_rate_limited_total', '{scope="admin",kind="address"}')).toBeGreaterThanOrEqual(1);
    } finally {
      await rt.dispose();
    }
  });

  it('the number of merchant rules is capped (replacing one is still allowed)', async () => {
    const rt = await embeddedRuntime({ MERCHANT_RULES_MAX: '4', MERCHANT_RULES_SEED: 'true' });
    try {
      expect((await call(rt, 'PUT', '/merchant-rules', { match: 'LOJA A', category: 'MEAL' })).status).toBe(200);
      expect((await call(rt, 'PUT', '/merchant-rules', { match: 'LOJA B', category: 'MEAL' })).status).toBe(409);
      expect((await call(rt, 'PUT', '/merchant-rules', { match: 'LOJA A', category: 'FOOD' })).status).toBe(200);
    } finally {
      await rt.dispose();
    }
  });
});

describe('audit trail: every admin action, with who, when, which request and what changed', () => {
  it('records account creation, credit and rule changes; GET /audit (admin scope) pages through them', async () => {
    const ops = 'o'.repeat(24);
    const rt = await embeddedRuntime({ AUTHORIZE_TOKENS: `pos:${'a'.repeat(24)}`, ADMIN_TOKENS: `ops-alice:${ops}` });
    try {
      const admin = (id: string) => ({ authorization: `Bearer ${ops}`, 'x-request-id': id });
      expect((await call(rt, 'POST', '/accounts', { id: 'au', balances: { CASH: '1.00' } }, admin('r-create'))).status).toBe(201);
      expect(
        (await call(rt, 'POST', '/accounts/au/credits', { id: 'cr-1', category: 'CASH', amount: '2.50' }, admin('r-credit'))).status,
      ).toBe(201);
      // A replayed credit changes nothing and is not an action.
      await call(rt, 'POST', '/accounts/au/credits', { id: 'cr-1', category: 'CASH', amount: '2.50' }, admin('r-replay'));
      await call(rt, 'PUT', '/merchant-rules', { match: 'LOJA X', category: 'MEAL' }, admin('r-put-1'));
      await call(rt, 'PUT', '/merchant-rules', { match: 'LOJA X', category: 'FOOD' }, admin('r-put-2'));
      expect((await call(rt, 'DELETE', '/merchant-rules/LOJA%20X', undefined, admin('r-del'))).status).toBe(204);

      expect((await call(rt, 'GET', '/audit', undefined, { authorization: `Bearer ${'a'.repeat(24)}` })).status).toBe(401);
      const first = await call(rt, 'GET', '/audit?limit=3', undefined, admin('r-list'));
      expect(first.status).toBe(200);
      const page1 = first.json();
      expect(page1.items.map((e: { requestId: string }) => e.requestId)).toEqual(['r-del', 'r-put-2', 'r-put-1']);
      expect(page1.items[0]).toMatchObject({
        actor: 'ops-alice',
        action: 'merchant_rule.delete',
        target: 'LOJA X',
        before: { match: 'LOJA X', category: 'FOOD' },
        after: null,
      });
      expect(page1.items[1]).toMatchObject({ before: { category: 'MEAL' }, after: { category: 'FOOD' } });
      const page2 = (await call(rt, 'GET', `/audit?limit=3&cursor=${page1.nextCursor}`, undefined, admin('r-list-2'))).json();
      expect(page2.items.map((e: { action: string }) => e.action)).toEqual(['account.credit', 'account.create']);
      expect(page2.items[0]).toMatchObject({
        target: 'au',
        before: { balances: { CASH: '1.00' } },
        after: { balances: { CASH: '3.50' }, transaction: { id: 'cr-1', amount: '2.50' } },
      });
      expect(Date.parse(page2.items[1].at)).not.toBeNaN();
      expect(page2.nextCursor).toBeUndefined();
    } finally {
      await rt.dispose();
    }
  });
});

describe('hostile: request signing (REQUEST_SIGNING_SECRETS)', () => {
  const secret = 'k'.repeat(40);
  const sign = async (body: string, timestamp = String(Math.floor(Date.now() / 1000)), key = secret) => {
    const { signRequest } = await import('../src/http/request-signing.js');
    return { 'catraca-timestamp': timestamp, 'catraca-signature': `v1=${signRequest(key, timestamp, body)}` };
  };
  let rt: R;
  beforeEach(async () => {
    rt = await embeddedRuntime({ REQUEST_SIGNING_SECRETS: `${'o'.repeat(40)},${secret}`, REQUEST_SIGNING_WINDOW_S: '60' });
    const body = JSON.stringify({ id: 'sg', balances: { CASH: '10.00' } });
    expect((await call(rt, 'POST', '/accounts', body, await sign(body))).status).toBe(201);
  });
  afterEach(async () => {
    await rt.dispose();
  });

  const purchase = (id: string) => JSON.stringify({ id, account: 'sg', totalAmount: '1.00', mcc: '5999', merchant: 'LOJA' });
  const old = String(Math.floor(Date.now() / 1000) - 120);

  it.each([
    ['no signature', async () => ({})],
    ['a signature of another body', async () => sign(purchase('other'))],
    ['a signature with another secret', async () => sign(purchase('s-1'), undefined, 'x'.repeat(40))],
    ['a timestamp outside the window', async () => sign(purchase('s-1'), old)],
    ['a timestamp that is not a number', async () => ({ ...(await sign(purchase('s-1'))), 'catraca-timestamp': 'now' })],
    ['a malformed signature header', async () => ({ ...(await sign(purchase('s-1'))), 'catraca-signature': 'sha256=abc' })],
  ])('401 for %s, and nothing applied', async (_what, headers) => {
    const reply = await call(rt, 'POST', '/transactions', purchase('s-1'), await headers());
    expect(reply.status).toBe(401);
    expect(await rt.store.getTransaction('s-1')).toBeUndefined();
  });

  it('accepts a signed request (either secret: rotation), and refuses its exact replay', async () => {
    const headers = await sign(purchase('s-2'));
    expect((await call(rt, 'POST', '/transactions', purchase('s-2'), headers)).body).toBe('{"code":"00"}');
    expect((await call(rt, 'POST', '/transactions', purchase('s-2'), headers)).status).toBe(401);
    // A retry re-signed with a fresh timestamp is served (and replays the first answer).
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const retry = await call(rt, 'POST', '/transactions', purchase('s-2'), await sign(purchase('s-2')));
    expect(retry.headers['catraca-replayed']).toBe('true');
    const other = await sign(purchase('s-3'), undefined, 'o'.repeat(40));
    expect((await call(rt, 'POST', '/transactions', purchase('s-3'), other)).body).toBe('{"code":"00"}');
    // GET requests sign the empty body; ops routes are not signed.
    expect((await call(rt, 'GET', '/accounts/sg', undefined, await sign(''))).status).toBe(200);
    expect((await call(rt, 'GET', '/accounts/sg')).status).toBe(401);
    expect((await call(rt, 'GET', '/healthz')).status).toBe(200);
  });

  it('secrets must be long enough', () => {
    expect(() => loadConfig({ REQUEST_SIGNING_SECRETS: 'short' })).toThrow(/at least 32/);
  });
});
