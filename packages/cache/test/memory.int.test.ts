import { MemoryCache } from '../src/index.js';
import { cacheContract } from './cache-contract.js';

cacheContract('MemoryCache', { create: async () => new MemoryCache() });
