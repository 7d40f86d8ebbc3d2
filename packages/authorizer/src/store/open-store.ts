import type { Store } from './port.js';

/** Runs `store.init()` and hands the store over, closing it when the init fails (shared by the `open…Store` helpers). */
export async function initialized<S extends Store>(store: S): Promise<S> {
  try {
    await store.init();
  } catch (error) {
    await store.close();
    throw error;
  }
  return store;
}
