#!/bin/bash
# Safety rule 6, a name taken by another live member.
#  1. A pg_basebackup -R clone of the leader, started with the leader's own
#     config (same pgha.node_name), must neither take nor keep the leader
#     key, must not write etcd, and, promoted by hand, must fence itself:
#     never two writable primaries.  It says why (pgha_status().last_error
#     and its log).
#  2. leader-release run on that clone (stopped, its control file copied
#     from the leader) must not delete the real leader's key: it releases
#     only a key on this node's own lease.
#  3. A node named like a running replica, with an empty data directory,
#     does not clone (so never takes the replica's slot or member key): its
#     watchdog waits and says why.
set -u
cd "$(dirname "$0")/../.."
CLUSTER_SCOPE=dupname CLUSTER_PG_BASE=27100 CLUSTER_ETCD_PORT=24700
. test/cluster.sh

cluster_start 2 || bail_out "the cluster did not start"
expect "2 nodes: one primary, one streaming replica" cluster_wait_healthy 60 ||
	bail_out "the cluster is not healthy"
leader=$(cluster_leader)
replica=n1
[ "$leader" = n1 ] && replica=n2
note "leader: $leader, replica: $replica"
key=/service/$CLUSTER_SCOPE
lease0=$(etcd_lease_of "$CLUSTER_E" "$key/leader")
conn0=$(etcd_get "$CLUSTER_E" "$key/members/$leader" | jq -r .conn_url)

# 1. the clone, with the leader's own configuration
clone=$TEST_TMP/pg-clone
cport=$((CLUSTER_PG_BASE + 9))
CLEANUP_DATADIRS+=("$clone")
"$PGBIN/pg_basebackup" -h 127.0.0.1 -p "$(node_port "$leader")" -U postgres -D "$clone" \
	-R -X stream -c fast >"$TEST_TMP/clone-backup.log" 2>&1 ||
	bail_out "pg_basebackup failed: $(tail -3 "$TEST_TMP/clone-backup.log")"
rm -f "$clone/pgha_recovery.conf" "$clone/pgha.fenced"
"$PGBIN/pg_ctl" -D "$clone" -l "$clone.log" -w -t 60 \
	-o "-p $cport -c pgha.connect_address=127.0.0.1:$cport" start >/dev/null ||
	bail_out "the clone did not start"
clone_sql() { PGCONNECT_TIMEOUT=2 "$PGBIN/psql" -X -h 127.0.0.1 -p "$cport" -U postgres -d postgres -Atq -c "$1" 2>/dev/null; }
clone_writable() { [ "$(clone_sql "SELECT NOT pg_is_in_recovery()")" = t ]; }
clone_not_writable() { ! clone_writable; }
# a commit is what matters: a write transaction (an xid) that commits
clone_commits() { [ -n "$(clone_sql "SELECT txid_current()")" ]; }
node_commits() { [ -n "$(node_sql "$1" "SELECT txid_current()")" ]; }
clone_says_why() { clone_sql "SELECT last_error FROM pgha_status()" | grep -q "is used by a live member"; }

sleep 3	# a few keeper loops (loop_wait 2)
check "the clone stays a standby (it does not take the leader key)" clone_not_writable
is "$(cluster_leader)" "$leader" "the leader key still names $leader"
is "$(etcd_lease_of "$CLUSTER_E" "$key/leader")" "$lease0" "the leader key is still on $leader's lease"
is "$(etcd_get "$CLUSTER_E" "$key/members/$leader" | jq -r .conn_url)" "$conn0" "members/$leader still shows $leader's address"
expect "the clone says why in pgha_status().last_error" poll_until 10 clone_says_why ||
	note "last_error: $(clone_sql "SELECT last_error FROM pgha_status()")"
check "pghactl list -D on the clone says why" bash -c \
	"'$PGBIN/pghactl' -c '$TEST_TMP/$leader.conf' list -D '$clone' | grep -q 'member name \"$leader\" is used by a live member'"
check "pghactl list -D on $leader says nothing of the kind" bash -c \
	"! '$PGBIN/pghactl' -c '$TEST_TMP/$leader.conf' list -D '$(node_data "$leader")' | grep -q 'is used by a live member'"

"$PGBIN/pg_ctl" -D "$clone" -w promote >/dev/null 2>&1
both=0
for _ in $(seq 30); do
	clone_commits && node_commits "$leader" && both=$((both + 1))
	sleep 0.5
done
is "$both" 0 "after a manual promotion, never a commit on both the clone and $leader (30 samples over 15 s)"
expect "the promoted clone fences itself (stops) within 10 s" poll_until 10 bash -c \
	"! '$PGBIN/pg_ctl' -D '$clone' status >/dev/null 2>&1"
check "the clone's log says why" grep -q "member name \"$leader\" is used by a live member" "$clone.log"
is "$(cluster_leader)" "$leader" "the leader key still names $leader"
check "$leader is still writable" node_writable "$leader"

# 2. leader-release on the stopped clone, whose control file says "shut down"
"$PGBIN/pg_ctl" -D "$clone" -w -m fast stop >/dev/null 2>&1
out=$("$PGBIN/pghactl" -c "$TEST_TMP/$leader.conf" leader-release -D "$clone" --bindir "$PGBIN" 2>&1)
note "leader-release on the clone: $out"
is "$(cluster_leader)" "$leader" "leader-release on the clone leaves $leader's leader key alone"
is "$(etcd_lease_of "$CLUSTER_E" "$key/leader")" "$lease0" "the leader key is still on $leader's lease"

# 3. a node named like the running replica, with its own empty data directory
sed -e "s/^port = .*/port = $((CLUSTER_PG_BASE + 8))/" \
	-e "s/^pgha.connect_address = .*/pgha.connect_address = '127.0.0.1:$((CLUSTER_PG_BASE + 8))'/" \
	"$TEST_TMP/$replica.conf" >"$TEST_TMP/dup.conf"
dupdata=$TEST_TMP/pg-dup
CLEANUP_DATADIRS+=("$dupdata")
setsid "$(cluster_watchdog_bin)" --config "$TEST_TMP/dup.conf" --pgdata "$dupdata" \
	--bindir "$PGBIN" --log "$TEST_TMP/watchdog-dup.log" --pg-log "$dupdata.log" \
	--initdb-options '-A trust -U postgres --no-sync' >>"$TEST_TMP/watchdog-dup.out" 2>&1 </dev/null &
dupwd=$!
CLEANUP_PIDS+=("$dupwd")
expect "the duplicate's watchdog waits: member name \"$replica\" is used by a live member" \
	poll_until 20 grep -qF "member name \"$replica\" is used by a live member" "$TEST_TMP/watchdog-dup.log" ||
	note "watchdog-dup.log: $(tail -3 "$TEST_TMP/watchdog-dup.log")"
check "the duplicate did not clone (no PG_VERSION in its data directory)" test ! -f "$dupdata/PG_VERSION"
stop_pid "$dupwd"
expect "$replica still streams from $leader" cluster_wait_streaming "$replica" 10
is "$(etcd_get "$CLUSTER_E" "$key/members/$replica" | jq -r .conn_url)" \
	"postgres://127.0.0.1:$(node_port "$replica")/postgres" "members/$replica still shows $replica's address"
done_testing
