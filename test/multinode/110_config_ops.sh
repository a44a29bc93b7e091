#!/bin/bash
# Issue 11, items 3 and 4 on 3 nodes run by pgha-watchdog: edit-config
# refuses what pgha does not do (failsafe_mode, standby_cluster, the
# parameters pgha or the node owns); postgresql.parameters are applied on
# every node (work_mem within loop_wait); a bad value never reaches a
# node; max_connections shows pending_restart in pghactl list and
# pgha_members(), and pghactl restart --pending restarts every node (the
# leader keeps the key) with a writer running: no acknowledged write lost,
# never two primaries, the flag clears; reload; reinit of a replica (it
# streams again; refused on the leader); topology.
set -u
cd "$(dirname "$0")/../.."
CLUSTER_PG_BASE=27300
CLUSTER_ETCD_PORT=24880
CLUSTER_SCOPE=cfgops
. test/cluster.sh

E=$CLUSTER_E
OUT= ERR= RC=
pghactl() {
	OUT=$(./pghactl --endpoints "$E" --scope $CLUSTER_SCOPE "$@" 2>"$TEST_TMP/stderr")
	RC=$?
	ERR=$(cat "$TEST_TMP/stderr")
	{ echo "$OUT"; echo "$ERR"; } | sed '/^$/d; s/^/#   /'
}
setting_on_all() {
	local n
	for n in n1 n2 n3; do
		[ "$(node_sql "$n" "SHOW $1")" = "$2" ] || return 1
	done
}
pending_everywhere() {
	local n
	for n in n1 n2 n3; do
		[ "$(node_sql "$n" "SELECT pending_restart FROM pgha_status()")" = t ] || return 1
		[ "$(cluster_etcd_get "/service/$CLUSTER_SCOPE/members/$n" | jq -r '.pending_restart // false')" = true ] || return 1
	done
}
pending_nowhere() {
	local n
	for n in n1 n2 n3; do
		[ "$(node_sql "$n" "SELECT pending_restart FROM pgha_status()")" = f ] || return 1
		[ "$(cluster_etcd_get "/service/$CLUSTER_SCOPE/members/$n" | jq -r '.pending_restart // false')" = false ] || return 1
	done
}
last_error_says() { node_sql "$1" "SELECT last_error FROM pgha_status()" | grep -q "$2"; }
streams() { [ "$(node_sql "$1" "SELECT status FROM pg_stat_wal_receiver")" = streaming ]; }
sched_in_key() {
	[ -n "$(cluster_etcd_get "/service/$CLUSTER_SCOPE/members/$1" | jq -r '.scheduled_restart.schedule // empty')" ]
}
restarted_since() {
	local t
	t=$(node_sql "$1" "SELECT pg_postmaster_start_time()")
	[ -n "$t" ] && [ "$t" != "$2" ]
}
keeper_state_is() { [ "$(node_sql "$1" "SELECT state FROM pgha_status()")" = "$2" ]; }

cluster_start 3 || { not_ok "the cluster starts"; done_testing; exit 1; }
check "three nodes bootstrap and stream" cluster_wait_healthy 90
L=$(cluster_leader)
R=$(for n in n1 n2 n3; do [ "$n" != "$L" ] && echo "$n"; done | head -1)
note "leader $L, a replica $R"

# 1. refused, with the reason, and nothing written
before=$(cluster_etcd_get "/service/$CLUSTER_SCOPE/config")
pghactl edit-config --set failsafe_mode=true --force
is "$RC" 6 "failsafe_mode=true refused (exit 6)"
check "it says failsafe_mode is not implemented by pgha" grep -q "\"failsafe_mode\" is not implemented by pgha" <<<"$ERR"
pghactl edit-config --set 'standby_cluster={"host":"10.0.0.1","port":5432}' --force
is "$RC" 6 "standby_cluster refused (exit 6)"
check "it says standby_cluster is not implemented by pgha" grep -q "\"standby_cluster\" is not implemented by pgha" <<<"$ERR"
pghactl edit-config --pg listen_addresses='*' --force
is "$RC" 6 "listen_addresses refused (exit 6)"
check "it says why" grep -q "it is a node setting" <<<"$ERR"
pghactl edit-config --pg max_connections=10 --force
is "$RC" 6 "max_connections=10 refused (Patroni's lower bound)"
is "$(cluster_etcd_get "/service/$CLUSTER_SCOPE/config")" "$before" "the config key is unchanged"

