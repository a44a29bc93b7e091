#!/bin/bash
# Safety rule 6, a foreign system: a primary from another initdb (another
# system identifier), started with the cluster's scope, must not stay
# writable, must write nothing to etcd (no member key, no leader key), and
# must say why.
set -u
cd "$(dirname "$0")/../.."
CLUSTER_SCOPE=foreign CLUSTER_PG_BASE=27120 CLUSTER_ETCD_PORT=24720
. test/cluster.sh

cluster_start 1 || bail_out "the cluster did not start"
expect "one primary" cluster_wait_healthy 60 || bail_out "the cluster is not healthy"
leader=$(cluster_leader)
key=/service/$CLUSTER_SCOPE
lease0=$(etcd_lease_of "$CLUSTER_E" "$key/leader")

fport=$((CLUSTER_PG_BASE + 9))
pg_node foreign "$fport" \
	"pgha.scope = '$CLUSTER_SCOPE'" "pgha.node_name = 'n9'" \
	"pgha.etcd_endpoints = '$CLUSTER_E'" "pgha.connect_address = '127.0.0.1:$fport'" \
	"pgha.ttl = $CLUSTER_TTL" "pgha.loop_wait = $CLUSTER_LOOP_WAIT" \
	"pgha.retry_timeout = $CLUSTER_RETRY_TIMEOUT" "log_line_prefix = '%m [%p] foreign '" ||
	bail_out "initdb of the foreign node failed"
# it may already be stopped again when pg_ctl looks: do not wait for it
"$PGBIN/pg_ctl" -D "$PGDATA_foreign" -l "$PGDATA_foreign/server.log" start >/dev/null 2>&1
# its keeper starts with the postmaster, so it may fence before the server
# even says it is ready
expect "the foreign node started (its keeper runs)" poll_until 30 \
	grep -q "pgha keeper started for member \"n9\"" "$PGDATA_foreign/server.log" ||
	bail_out "the foreign node did not start"
foreign_writable() {
	[ "$(PGCONNECT_TIMEOUT=2 "$PGBIN/psql" -X -h 127.0.0.1 -p "$fport" -U postgres -d postgres \
		-Atq -c "SELECT NOT pg_is_in_recovery()" 2>/dev/null)" = t ]
}
foreign_stopped() { ! "$PGBIN/pg_ctl" -D "$PGDATA_foreign" status >/dev/null 2>&1; }

expect "the foreign primary stops accepting writes within 10 s" poll_until 10 foreign_stopped
foreign_not_writable() { ! foreign_writable; }
check "it is not writable" foreign_not_writable
check "its log says why" grep -q "differs from the cluster's" "$PGDATA_foreign/server.log"
is "$(etcd_get "$CLUSTER_E" "$key/members/n9")" "" "it wrote no member key"
is "$(cluster_leader)" "$leader" "the leader key still names $leader"
is "$(etcd_lease_of "$CLUSTER_E" "$key/leader")" "$lease0" "the leader key is still on $leader's lease"
check "$leader is still writable" node_writable "$leader"
done_testing
