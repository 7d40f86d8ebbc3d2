#!/usr/bin/env bash
# Resolves mongo-java-server (Maven Central, de.bwaldvogel:mongo-java-server) and writes its classpath to
# test-support/mongo-java-server/classpath.txt. Needs Java 17 and Maven; idempotent (Maven's cache ~/.m2 keeps the
# jars, ~4 MB). Used by scripts/mongo-standin-contract.sh.
set -euo pipefail
dir="$(cd "$(dirname "$0")/../test-support/mongo-java-server" && pwd)"
if [[ -s "$dir/classpath.txt" ]] && tr ':' '\n' <"$dir/classpath.txt" | xargs -r ls >/dev/null 2>&1; then
  echo "mongo-java-server: classpath present"
  exit 0
fi
mvn -q -B -f "$dir/pom.xml" dependency:build-classpath -Dmdep.outputFile="$dir/classpath.txt"
echo "mongo-java-server: classpath written to $dir/classpath.txt"