# 2. a reloadable parameter, applied on every node within loop_wait
t0=$(date +%s%N)
pghactl edit-config --pg work_mem=7MB --force
is "$RC" 0 "edit-config --pg work_mem=7MB"
check "work_mem = 7MB on all 3 nodes within loop_wait + 2 s" poll_until $((CLUSTER_LOOP_WAIT + 2)) setting_on_all work_mem 7MB
note "applied everywhere $((($(date +%s%N) - t0) / 1000000)) ms after the edit"
check "no restart pending for it" pending_nowhere

# 3. a value the server rejects never reaches a node; the node says why
pghactl edit-config --pg work_mem=lots --force
is "$RC" 0 "edit-config cannot judge work_mem=lots: written"
check "each keeper refuses it, pgha_status().last_error says why" \
	poll_until $((CLUSTER_LOOP_WAIT + 3)) last_error_says "$R" "work_mem"
for n in n1 n2 n3; do
	check "$n's pgha_params.conf has no work_mem = 'lots'" \
		bash -c "! grep -q lots '$(node_data "$n")/pgha_params.conf'"
done
is "$(node_sql "$L" "SHOW work_mem")" "4MB" "work_mem back to the default: the bad value is left out"
pghactl edit-config --pg work_mem=null --force

# 4. a restart-only parameter: pending_restart, then restart --pending
pghactl edit-config --pg max_connections=150 --force
is "$RC" 0 "edit-config --pg max_connections=150"
check "pending_restart on every node (pgha_status() and the member keys)" \
	poll_until $((CLUSTER_LOOP_WAIT + 3)) pending_everywhere
is "$(node_sql "$L" "SHOW max_connections")" 100 "max_connections still 100 before the restart"
pghactl list
check "pghactl list has a Pending restart column" grep -qE "\| Pending restart +\|" <<<"$OUT"
is "$(grep -c '| \* ' <<<"$OUT")" 3 "every member marked * in it"
# pgha_members() is the keeper's view from its last read of etcd: its own
# key's new value shows at its next cycle
members_pending() {
	[ "$(node_sql "$L" "SELECT string_agg(member || '=' || pending_restart, ',' ORDER BY member) FROM pgha_members()")" = \
		"n1=true,n2=true,n3=true" ]
}
check "pgha_members() shows pending_restart on all three" poll_until $((CLUSTER_LOOP_WAIT + 3)) members_pending

cluster_workload_start 90
expect "the writer's commits are acknowledged" cluster_wait_writes 50 15
t0=$(date +%s%N)
pghactl restart --pending --force --timeout 60
is "$RC" 0 "pghactl restart --pending: exit 0"
is "$(grep -c '^Success: restart on member' <<<"$OUT")" 3 "every member restarted"
check "the leader last" bash -c "tail -1 <<<'$OUT' | grep -q 'member $L'"
note "restart of 3 nodes took $((($(date +%s%N) - t0) / 1000000)) ms"
check "max_connections = 150 on all 3 nodes" setting_on_all max_connections 150
check "the pending flag clears everywhere" poll_until $((CLUSTER_LOOP_WAIT + 3)) pending_nowhere
is "$(cluster_leader)" "$L" "the leader kept the leader key"
check "the cluster is whole again" cluster_wait_healthy 40
expect "writes go on after the restarts" cluster_wait_writes 50 20
cluster_verdict 0

