/**
 * `@catraca/coordination/zookeeper`: the ZooKeeper lock recipe. Loads node-zookeeper-client (with this package's
 * runtime fixes, see client-fixes.ts), never ioredis.
 */
export { ZooKeeperLockManager } from './zookeeper-lock-manager.js';
export { ZOOKEEPER_DEFAULTS } from './options.js';
export type { DigestAuth, ZooKeeperLockManagerOptions } from './options.js';
export { REVOKE_MESSAGE } from './queue-inspection.js';
export { ACL_REPAIR_DEFAULTS, repairNamespaceAcls } from './acl-repair.js';
export type { AclRepairOptions, AclRepairReport } from './acl-repair.js';
