import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { ConfigError } from './errors.js';

describe('loadConfig', () => {
  it('defaults to embedded mode on loopback', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      HOST: '127.0.0.1',
      PORT: 8080,
      DEADLINE_MS: 80,
      STORE: 'sqlite',
      LOCK: 'local',
      CACHE: 'memory',
      LOCK_UNAVAILABLE: 'fence-only',
      SQLITE_DURABILITY: 'full',
      AUTHORIZE_TOKENS: [],
    });
    expect(config.DATA_DIR).toMatch(/\/data$/);
  });

  it('treats empty variables as unset and keeps 0 as 0', () => {
    expect(loadConfig({ PORT: '', LOCK_BATCH_HOLD_MS: '0' })).toMatchObject({ PORT: 8080, LOCK_BATCH_HOLD_MS: 0 });
  });

  it('lists every problem at once', () => {
    let error: unknown;
    try {
      loadConfig({ PORT: 'eighty', DEADLINE_MS: '0', STORE: 'postgres', LOCK: 'zookeeper', CACHE: 'redis' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    for (const key of ['PORT', 'DEADLINE_MS', 'POSTGRES_URL', 'ZOOKEEPER_CONNECT', 'REDIS_URL']) {
      expect(message).toContain(key);
    }
  });

  it('refuses a non-loopback address without credentials unless explicitly allowed', () => {
    expect(() => loadConfig({ HOST: '0.0.0.0' })).toThrow(/ALLOW_UNAUTHENTICATED/);
    expect(loadConfig({ HOST: '0.0.0.0', ALLOW_UNAUTHENTICATED: 'true' }).HOST).toBe('0.0.0.0');
    const tokens = { AUTHORIZE_TOKENS: 'a'.repeat(16), ADMIN_TOKENS: `${'b'.repeat(20)}, ${'c'.repeat(20)}` };
    expect(loadConfig({ HOST: '0.0.0.0', ...tokens }).ADMIN_TOKENS).toEqual(['b'.repeat(20), 'c'.repeat(20)]);
    expect(() => loadConfig({ AUTHORIZE_TOKENS: 'short' })).toThrow(/at least 16/);
  });

  it.each([',', ' , ', ',,,', ' ', ''])('refuses a credential variable set to %o (auth must never turn off)', (value) => {
    for (const key of ['AUTHORIZE_TOKENS', 'ADMIN_TOKENS']) {
      expect(() => loadConfig({ [key]: value }), key).toThrow(new RegExp(`${key}: is set but holds no credential`));
      // Not even with the explicit opt-in: the parsed list is what the bind check looks at.
      expect(() => loadConfig({ HOST: '0.0.0.0', ALLOW_UNAUTHENTICATED: 'true', [key]: value })).toThrow(ConfigError);
    }
  });

  it('the non-loopback bind check looks at the parsed lists', () => {
    expect(() => loadConfig({ HOST: '0.0.0.0', AUTHORIZE_TOKENS: 'pos:' + 'a'.repeat(20), ADMIN_TOKENS: ' , ' })).toThrow(
      /ADMIN_TOKENS/,
    );
  });

  it('reads named credentials and refuses placeholders, short secrets and reused names', () => {
    const config = loadConfig({ AUTHORIZE_TOKENS: `acquirer-1:${'s'.repeat(24)}, acquirer-2:${'t'.repeat(24)}` });
    expect(config.AUTHORIZE_TOKENS).toEqual([`acquirer-1:${'s'.repeat(24)}`, `acquirer-2:${'t'.repeat(24)}`]);
    expect(() => loadConfig({ ADMIN_TOKENS: 'ops:replace-me-admin-token-000000001' })).toThrow(/placeholder/);
    expect(() => loadConfig({ ADMIN_TOKENS: 'replace-me-admin-token-000000001' })).toThrow(/placeholder/);
    expect(() => loadConfig({ ADMIN_TOKENS: 'ops:short' })).toThrow(/"ops" must be at least 16/);
    expect(() => loadConfig({ ADMIN_TOKENS: `ops:${'a'.repeat(16)},ops:${'b'.repeat(16)}` })).toThrow(/used twice/);
  });
});
