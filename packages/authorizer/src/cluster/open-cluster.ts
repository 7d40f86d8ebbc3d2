import { randomBytes } from 'node:crypto';
import os from 'node:os';
import type { Lock, LockManager } from '@catraca/coordination';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { Metrics } from '../metrics.js';
import type { Authorizer } from '../service/authorizer.js';
import type { RequestRouter } from '../service/routing.js';
import { ClusterRouter } from './cluster-router.js';
import { ForwardClient } from './forward-client.js';
import { InternalServer } from './internal-server.js';
import { KeptLocks } from './kept-locks.js';
import type { Membership } from './membership.js';
import { joinZooKeeperGroup } from './zookeeper-membership.js';

/** The cluster's parts, as the runtime wires and stops them. */
export interface Cluster {
  readonly locks: KeptLocks;
  /** Routes requests once started; until then (and without group membership) everything is served here. */
  readonly requestRouter: RequestRouter;
  /** This replica's internal address, once listening. */
  readonly url: string;
  /** Attaches the authorizer and joins the group: from here on, requests are routed. */
  start(authorizer: Authorizer): Promise<void>;
  /** Planned shutdown, first step: leave the group and refuse forwards, so that the others re-home our accounts. */
  drain(): Promise<void>;
  /** Last step: closes the internal channel and the forward connections (the kept locks close with the runtime). */
  close(): Promise<void>;
}

const ACCOUNT_KEY_PREFIX = 'account-';

/** Lock key of an account (shared by the authorizer and the routing). */
export const accountLockKey = (accountId: string): string => `${ACCOUNT_KEY_PREFIX}${accountId}`;

/** Builds the cluster routing on `inner` (the ZooKeeper lock manager); `config.CLUSTER_SECRET` must be set. */
export async function openCluster(
  config: Config,
  inner: LockManager,
  metrics: Metrics,
  logger: Logger,
  /** How this replica joins the group; default: the ZooKeeper group `replicas` of `inner`. Tests pass their own. */
  join: (self: string, url: string) => Promise<Membership | undefined> = (self, url) =>
    joinZooKeeperGroup(inner, 'replicas', self, url),
): Promise<Cluster> {
  const log = logger.child({ component: 'cluster' });
  const releaseMany = (inner as { releaseMany?: (locks: readonly Lock[]) => Promise<void> }).releaseMany?.bind(inner);
  const locks = new KeptLocks(inner, {
    maxKept: config.OWNERSHIP_MAX_LOCKS,
    idleMs: config.OWNERSHIP_IDLE_MS,
    ...(releaseMany ? { releaseMany } : {}),
    logger: log,
  });
  const self = config.CLUSTER_MEMBER_ID ?? `${os.hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const client = new ForwardClient(config.CLUSTER_SECRET!, config.CLUSTER_FORWARD_CONNECTIONS);
  let membership: Membership | undefined;
  let router: ClusterRouter | undefined;
  const server = new InternalServer({
    host: config.CLUSTER_HOST ?? config.HOST,
    port: config.CLUSTER_PORT,
    secret: config.CLUSTER_SECRET!,
    maxBudgetMs: config.DEADLINE_MS,
    handler: {
      serveForwarded: async (body, epoch, signal) => {
        if (!router) return { status: 'not_owner' };
        const reply = await router.serveForwarded(body, epoch, signal);
        metrics.forwardsServed.inc({ answer: reply.status });
        return reply;
      },
    },
    logger: log,
  });
  const port = await server.listen();
  const listenHost = config.CLUSTER_HOST ?? config.HOST;
  const advertised = config.CLUSTER_ADVERTISE_HOST ?? (listenHost === '0.0.0.0' || listenHost === '::' ? os.hostname() : listenHost);
  const url = `http://${advertised.includes(':') ? `[${advertised}]` : advertised}:${config.CLUSTER_ADVERTISE_PORT ?? port}`;

  let drained: Promise<void> | undefined;
  return {
    locks,
    requestRouter: {
      route: (job, signal) => (router ? router.route(job, signal) : Promise.resolve(undefined)),
    },
    url,
    async start(authorizer) {
      membership = await join(self, url);
      if (!membership) {
        log.warn('the lock manager has no group membership: cluster routing is off');
        return;
      }
      router = new ClusterRouter({
        membership,
        locks,
        lockKey: accountLockKey,
        accountOf: (key) => (key.startsWith(ACCOUNT_KEY_PREFIX) ? key.slice(ACCOUNT_KEY_PREFIX.length) : undefined),
        client,
        deadlineMs: config.DEADLINE_MS,
        replyMarginMs: config.CLUSTER_REPLY_MARGIN_MS,
        commitGraceMs: config.CLUSTER_COMMIT_GRACE_MS,
        handoverPerTick: config.CLUSTER_HANDOVER_PER_TICK,
        handoverTickMs: config.CLUSTER_HANDOVER_TICK_MS,
        coordinationUsable: () => inner.state === 'connected' || inner.state === 'reconnected',
        metrics,
        logger: log,
      });
      router.attach(authorizer);
      log.info({ member: self, internalUrl: url, members: membership.members().size }, 'joined the cluster');
    },
    drain() {
      router?.drain();
      drained ??= (membership?.leave() ?? Promise.resolve()).catch((error: unknown) =>
        log.warn({ err: error }, 'leaving the group failed'),
      );
      return drained;
    },
    async close() {
      router?.close();
      await server.close();
      await client.close();
    },
  };
}
