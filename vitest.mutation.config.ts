import { defineConfig } from 'vitest/config';

// The suites a mutation run executes: the unit tests beside the code, plus the in-process suites (HTTP through
// app.callback(), the pipeline and the SQLite store on temporary files) that cover files with no unit tests of their
// own, and the Redis cache suites (each starts a private redis-server in milliseconds). No suite here starts
// ZooKeeper or PostgreSQL: a mutation run executes the covering tests of every mutant.
export default defineConfig({
  test: {
    include: [
      'packages/*/src/**/*.test.ts',
      'packages/authorizer/test/http.int.test.ts',
      'packages/authorizer/test/http-diagnostics.int.test.ts',
      'packages/authorizer/test/reversals.int.test.ts',
      'packages/authorizer/test/authorizer.int.test.ts',
      'packages/authorizer/test/store/sqlite.int.test.ts',
      'packages/cache/test/memory.int.test.ts',
      'packages/cache/test/redis.int.test.ts',
      'packages/cache/test/redis-faults.int.test.ts',
    ],
    testTimeout: 30_000,
    pool: 'forks',
  },
});
