#!/bin/bash
# Synchronous mode (config synchronous_mode on / strict), on a real
# 3-node cluster with streaming replication:
#   - the leader picks a synchronous standby: synchronous_standby_names
#     names it, pg_stat_replication says "sync", the sync key lists it in
#     Patroni's format and pghactl list shows "Sync Standby";
#   - a switchover to the asynchronous replica is refused;
#   - the synchronous standby's node dies under load: the other replica
#     takes its place and commits resume within seconds;
#   - the leader's host dies under load: only the synchronous standby may
#     take over, and no acknowledged commit is lost; the new leader picks
#     a synchronous standby of its own;
#   - "on" with no standby left: writes go on (the sync key lists nobody);
#   - strict with no standby left: a commit waits until a standby is back;
#   - synchronous mode off again: the sync key is deleted and the setting
#     is gone.
set -u
cd "$(dirname "$0")/../.."
CLUSTER_SCOPE=syncmode CLUSTER_PG_BASE=26600 CLUSTER_ETCD_PORT=24610
. test/cluster.sh

P=/service/$CLUSTER_SCOPE
ctl() { ./pghactl --endpoints "$CLUSTER_E" --scope "$CLUSTER_SCOPE" "$@"; }
sync_key() { etcd_get "$CLUSTER_E" "$P/sync"; }
sync_standby() { sync_key | jq -r '.sync_standby // empty' 2>/dev/null; }
sync_leader() { sync_key | jq -r '.leader // empty' 2>/dev/null; }

# sync_published LEADER: the sync key names LEADER and lists a standby that
# pg_stat_replication on LEADER reports as "sync"
sync_published() {
	local s
	[ "$(sync_leader)" = "$1" ] || return 1
	s=$(sync_standby)
	[ -n "$s" ] || return 1
	[ "$(node_sql "$1" "SELECT sync_state FROM pg_stat_replication WHERE application_name = '$s'")" = sync ]
}

# the setting the leader's postgres has in force
ssn_of() { node_sql "$1" "SHOW synchronous_standby_names"; }
ssn_is() { [ "$(ssn_of "$1")" = "$2" ]; }
no_sync_standby() { [ -z "$(sync_standby)" ]; }
no_sync_key() { [ -z "$(sync_key)" ]; }

cluster_start 3 || bail_out "the cluster did not start"
expect "3 nodes: one primary, two streaming replicas" cluster_wait_healthy 60 ||
	bail_out "the cluster is not healthy"
leader=$(cluster_leader)
note "leader: $leader"

check "edit-config turns synchronous mode on" ctl edit-config --set synchronous_mode=true
expect "the leader publishes a synchronous standby" poll_until 20 sync_published "$leader" ||
	cluster_dump
sync1=$(sync_standby)
note "sync key: $(sync_key)"
is "$(ssn_of "$leader")" "FIRST 1 (\"$sync1\")" "synchronous_standby_names names $sync1"
is "$(node_sql "$leader" "SELECT synchronous_mode || ' ' || sync_standby FROM pgha_status()")" \
	"on $sync1" "pgha_status() shows the mode and the standby"
check "pghactl list shows $sync1 as Sync Standby" \
	grep -Eq "\| $sync1 +\| [0-9.:]+ +\| Sync Standby +\|" <<<"$(ctl list)"
is "$(node_sql "$leader" "SELECT role FROM pgha_members() WHERE member = '$sync1'")" \
	"Sync Standby" "pgha_members() agrees"
async1=
for n in "${CLUSTER_NODES[@]}"; do
	[ "$n" != "$leader" ] && [ "$n" != "$sync1" ] && async1=$n
done

# a commit waits for the synchronous standby: it is there once acknowledged
node_sql "$leader" "CREATE TABLE sync_probe (id int)" >/dev/null
node_sql "$leader" "INSERT INTO sync_probe VALUES (1)" >/dev/null
is "$(node_sql "$leader" "SELECT flush_lsn >= pg_current_wal_flush_lsn() FROM pg_stat_replication WHERE application_name = '$sync1'")" \
	t "the synchronous standby has flushed the acknowledged commit"

ctl switchover --candidate "$async1" --force >"$TEST_TMP/sw.out" 2>&1
rc=$?
is "$rc" 6 "a switchover to the asynchronous replica $async1 is refused (exit 6)"
check "...saying why" grep -q "not a synchronous standby" "$TEST_TMP/sw.out"

