/** `@catraca/coordination/local`: the in-process `LockManager` (also exported from the package root). */
export { LocalLockManager } from './local-lock-manager.js';
