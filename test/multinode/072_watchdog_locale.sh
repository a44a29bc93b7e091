#!/bin/bash
# The watchdog's decisions do not depend on the language of PostgreSQL's
# messages (issue 9 item 9).  Every watchdog (and so its postgres and the
# tools it runs) starts with LANGUAGE=de: pg_basebackup, pg_rewind and the
# server speak German (postgresql-15 ships the catalogs).  Then:
#   - a replica whose data directory is lost is cloned again while the
#     leader still has its slot: pg_basebackup -C fails ('already exists',
#     in German 'existiert bereits'); the watchdog must clone through the
#     existing slot, not retry the failing clone for ever;
#   - a switchover and a failover later, every node rejoins and streams.
set -u
cd "$(dirname "$0")/../.."
CLUSTER_SCOPE=locale CLUSTER_PG_BASE=26720 CLUSTER_ETCD_PORT=24720
. test/cluster.sh

real_wd=$(cluster_watchdog_bin)
cat >"$TEST_TMP/german-watchdog" <<EOF
#!/bin/bash
export LANGUAGE=de LANG=C.UTF-8
unset LC_ALL LC_MESSAGES
exec "$real_wd" "\$@"
EOF
chmod +x "$TEST_TMP/german-watchdog"
export PGHA_WATCHDOG=$TEST_TMP/german-watchdog

check "PostgreSQL's tools speak German with LANGUAGE=de" \
	bash -c "LANGUAGE=de LANG=C.UTF-8 '$PGBIN/pg_basebackup' --help | grep -q 'Aufruf'"

cluster_start 3 || bail_out "the cluster did not start"
expect "3 nodes: one primary, two streaming replicas" cluster_wait_healthy 60 ||
	bail_out "the cluster is not healthy"
L=$(cluster_leader)
R=
for n in "${CLUSTER_NODES[@]}"; do [ "$n" != "$L" ] && R=$n && break; done
slot=$(node_sql "$L" "SELECT slot_name FROM pg_replication_slots WHERE slot_name = '$R'")
is "$slot" "$R" "the leader $L keeps a slot for $R"

# ---- a replica loses its data directory ----
cluster_stop_node "$R"
rm -rf "$(node_data "$R")"
node_sql "$L" "SELECT pg_create_physical_replication_slot('$R') WHERE NOT EXISTS
	(SELECT 1 FROM pg_replication_slots WHERE slot_name = '$R')" >/dev/null
cluster_restart_node "$R"
expect "$R is cloned again through its existing slot and streams within 40 s" \
	cluster_wait_streaming "$R" 40
check "$R's watchdog cloned through the existing slot" \
	grep -q "exists on .*: cloning through it" "$TEST_TMP/watchdog-$R.log"

# ---- the leader fails over: it rejoins (pg_rewind, German output) ----
cluster_workload_start 60
expect "the writer's commits are acknowledged" cluster_wait_writes 50 15
cluster_kill_node "$L"
expect "a new leader takes writes within ttl + 5 s" cluster_wait_leader $((CLUSTER_TTL + 5)) "$L" ||
	bail_out "no leader"
new=$CLUSTER_NEW_LEADER
cluster_restart_node "$L"
expect "$L is back as a replica streaming from $new within 45 s" cluster_wait_streaming "$L" 45
expect "the cluster is whole again" cluster_wait_healthy 30
cluster_wait_writes 30 10
cluster_verdict 5
done_testing