# --- the synchronous standby dies: commits go on with the other replica ----
sync_is() { sync_published "$1" && [ "$(sync_standby)" = "$2" ]; }
cluster_workload_start 30
expect "the writer's commits are acknowledged" cluster_wait_writes 100 15
cluster_kill_node "$sync1"
note "node $sync1 (the synchronous standby) killed"
expect "$async1 becomes the synchronous standby" poll_until 15 sync_is "$leader" "$async1" ||
	cluster_dump
cluster_wait_writes 50 10
cluster_workload_stop
cluster_check 0
is "$CHECK_LOST" 0 "no acknowledged commit was lost when the synchronous standby died"
is "$CHECK_SPLIT" 0 "never two primaries"
# waiting commits are released by the new standby's next reply: within
# wal_receiver_status_interval (1 s, set by the watchdog; 10 s by default)
check "commits resumed within 5 s ($CHECK_OUTAGE_MS ms)" test "$CHECK_OUTAGE_MS" -lt 5000
cluster_restart_node "$sync1"
expect "$sync1 is back as a replica" cluster_wait_streaming "$sync1" 60
sync1=$async1
async1=$(for n in "${CLUSTER_NODES[@]}"; do [ "$n" != "$leader" ] && [ "$n" != "$sync1" ] && echo "$n"; done)

# --- the leader's host dies under load ------------------------------------
cluster_workload_start 60
expect "the writer's commits are acknowledged" cluster_wait_writes 100 15
cluster_kill_node "$leader"
note "node $leader killed; the sync standby is $sync1"
expect "a new leader takes writes within ttl + 5 s" \
	cluster_wait_leader $((CLUSTER_TTL + 5)) "$leader" || bail_out "no leader"
new=$CLUSTER_NEW_LEADER
is "$new" "$sync1" "the synchronous standby took over"
expect "the new leader publishes a synchronous standby of its own" \
	poll_until 30 sync_published "$new" || cluster_dump
cluster_restart_node "$leader"
expect "$leader is back as a replica" cluster_wait_streaming "$leader" 60
cluster_wait_writes 50 10
cluster_workload_stop
cluster_check 0
is "$CHECK_LOST" 0 "no acknowledged commit was lost"
is "$CHECK_SPLIT" 0 "never two primaries"
leader=$new

# --- "on" without standbys: writes go on ----------------------------------
expect "the cluster is whole again" cluster_wait_healthy 60
for n in "${CLUSTER_NODES[@]}"; do [ "$n" != "$leader" ] && cluster_stop_node "$n"; done
for n in "${CLUSTER_NODES[@]}"; do [ "$n" != "$leader" ] && cluster_wait_stopped "$n" 30; done
expect "the sync key lists nobody once the standbys are gone" \
	poll_until 20 no_sync_standby
expect "synchronous_standby_names is empty" poll_until 10 ssn_is "$leader" ""
check "a commit is acknowledged without standbys" \
	timeout 5 "$PGBIN/psql" -h 127.0.0.1 -p "$(node_port "$leader")" -U postgres -d postgres \
	-Atqc "INSERT INTO sync_probe VALUES (2)"

# --- strict without standbys: a commit waits -------------------------------
check "edit-config sets strict mode" ctl edit-config --set synchronous_mode_strict=true
expect "synchronous_standby_names becomes '*'" poll_until 10 ssn_is "$leader" "*"
"$PGBIN/psql" -h 127.0.0.1 -p "$(node_port "$leader")" -U postgres -d postgres \
	-Atqc "INSERT INTO sync_probe VALUES (3)" >"$TEST_TMP/strict.out" 2>&1 &
writer=$!
CLEANUP_PIDS+=("$writer")
check "the commit waits all along for 3 s" holds_for 3 kill -0 "$writer"
is "$(node_sql "$leader" "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'SyncRep'")" 1 \
	"...for synchronous replication"
back=
for n in "${CLUSTER_NODES[@]}"; do [ "$n" != "$leader" ] && back=$n; done
cluster_restart_node "$back"
expect "the commit is acknowledged once $back streams" poll_until 60 eval "! kill -0 $writer 2>/dev/null"
wait "$writer"
is "$?" 0 "...successfully"
expect "$back becomes the synchronous standby" poll_until 30 sync_published "$leader" || cluster_dump
is "$(sync_standby)" "$back" "the sync key lists $back"

# --- off again ------------------------------------------------------------
check "edit-config turns synchronous mode off" \
	ctl edit-config --set synchronous_mode=false --set synchronous_mode_strict=false
expect "the sync key is deleted" poll_until 20 no_sync_key
expect "synchronous_standby_names is empty again" poll_until 10 ssn_is "$leader" ""
is "$(node_sql "$leader" "SELECT synchronous_mode FROM pgha_status()")" off "pgha_status() says off"
done_testing
