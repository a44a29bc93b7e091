#!/bin/bash
# make demo: etcd and three pgha nodes on loopback, each run by pgha-watchdog.
# The first node bootstraps and leads, the other two are cloned and stream;
# then the leader node is killed (watchdog and postgres, SIGKILL), a replica
# takes over, and the old leader comes back as a replica of the new one.
# Everything is stopped and removed at the end.  As root, the servers run as
# the postgres user (postgres refuses to run as root).
set -u
cd "$(dirname "$0")/.."

if [ "$(id -u)" -eq 0 ]; then
	make -s install >/dev/null || exit 1
	work=$(mktemp -d /tmp/pgha-demo.XXXXXX)
	cp -a . "$work/src"
	chown -R postgres:postgres "$work"
	runuser -u postgres -- bash "$work/src/test/demo.sh"
	rc=$?
	rm -rf "$work"
	exit $rc
fi

CLUSTER_PG_BASE=23610
CLUSTER_ETCD_PORT=23600
CLUSTER_SCOPE=demo
. test/cluster.sh

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
list() { ./pghactl --endpoints "$CLUSTER_E" --scope demo list; }
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }

say "starting etcd and three nodes (pgha-watchdog each; ttl 10, loop_wait 2, retry_timeout 3)"
cluster_start 3
cluster_wait_healthy 90 || { echo "the cluster did not come up: $CLUSTER_STATE"; exit 1; }
list

L=$(cluster_leader)
say "SELECT * FROM pgha_status() on the leader $L"
"$PGBIN/psql" -X -h "$TEST_TMP" -p "$(node_port "$L")" -U postgres -d postgres \
	-c "SELECT node, role, state, leader, timeline, wal_lsn, lag_bytes, paused FROM pgha_status()"
psql_at "$(node_port "$L")" "CREATE TABLE demo(id int PRIMARY KEY); INSERT INTO demo SELECT generate_series(1, 1000)" >/dev/null

say "killing the leader node $L (SIGKILL to its watchdog and postgres)"
cluster_kill_node "$L"
t0=$(date +%s%N)
new_leader() { local l; l=$(cluster_leader); [ -n "$l" ] && [ "$l" != "$L" ]; }
poll_until 30 new_leader || { echo "no new leader"; exit 1; }
N=$(cluster_leader)
echo "$N took over $(ms_since "$t0") ms after the kill (the lease of $L expired in etcd after ttl)"
poll_until 10 bash -c "[ \"\$(\"$PGBIN/psql\" -X -h $TEST_TMP -p $(node_port "$N") -U postgres -d postgres -Atqc 'SELECT pg_is_in_recovery()')\" = f ]"
echo "rows on the new leader: $(psql_at "$(node_port "$N")" "SELECT count(*) FROM demo")"
list

say "restarting $L's watchdog: it rejoins as a replica of $N (pg_rewind)"
cluster_restart_node "$L"
cluster_wait_healthy 60 || { echo "not healthy: $CLUSTER_STATE"; exit 1; }
list
say "the timeline history (pghactl history / SELECT * FROM pgha_history())"
"$PGBIN/psql" -X -h "$TEST_TMP" -p "$(node_port "$N")" -U postgres -d postgres -c "SELECT * FROM pgha_history()"
say "stopping everything"
