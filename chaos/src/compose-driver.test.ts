import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { COMPOSE_SERVICES, ComposeDriver, composeArgv } from './compose-driver.js';
import { UnsupportedFaultError } from './driver.js';

/** A driver whose commands are recorded instead of run; `zkServer.sh status` answers as `leader` says. */
function recorder(leader = 'zoo2'): { driver: ComposeDriver; calls: string[] } {
  const calls: string[] = [];
  const driver = new ComposeDriver({
    project: 'catraca',
    exec: async (argv) => {
      calls.push(argv.join(' '));
      const service = argv[argv.indexOf('-T') + 1];
      return argv.includes('status') ? `Mode: ${service === leader ? 'leader' : 'follower'}\n` : '';
    },
  });
  return { driver, calls };
}

describe('compose driver: command lines', () => {
  it('builds docker-compose (v1) and docker compose (v2) argv', () => {
    expect(composeArgv({ verb: 'kill', service: 'authorizer-1' })).toEqual([
      'docker-compose', '-f', 'docker-compose.yml', 'kill', '-s', 'SIGKILL', 'authorizer-1',
    ]);
    expect(composeArgv({ verb: 'pause', services: ['redis'] }, { flavour: 'docker compose', file: 'x.yml', project: 'p' })).toEqual([
      'docker', 'compose', '-f', 'x.yml', '-p', 'p', 'pause', 'redis',
    ]);
    expect(() => composeArgv({ verb: 'stop', services: [] })).toThrow(RangeError);
  });

  it('names services that exist in the repository\'s docker-compose.yml', () => {
    const file = parse(readFileSync(new URL('../../docker-compose.yml', import.meta.url), 'utf8')) as { services: Record<string, unknown> };
    const services = Object.keys(file.services);
    const ours = [...COMPOSE_SERVICES.replicas, ...COMPOSE_SERVICES.zookeeper, COMPOSE_SERVICES.redis, COMPOSE_SERVICES.store, COMPOSE_SERVICES.loadBalancer];
    for (const service of ours) expect(services).toContain(service);
  });

  it('maps every fault to the compose services of docker-compose.yml', async () => {
    const { driver, calls } = recorder('zoo2');
    const g = 'docker-compose -f docker-compose.yml -p catraca';
    await driver.killReplica(0);
    await driver.restartReplica(0);
    await driver.stopReplica(1);
    await driver.resumeReplica(1);
    expect(await driver.killZooKeeperLeader()).toBe('zoo2');
    await driver.restartZooKeeper(['zoo2']);
    expect(await driver.stopZooKeeperMembers(2)).toEqual(['zoo1', 'zoo2']);
    await driver.killRedis();
    await driver.restoreRedis();
    await driver.restartStore(0);
    expect(calls).toEqual([
      `${g} kill -s SIGKILL authorizer-1`,
      `${g} start authorizer-1`,
      `${g} pause authorizer-2`,
      `${g} unpause authorizer-2`,
      `${g} exec -T zoo1 zkServer.sh status`,
      `${g} exec -T zoo2 zkServer.sh status`,
      `${g} kill -s SIGKILL zoo2`,
      `${g} start zoo2`,
      `${g} stop zoo1 zoo2`,
      `${g} kill -s SIGKILL redis`,
      `${g} start redis`,
      `${g} stop mongodb`,
      `${g} start mongodb`,
    ]);
  });

  it('refuses what it cannot do: store latency, a replica that does not exist', async () => {
    const { driver, calls } = recorder();
    await expect(driver.addStoreLatency()).rejects.toBeInstanceOf(UnsupportedFaultError);
    await expect(driver.killReplica(2)).rejects.toThrow(RangeError);
    expect(() => driver.replicaUrl(0)).toThrow(UnsupportedFaultError);
    expect(calls).toEqual([]);
  });
});
