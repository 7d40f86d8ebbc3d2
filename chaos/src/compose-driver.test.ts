import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { COMPOSE_SERVICES, ComposeDriver, composeArgv } from './compose-driver.js';
import { UnsupportedFaultError } from './driver.js';

/** A driver whose commands are recorded instead of run; `srvr` answers as `leader` says. */
function recorder(leader = 'zoo2'): { driver: ComposeDriver; calls: string[]; envs: Array<Record<string, string> | undefined> } {
  const calls: string[] = [];
  const envs: Array<Record<string, string> | undefined> = [];
  const driver = new ComposeDriver({
    project: 'catraca',
    baseEnv: { DEADLINE_MS: '250' },
    replicaUrls: ['http://127.0.0.1:1', 'http://127.0.0.1:1'],
    readyTimeoutMs: 1,
    exec: async (argv, env) => {
      calls.push(argv.join(' '));
      envs.push(env);
      const service = argv[argv.indexOf('-T') + 1];
      return argv.join(' ').includes('srvr') ? `Mode: ${service === leader ? 'leader' : 'follower'}\n` : '';
    },
  });
  return { driver, calls, envs };
}

describe('compose driver: command lines', () => {
  it('builds docker-compose (v1) and docker compose (v2) argv, over the base file and the local override', () => {
    expect(composeArgv({ verb: 'kill', service: 'authorizer-1' })).toEqual([
      'docker-compose', '-f', 'docker-compose.yml', '-f', 'docker-compose.local.yml', '-p', 'catraca-local',
      'kill', '-s', 'SIGKILL', 'authorizer-1',
    ]);
    expect(composeArgv({ verb: 'pause', services: ['redis'] }, { flavour: 'docker compose', files: ['x.yml'], project: 'p' })).toEqual([
      'docker', 'compose', '-f', 'x.yml', '-p', 'p', 'pause', 'redis',
    ]);
    expect(composeArgv({ verb: 'up', services: ['authorizer-1'] }, { files: ['x.yml'], project: 'p' })).toEqual([
      'docker-compose', '-f', 'x.yml', '-p', 'p', 'up', '-d', '--no-build', '--no-deps', 'authorizer-1',
    ]);
    expect(() => composeArgv({ verb: 'stop', services: [] })).toThrow(RangeError);
  });

  it('names services that exist in docker-compose.yml with the local override', () => {
    const services = ['../../docker-compose.yml', '../../docker-compose.local.yml'].flatMap((file) =>
      Object.keys((parse(readFileSync(new URL(file, import.meta.url), 'utf8'), { merge: true }) as { services: object }).services),
    );
    const ours = [...COMPOSE_SERVICES.replicas, ...COMPOSE_SERVICES.zookeeper, COMPOSE_SERVICES.redis, COMPOSE_SERVICES.store, COMPOSE_SERVICES.loadBalancer];
    for (const service of ours) expect(services).toContain(service);
  });

  it('the override reads the settings a replica can be restarted with, per replica', () => {
    const local = readFileSync(new URL('../../docker-compose.local.yml', import.meta.url), 'utf8');
    for (const n of [1, 2]) {
      for (const key of ['DEADLINE_MS', 'STORE_COMMIT_TIMEOUT_MS']) expect(local).toContain(`\${CATRACA_AUTHORIZER_${n}_${key}:-`);
    }
  });

  it('maps every fault to the compose services', async () => {
    const { driver, calls } = recorder('zoo2');
    const g = 'docker-compose -f docker-compose.yml -f docker-compose.local.yml -p catraca';
    await driver.killReplica(0);
    await driver.stopReplica(1);
    await driver.resumeReplica(1);
    expect(await driver.killZooKeeperLeader()).toBe('zoo2');
    expect(await driver.stopZooKeeperMembers(2)).toEqual(['zoo1', 'zoo2']);
    await driver.killRedis();
    await driver.restoreRedis();
    await driver.restartStore(0);
    const srvr = 'sh -c echo srvr | nc -w 2 127.0.0.1 2181';
    expect(calls).toEqual([
      `${g} kill -s SIGKILL authorizer-1`,
      `${g} pause authorizer-2`,
      `${g} unpause authorizer-2`,
      `${g} exec -T zoo1 ${srvr}`,
      `${g} exec -T zoo2 ${srvr}`,
      `${g} kill -s SIGKILL zoo2`,
      `${g} stop zoo1 zoo2`,
      `${g} kill -s SIGKILL redis`,
      `${g} start redis`,
      `${g} stop postgres`,
      `${g} start postgres`,
    ]);
  });

  it('restarts a replica with another budget through the override variables, keeping the other replica’s', async () => {
    const { driver, calls, envs } = recorder();
    await expect(driver.restartReplica(0, { DEADLINE_MS: '30000', STORE_COMMIT_TIMEOUT_MS: '30000' })).rejects.toThrow(/readyz/);
    expect(calls.at(-1)).toMatch(/ up -d --no-build --no-deps authorizer-1$/);
    expect(envs.at(-1)).toEqual({
      CATRACA_AUTHORIZER_1_DEADLINE_MS: '30000',
      CATRACA_AUTHORIZER_1_STORE_COMMIT_TIMEOUT_MS: '30000',
      CATRACA_AUTHORIZER_2_DEADLINE_MS: '250',
    });
  });

  it('refuses what it cannot do: another setting, a replica that does not exist', async () => {
    const { driver, calls } = recorder();
    await expect(driver.restartReplica(0, { LOCK: 'local' })).rejects.toBeInstanceOf(UnsupportedFaultError);
    await expect(driver.killReplica(2)).rejects.toThrow(RangeError);
    expect(() => driver.replicaUrl(2)).toThrow(RangeError);
    expect(() => new ComposeDriver({ baseEnv: { LOCK: 'local' } })).toThrow(RangeError);
    expect(calls).toEqual([]);
  });
});