# where the leader's restart spent its time (watchdog and server logs)
grep -E "restart requested|shutting postgres down|is not running any more|plan: |postgres started|promot|acquired|moving the leader key" \
	"$TEST_TMP/watchdog-$L.log" "$(node_data "$L").log" 2>/dev/null | tail -n 14 | sed 's/^/#   /'

# a scheduled restart: shown in the member key and pghactl list, carried
# out by the member's keeper at its time; a filter that does not hold
# refuses; a scheduled one can be cancelled
S=$(for n in n1 n2 n3; do [ "$n" != "$L" ] && [ "$n" != "$R" ] && echo "$n"; done)
start_of() { node_sql "$1" "SELECT pg_postmaster_start_time()"; }
s0=$(start_of "$S")
is "$(node_sql "$S" "SELECT pgha_restart(role => 'primary')" 2>&1; echo "rc=$?")" "rc=1" \
	"pgha_restart(role => 'primary') on a replica is refused"
when=$(date -d '+5 seconds' '+%Y-%m-%dT%H:%M:%S%:z')
pghactl restart "$S" --scheduled "$when" --force
is "$RC" 0 "pghactl restart $S --scheduled: exit 0"
check "it says the restart is scheduled" grep -q "Success: restart scheduled on member $S" <<<"$OUT"
check "the member key shows scheduled_restart" poll_until $((CLUSTER_LOOP_WAIT + 2)) sched_in_key "$S"
pghactl list
check "pghactl list has a Scheduled restart column" grep -qE "\| Scheduled restart +\|" <<<"$OUT"
check "$S restarts at its time" poll_until 30 restarted_since "$S" "$s0"
check "$S streams again" poll_until 30 streams "$S"
when=$(date -d '+1 hour' '+%Y-%m-%dT%H:%M:%S%:z')
check "$S's keeper follows again" poll_until 20 keeper_state_is "$S" following
pghactl restart "$S" --scheduled "$when" --force
pghactl restart "$S" --scheduled "$when" --force
check "a second schedule is refused: another restart is already scheduled" grep -q "Another restart is already scheduled" <<<"$OUT"
pghactl restart "$S" --cancel --force
is "$RC" 0 "pghactl restart --cancel"
is "$(node_sql "$S" "SELECT scheduled_restart IS NULL FROM pgha_status()")" t "the schedule is gone"

# 5. reload
pghactl reload "$R" --force
is "$RC" 0 "pghactl reload $R"
check "Patroni's answer" grep -q "Reload request received for member $R and will be processed within" <<<"$OUT"
is "$(node_sql "$R" "SELECT pgha_reload()")" "reload scheduled" "SELECT pgha_reload()"

# 6. reinit: refused on the leader; a replica is wiped, cloned, streams
pghactl reinit "$L" --force
is "$RC" 6 "reinit of the leader refused"
check "it says so" grep -q "I am the leader, can not reinitialize" <<<"$OUT"
is "$(node_sql "$L" "SELECT pgha_reinit()" 2>&1; node_sql "$L" "SELECT 1")" 1 "pgha_reinit() on the leader refused, it keeps running"
touch "$(node_data "$R")/left-by-the-test"
pghactl reinit "$R" --force
is "$RC" 0 "pghactl reinit $R"
check "$R's data directory was emptied and cloned" \
	poll_until 60 bash -c "[ ! -e '$(node_data "$R")/left-by-the-test' ] && [ -e '$(node_data "$R")/PG_VERSION' ]"
check "$R streams from the leader again" poll_until 60 streams "$R"
check "the cluster is whole again" cluster_wait_healthy 40

# 7. topology: the leader, its replicas under it
pghactl topology
is "$RC" 0 "pghactl topology"
check "the leader's row first" bash -c "sed -n 4p <<<'$OUT' | grep -q '^| $L '"
is "$(grep -c '^| + n' <<<"$OUT")" 2 "two replicas under it, as '+ name'"

cluster_dump >/dev/null
done_testing
