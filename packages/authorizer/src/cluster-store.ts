import type { Logger } from 'pino';
import type { Config } from './config.js';
import { ConfigError } from './errors.js';
import type { Store } from './store/port.js';

/** Opens the cluster-mode store named by `STORE` (PostgreSQL or MongoDB). */
export async function openClusterStore(config: Config, _logger: Logger): Promise<Store> {
  throw new ConfigError(`STORE=${config.STORE} is not available in this build`);
}
