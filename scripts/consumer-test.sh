#!/usr/bin/env bash
# CI proof that @catraca/coordination installs and works outside this repository: packs the package (prepack builds
# dist), installs the tarball with plain npm in a temp folder outside the workspace, type-checks a consumer against
# the installed declarations, and runs a two-process lock test against a real ZooKeeper started here on a free
# loopback port. Leaves nothing running (the ZooKeeper JVM and the temp folder go on exit, also on failure).
# Needs: node, npm (registry access for node-zookeeper-client), java + the Debian zookeeper package
# (scripts/install-test-deps.sh). About 30-60 s.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
HERE="$ROOT/scripts/consumer-test"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/catraca-consumer-XXXXXX")"
ZK_PID=""
cleanup() {
  if [ -n "$ZK_PID" ]; then
    exec 3>&- 2>/dev/null || true # closing its stdin stops ZooKeeper
    for _ in $(seq 1 100); do kill -0 "$ZK_PID" 2>/dev/null || break; sleep 0.1; done
    kill "$ZK_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "== [${SECONDS}s] pack @catraca/coordination"
(cd "$ROOT/packages/coordination" && npx -y pnpm@10 pack --pack-destination "$WORK" >/dev/null)
TARBALL="$(ls "$WORK"/catraca-coordination-*.tgz)"
CONTENTS="$(tar tzf "$TARBALL")"
grep -qx 'package/dist/zookeeper/index.js' <<<"$CONTENTS" || { echo "consumer-test: no JavaScript in $TARBALL"; exit 1; }
grep -qx 'package/LICENSE' <<<"$CONTENTS" || { echo "consumer-test: no LICENSE in $TARBALL"; exit 1; }
grep -qx 'package/dist/dynamodb/index.js' <<<"$CONTENTS" || { echo "consumer-test: no DynamoDB entry in $TARBALL"; exit 1; }

echo "== [${SECONDS}s] install the tarball with npm in $WORK/app (outside the workspace)"
mkdir "$WORK/app"
cd "$WORK/app"
printf '{ "name": "consumer", "private": true, "type": "module" }\n' > package.json
npm install --no-audit --no-fund --loglevel=error "$TARBALL"
[ ! -e node_modules/ioredis ] || { echo "consumer-test: ioredis installed for a ZooKeeper-only consumer"; exit 1; }
[ ! -e node_modules/@aws-sdk ] || { echo "consumer-test: the AWS SDK installed for a ZooKeeper-only consumer"; exit 1; }
[ ! -e "$WORK/app/node_modules/.pnpm" ] || { echo "consumer-test: not a plain npm install"; exit 1; }
cp "$HERE/lock-worker.mjs" "$HERE/check.mjs" "$HERE/consumer.ts" .

echo "== [${SECONDS}s] type-check a consumer against the installed declarations"
cat > tsconfig.json <<JSON
{ "compilerOptions": { "module": "NodeNext", "moduleResolution": "NodeNext", "target": "ES2022", "strict": true,
  "noEmit": true, "skipLibCheck": false, "typeRoots": ["$ROOT/node_modules/@types"], "types": ["node"] },
  "files": ["consumer.ts"] }
JSON
node "$ROOT/node_modules/typescript/bin/tsc" -p tsconfig.json

echo "== [${SECONDS}s] the Redis entry needs its optional peer dependency (ioredis), which this consumer did not install"
if node --input-type=module -e "await import('@catraca/coordination/redis')" 2>/dev/null; then
  echo "consumer-test: @catraca/coordination/redis loaded without ioredis"; exit 1
fi

echo "== [${SECONDS}s] start a private ZooKeeper on a free loopback port"
exec 3> >(cd "$ROOT" && exec node --import tsx scripts/consumer-test/start-zookeeper.ts > "$WORK/zk.out")
ZK_PID=$!
for _ in $(seq 1 600); do [ -s "$WORK/zk.out" ] && break; sleep 0.1; done
CONNECT="$(head -n 1 "$WORK/zk.out")"
[ -n "$CONNECT" ] || { echo "consumer-test: ZooKeeper did not start"; exit 1; }
echo "ZooKeeper at $CONNECT"

echo "== [${SECONDS}s] two OS processes increment one counter under the lock"
echo 0 > counter
ITERATIONS=30
node lock-worker.mjs "$CONNECT" counter "$ITERATIONS" > a.json &
A=$!
node lock-worker.mjs "$CONNECT" counter "$ITERATIONS" > b.json &
B=$!
wait "$A"
wait "$B"
node check.mjs counter $((2 * ITERATIONS)) a.json b.json
echo "consumer-test: PASS in ${SECONDS}s"
