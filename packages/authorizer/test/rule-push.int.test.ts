import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { RuleBook, type RuleChangeNotifier } from '../src/service/rule-book.js';
import { openSqliteStore, type SqliteStore } from '../src/store/index.js';

/** An in-process topic standing in for the ZooKeeper data watch. */
function topic() {
  const listeners = new Set<() => void>();
  let healthy = true;
  const notifier = (): RuleChangeNotifier => ({
    notify: async () => {
      if (!healthy) throw new Error('coordination service down');
      for (const listener of listeners) queueMicrotask(listener);
    },
    watch: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    healthy: () => healthy,
  });
  return { notifier, setHealthy: (value: boolean) => (healthy = value) };
}

describe('merchant rules pushed between replicas', () => {
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });

  async function replicas(refreshMs: number) {
    const dir = await mkdtemp(path.join(tmpdir(), 'catraca-rules-'));
    const file = path.join(dir, 'db.sqlite');
    const stores: SqliteStore[] = [await openSqliteStore({ path: file }), await openSqliteStore({ path: file })];
    const t = topic();
    const logger = pino({ level: 'silent' });
    const books = stores.map((store) => new RuleBook(store, logger, refreshMs, t.notifier()));
    for (const book of books) await book.start(undefined);
    cleanup.push(async () => {
      for (const book of books) await book.stop();
      for (const store of stores) await store.close();
      await rm(dir, { recursive: true, force: true });
    });
    return { books, t };
  }

  it('a change made on one replica is on the other as soon as the notification arrives, with no polling', async () => {
    const { books } = await replicas(60_000);
    await books[0]!.put({ match: 'UBER EATS', category: 'MEAL' });
    for (let i = 0; i < 100 && books[1]!.rules.length === 0; i++) await sleep(5);
    expect(books[1]!.rules).toEqual([{ match: 'UBER EATS', category: 'MEAL' }]);
    await books[1]!.delete('UBER EATS');
    for (let i = 0; i < 100 && books[0]!.rules.length > 0; i++) await sleep(5);
    expect(books[0]!.rules).toEqual([]);
  });

  it('while notifications are down, the replicas poll every refreshMs', async () => {
    const { books, t } = await replicas(50);
    t.setHealthy(false);
    // A change the other replica is not told about (written behind its back, as when ZooKeeper is down).
    await books[0]!.put({ match: 'PAG*', category: 'CASH' });
    for (let i = 0; i < 100 && books[1]!.rules.length === 0; i++) await sleep(10);
    expect(books[1]!.rules).toEqual([{ match: 'PAG*', category: 'CASH' }]);
  });
});
