// @ts-check
/**
 * Mutation testing (StrykerJS 9, vitest runner): `pnpm test:mutation`. Plants small bugs in the files below and
 * counts how many the fast suites (vitest.mutation.config.ts) catch. StrykerJS 10 needs Node 22+; 9.6 runs on Node 20.
 * Narrow a run with `pnpm test:mutation --mutate 'packages/cache/src/**\/*.ts'`.
 * @type {import('@stryker-mutator/api/core').PartialStrykerOptions}
 */
export default {
  testRunner: 'vitest',
  // pnpm does not hoist plugins where StrykerJS looks for them by default: name it.
  plugins: ['@stryker-mutator/vitest-runner'],
  vitest: { configFile: 'vitest.mutation.config.ts' },
  coverageAnalysis: 'perTest',
  mutate: [
    'packages/authorizer/src/domain/**/*.ts',
    'packages/authorizer/src/http/**/*.ts',
    'packages/authorizer/src/store/commit-request.ts',
    'packages/coordination/src/*.ts',
    'packages/coordination/src/zookeeper/lock-node-name.ts',
    'packages/coordination/src/redis/options.ts',
    'packages/coordination/src/dynamodb/options.ts',
    'packages/cache/src/**/*.ts',
    '!**/*.test.ts',
    '!**/index.ts',
    '!**/types.ts',
  ],
  ignoreStatic: true,
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/index.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  clearTextReporter: { allowColor: false, logTests: false, reportMutants: false, reportScoreTable: true },
  concurrency: 2,
  timeoutMS: 10_000,
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
};
