#!/usr/bin/env bash
# Runs the store contract suite against mongo-java-server (Maven Central), a MongoDB-wire-compatible stand-in WITHOUT
# multi-document transactions, and prints vitest's per-test results. Not part of `pnpm test`: tests of atomicity and
# isolation are expected to fail on the stand-in (see test-support/mongo-java-server.ts for what a run proves).
#
#   scripts/mongo-standin-contract.sh            (about 1 minute; needs Java 17 and Maven)
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/fetch-mongo-java-server.sh
CATRACA_MONGO_STANDIN=1 npx vitest run packages/authorizer/test/store/mongodb.int.test.ts -t 'mongo-java-server' \
  --reporter=verbose "$@"
