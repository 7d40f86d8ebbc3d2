import type { Job } from './authorizer.js';
import type { Outcome } from './outcome.js';

/**
 * Where a request is served (cluster mode): an account's requests run on its home replica. Implemented by
 * `cluster/`; absent in embedded mode and when routing is off.
 */
export interface RequestRouter {
  /**
   * Serves `job` on another replica when its account's home is elsewhere and returns that replica's answer; undefined
   * when it belongs here (or no other replica is known), and the caller serves it.
   */
  route(job: Job, signal: AbortSignal): Promise<Outcome | undefined>;
}
