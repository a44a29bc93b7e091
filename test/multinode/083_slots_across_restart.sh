#!/bin/bash
# Item 12: the leader drops the slot of a member gone for
# pgha.member_slot_retention even when its keeper and postgres restarted in
# between (what it saw is kept in PGDATA/pgha.slots, not in process memory).
# The slots of members still present, and a DBA's own slot, stay.
set -u
cd "$(dirname "$0")/../.."
CLUSTER_SCOPE=slotkeep CLUSTER_PG_BASE=27140 CLUSTER_ETCD_PORT=24740
CLUSTER_EXTRA_CONF=("pgha.member_slot_retention = 15")
. test/cluster.sh

cluster_start 3 || bail_out "the cluster did not start"
expect "3 nodes: one primary, two streaming replicas" cluster_wait_healthy 60 ||
	bail_out "the cluster is not healthy"
leader=$(cluster_leader)
others=()
for n in n1 n2 n3; do [ "$n" = "$leader" ] || others+=("$n"); done
stay=${others[0]} gone=${others[1]}
note "leader $leader; $gone leaves, $stay stays"
key=/service/$CLUSTER_SCOPE
slot_present() { [ "$(node_sql "$leader" "SELECT count(*) FROM pg_replication_slots WHERE slot_name = '$1'")" = 1 ]; }
slot_absent() { [ "$(node_sql "$leader" "SELECT count(*) FROM pg_replication_slots WHERE slot_name = '$1'")" = 0 ]; }
node_sql "$leader" "SELECT pg_create_physical_replication_slot('dba_own')" >/dev/null

cluster_stop_node "$gone"
expect "members/$gone expires" poll_until 30 bash -c "[ -z \"\$(curl -sf -XPOST $CLUSTER_E/v3/kv/range -d '{\"key\":\"$(printf %s "$key/members/$gone" | base64 -w0)\"}' | jq -r '.kvs[0].value // empty')\" ]"
t_gone=$(cluster_now_ms)
check "the slot of $gone is still there (retention 15 s)" slot_present "$gone"
sleep 3	# the leader's keeper notices the member left

# the keeper dies: the postmaster restarts every process, shared memory anew
pm=$(node_postmaster_pid "$leader")
kpid=$(ps -o pid=,args= --ppid "$pm" | awk '/pgha keeper/ { print $1 }')
note "killing $leader's keeper (pid $kpid): the postmaster reinitializes"
kill -KILL "$kpid"
expect "$leader leads again after the restart" poll_until 30 bash -c \
	"$(declare -f node_sql node_port node_index); CLUSTER_PG_BASE=$CLUSTER_PG_BASE PGBIN=$PGBIN; [ \"\$(node_sql $leader 'SELECT NOT pg_is_in_recovery()')\" = t ] && [ \"\$(curl -sf -XPOST $CLUSTER_E/v3/kv/range -d '{\"key\":\"$(printf %s "$key/leader" | base64 -w0)\"}' | jq -r '.kvs[0].value' | base64 -d)\" = $leader ]"
check "the slot of $gone survived the restart for now" slot_present "$gone"
expect "the slot of $gone is dropped within retention + 15 s of its leaving" \
	poll_until $((15 + 15 - ($(cluster_now_ms) - t_gone) / 1000)) slot_absent "$gone"
note "dropped $(( ($(cluster_now_ms) - t_gone) / 1000 )) s after $gone left"
check "the slot of $stay is kept" slot_present "$stay"
check "the DBA's own slot is kept" slot_present dba_own
done_testing
