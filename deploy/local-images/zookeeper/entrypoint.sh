#!/bin/sh
# Writes zoo.cfg from the environment (the official image's variables) and runs ZooKeeper in the foreground.
set -eu
conf=/etc/zookeeper/conf
mkdir -p /data /datalog
echo "${ZOO_MY_ID:-1}" > /data/myid
{
  echo "tickTime=2000"
  echo "initLimit=10"
  echo "syncLimit=5"
  echo "dataDir=/data"
  echo "dataLogDir=/datalog"
  echo "clientPort=2181"
  echo "standaloneEnabled=${ZOO_STANDALONE_ENABLED:-true}"
  echo "admin.enableServer=false"
  echo "4lw.commands.whitelist=${ZOO_4LW_COMMANDS_WHITELIST:-srvr,ruok,mntr}"
  echo "quorumListenOnAllIPs=true"
  for server in ${ZOO_SERVERS:-}; do echo "$server"; done
} > "$conf/zoo.cfg"
cp "$conf/zoo.cfg" /data/zoo.cfg
cd /usr/share/zookeeper
# Debian's zookeeper.jar names its dependencies in its manifest; logging through log4j 1.2 (as Debian's service does).
CP="/etc/zookeeper/conf:/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-log4j12.jar:/usr/share/java/log4j-1.2.jar"
exec java -Dzookeeper.log.dir=/tmp -Dzookeeper.root.logger=INFO,CONSOLE -Xmx256m \
  -cp "$CP" org.apache.zookeeper.server.quorum.QuorumPeerMain "$conf/zoo.cfg"
