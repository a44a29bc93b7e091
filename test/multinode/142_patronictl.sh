#!/bin/bash
# Debian's patronictl (package patroni 3.0.2), unchanged, against a 3-node
# pgha cluster with the REST api on every node: list, topology,
# show-config, edit-config (--set/--pg --force), switchover (now, and
# scheduled then flushed), failover (with a healthy leader, to a named
# candidate), history, restart (now, and scheduled then flushed), reload,
# pause and resume (--wait), reinit and version (reinit --wait: see below).  Each command's exit
# status is checked and its effect read independently of patronictl: the
# keys in etcd, pg_is_in_recovery(), SHOW, pg_postmaster_start_time(),
# pg_conf_load_time(), the data directory.  patronictl only ever falls
# back to the DCS for switchover/failover, and says so ("falling back to
# DCS"): that must never be printed; restart, reload and reinit have no
# fallback, their "Success"/"Reload request received" lines come from the
# api's answers.  Note: patronictl exits 0 even when the api refuses
# ("Failed: ..."), so the text is checked too.
set -u
cd "$(dirname "$0")/../.."
CLUSTER_PG_BASE=27520
CLUSTER_ETCD_PORT=25020
CLUSTER_SCOPE=pctl
API_BASE=27530
CLUSTER_EXTRA_CONF=("pgha.api_username = 'admin'" "pgha.api_password = 'secret'")
. test/cluster.sh

E=$CLUSTER_E
P=/service/$CLUSTER_SCOPE
api_port() { echo $((API_BASE + ${1#n})); }

eval "orig_$(declare -f cluster_write_conf)"
cluster_write_conf() {
	orig_cluster_write_conf "$@"
	echo "pgha.api_listen = '127.0.0.1:$(api_port "$1")'" >>"$TEST_TMP/$1.conf"
}

command -v patronictl >/dev/null || bail_out "patronictl is not installed (Debian package patroni)"
note "$(patronictl version 2>&1 | head -1)"

YML=$TEST_TMP/patroni.yml
printf 'scope: %s\nnamespace: /service/\netcd3:\n  hosts: 127.0.0.1:%s\nctl:\n  auth: admin:secret\n' \
	"$CLUSTER_SCOPE" "$CLUSTER_ETCD_PORT" >"$YML"

# pctl ARGS...: patronictl, its output in OUT (shown as comments), status in RC
OUT= RC=
pctl() {
	OUT=$(patronictl -c "$YML" "$@" 2>&1)
	RC=$?
	sed 's/^/#   /' <<<"$OUT"
}
no_fallback() { ! grep -q "falling back to DCS" <<<"$OUT"; }
others() { local n; for n in n1 n2 n3; do [ "$n" != "$1" ] && echo "$n"; done; }
leader_is() { [ "$(cluster_leader)" = "$1" ] && node_writable "$1"; }
setting_on_all() {
	local n
	for n in n1 n2 n3; do [ "$(node_sql "$n" "SHOW $1")" = "$2" ] || return 1; done
}
# role_of NAME: Leader or Replica, as postgres says (pg_is_in_recovery)
role_of() {
	case $(node_sql "$1" "SELECT pg_is_in_recovery()") in
		f) echo Leader ;; t) echo Replica ;; *) echo down ;;
	esac
}
# the timeline the leader writes on now (from its current WAL file name)
leader_tl() {
	node_sql "$1" "SELECT ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int"
}
pm_start() { node_sql "$1" "SELECT pg_postmaster_start_time()"; }
restarted_since() { local t; t=$(pm_start "$1"); [ -n "$t" ] && [ "$t" != "$2" ]; }
streams() { [ "$(node_sql "$1" "SELECT status FROM pg_stat_wal_receiver")" = streaming ]; }

cluster_start 3 || bail_out "the cluster did not start"
expect "three nodes bootstrap and stream" cluster_wait_healthy 90 || bail_out "the cluster is not healthy"
L=$(cluster_leader)
note "leader $L"

# --- list: every member, its role as postgres says, its state -----------------
pctl list -f json
is "$RC" 0 "patronictl list: exit 0"
is "$(jq -r 'map(.Member) | sort | join(",")' <<<"$OUT")" n1,n2,n3 "list: the three members"
want=$(for n in n1 n2 n3; do echo "$n:$(role_of "$n"):running"; done | paste -sd' ')
is "$(jq -r 'sort_by(.Member) | map(.Member + ":" + .Role + ":" + .State) | join(" ")' <<<"$OUT")" "$want" \
	"list: each member's role is pg_is_in_recovery()'s, each one running"
is "$(jq -r "map(select(.Member == \"$L\"))[0].Host" <<<"$OUT")" "127.0.0.1:$(node_port "$L")" \
	"list: the leader's host:port is its connect address"
pctl list
is "$RC" 0 "patronictl list (table): exit 0"
check "the table's title names the cluster" grep -q "^+ Cluster: $CLUSTER_SCOPE " <<<"$OUT"

# --- topology: the leader first, its replicas under it ------------------------
pctl topology
is "$RC" 0 "patronictl topology: exit 0"
check "topology: the leader's row first" bash -c "grep '^| ' <<<'$OUT' | sed -n 2p | grep -q '^| $L '"
is "$(grep -cE '^\| \+ n[123] ' <<<"$OUT")" 2 "topology: both replicas under it, as '+ name'"

# --- scheduled switchover and restart, then flushed ------------------------------
C=$(others "$L" | head -1)
at=$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%S+00:00)
pctl switchover --leader "$L" --candidate "$C" --scheduled "$at" --force
is "$RC" 0 "patronictl switchover --scheduled: exit 0"
check "the api's 202: Switchover scheduled" grep -q " Switchover scheduled\$" <<<"$OUT"
check "no DCS fallback" no_fallback
is "$(etcd_get "$E" "$P/failover" | jq -r '.member')" "$C" "the failover key names $C, with a scheduled_at"
pctl list
check "list shows it: Switchover scheduled at" grep -q "Switchover scheduled at: " <<<"$OUT"
pctl flush "$CLUSTER_SCOPE" switchover --force
is "$RC" 0 "patronictl flush switchover: exit 0"
check "Success: scheduled switchover deleted (DELETE /switchover)" grep -q "^Success: scheduled switchover deleted" <<<"$OUT"
is "$(etcd_get "$E" "$P/failover" | jq -r '.member // empty')" "" "the failover key names no one"
is "$(cluster_leader)" "$L" "the leader is still $L"
pctl restart "$CLUSTER_SCOPE" "$C" --scheduled "$at" --force
is "$RC" 0 "patronictl restart $C --scheduled: exit 0"
check "Success: restart scheduled on member $C (the api's 202)" grep -q "^Success: restart scheduled on member $C\$" <<<"$OUT"
sched_in_key() { [ -n "$(etcd_get "$E" "$P/members/$1" | jq -r '.scheduled_restart.schedule // empty')" ]; }
check "$C's member key has scheduled_restart" poll_until $((CLUSTER_LOOP_WAIT + 2)) sched_in_key "$C"
pctl flush "$CLUSTER_SCOPE" "$C" restart --force
is "$RC" 0 "patronictl flush restart: exit 0"
check "Success: flush scheduled restart for member $C (DELETE /restart)" \
	grep -q "^Success: flush scheduled restart for member $C\$" <<<"$OUT"
no_sched_in_key() { ! sched_in_key "$1"; }
check "$C's member key loses scheduled_restart" poll_until $((CLUSTER_LOOP_WAIT + 2)) no_sched_in_key "$C"

# --- show-config: the config key ----------------------------------------------
pctl show-config
is "$RC" 0 "patronictl show-config: exit 0"
yaml_json() { /usr/bin/python3 -c 'import sys, json, yaml; print(json.dumps(yaml.safe_load(sys.stdin)))'; }
is "$(yaml_json <<<"$OUT" | jq -cS '{ttl, loop_wait, retry_timeout}')" \
	"$(etcd_get "$E" "$P/config" | jq -cS '{ttl, loop_wait, retry_timeout}')" \
	"show-config: ttl, loop_wait, retry_timeout as in the config key"

# --- edit-config --set / --pg --force: written, and applied by every keeper ----
t0=$(date +%s%N)
pctl edit-config --pg work_mem=9MB --set maximum_lag_on_failover=2097152 --force
is "$RC" 0 "patronictl edit-config --pg work_mem=9MB --set maximum_lag_on_failover=2097152 --force: exit 0"
is "$(etcd_get "$E" "$P/config" | jq -c '[.postgresql.parameters.work_mem, .maximum_lag_on_failover]')" \
	'["9MB",2097152]' "the config key has both"
check "work_mem = 9MB on all 3 nodes (SHOW) within loop_wait + 2 s" \
	poll_until $((CLUSTER_LOOP_WAIT + 2)) setting_on_all work_mem 9MB
note "applied on every node $((($(date +%s%N) - t0) / 1000000)) ms after the edit"
pctl show-config
is "$(yaml_json <<<"$OUT" | jq -c '[.postgresql.parameters.work_mem, .maximum_lag_on_failover]')" \
	'["9MB",2097152]' "show-config shows the edit"

# --- edit-config past pgha's refusals: patronictl writes the key itself, so
# every keeper says what it does not implement (before: silently ignored)
last_error_on_all() {
	local n
	for n in n1 n2 n3; do
		[[ $(node_sql "$n" "SELECT last_error FROM pgha_status()") == *"$1"* ]] || return 1
	done
}
pctl edit-config --set failsafe_mode=true --force
is "$RC" 0 "patronictl edit-config --set failsafe_mode=true writes the key (no api check on that path)"
check "every node's pgha_status().last_error says failsafe_mode is not implemented" \
	poll_until $((CLUSTER_LOOP_WAIT + 2)) last_error_on_all '"failsafe_mode" is not implemented by pgha'
check "and its log says so (WARNING)" \
	grep -q 'WARNING:  pgha: the config key asks for what this node does not apply: config: "failsafe_mode" is not implemented' \
	"$(node_data "$L").log"
pctl edit-config --set failsafe_mode=false --force
no_error() {
	local n
	for n in n1 n2 n3; do [ -z "$(node_sql "$n" "SELECT last_error FROM pgha_status()")" ] || return 1; done
}
check "set back to false, the report goes away" poll_until $((CLUSTER_LOOP_WAIT + 2)) no_error

# --- switchover to a named candidate -------------------------------------------
C=$(others "$L" | head -1)
pctl switchover --leader "$L" --candidate "$C" --force
is "$RC" 0 "patronictl switchover --leader $L --candidate $C --force: exit 0"
# the leader's api answers 202 before its postgres (and so the api worker)
# stops to hand over; patronictl prints 200's and 202's bodies alike
check "it printed the api's 200 or 202 answer (not 'Switchover failed')" \
	grep -Eq "Successfully switched over to \"$C\"|Switchover to \"$C\" started" <<<"$OUT"
check "no DCS fallback" no_fallback
check "the leader key names $C and $C accepts writes" poll_until 20 leader_is "$C"
expect "the cluster is whole again" cluster_wait_healthy 60
is "$(role_of "$L")" Replica "the old leader $L is a replica (pg_is_in_recovery)"
tl_after_switchover=$(leader_tl "$C")

# --- failover with a healthy leader, to a named candidate ----------------------
L=$C
F=$(others "$L" | tail -1)
pctl failover --candidate "$F" --force
is "$RC" 0 "patronictl failover --candidate $F --force (the leader $L healthy): exit 0"
check "it printed the api's 200 or 202 answer (not 'Failover failed')" \
	grep -Eq "Successfully failed over to \"$F\"|Failover to \"$F\" started" <<<"$OUT"
check "no DCS fallback" no_fallback
check "the leader key names $F and $F accepts writes" poll_until 20 leader_is "$F"
expect "the cluster is whole again" cluster_wait_healthy 60
is "$(role_of "$L")" Replica "the old leader $L is a replica (pg_is_in_recovery)"
L=$F

# --- history: one row per timeline change, as the history key -----------------
pctl history -f json
is "$RC" 0 "patronictl history: exit 0"
is "$(jq length <<<"$OUT")" "$(etcd_get "$E" "$P/history" | jq length)" "history: as many rows as the history key"
check "history: at least the two changes made above" test "$(jq length <<<"$OUT")" -ge 2
is "$(jq -r '.[-2:] | map(.["New Leader"]) | join(",")' <<<"$OUT")" "$C,$L" \
	"history: the last two rows name $C then $L as the new leader"
is "$(jq -r '.[-1].TL + 1' <<<"$OUT")" "$(leader_tl "$L")" "history: the last row's TL + 1 is the timeline $L writes on"
is "$(jq -r '.[-1].TL' <<<"$OUT")" "$tl_after_switchover" "history: the last row's TL is the one the switchover started"

# --- restart one member ----------------------------------------------------------
R=$(others "$L" | head -1)
t0=$(pm_start "$R")
pctl restart "$CLUSTER_SCOPE" "$R" --force
is "$RC" 0 "patronictl restart $R --force: exit 0"
check "Success: restart on member $R (the api's 200)" grep -q "^Success: restart on member $R\$" <<<"$OUT"
check "$R's postmaster start time changed" poll_until 60 restarted_since "$R" "$t0"
note "$R: postmaster started $t0, now $(pm_start "$R")"
check "$R streams from the leader again" poll_until 30 streams "$R"
is "$(role_of "$R")" Replica "$R came back as a replica"
is "$(cluster_leader)" "$L" "the leader is still $L"
expect "the cluster is whole again" cluster_wait_healthy 40
t0=$(pm_start "$L")
tl0=$(leader_tl "$L")
pctl restart "$CLUSTER_SCOPE" "$L" --force
is "$RC" 0 "patronictl restart $L (the leader) --force: exit 0"
check "Success: restart on member $L" grep -q "^Success: restart on member $L\$" <<<"$OUT"
check "$L's postmaster start time changed" poll_until 60 restarted_since "$L" "$t0"
check "$L came back as the leader (it kept the key, accepts writes)" poll_until 30 leader_is "$L"
# unlike Patroni, pgha starts a restarted leader as a standby and promotes it
note "$L's timeline before the restart $tl0, after $(leader_tl "$L")"
expect "the cluster is whole again" cluster_wait_healthy 60

# --- reload every member -------------------------------------------------------
declare -A loaded=()
for n in n1 n2 n3; do loaded[$n]=$(node_sql "$n" "SELECT pg_conf_load_time()"); done
pctl reload "$CLUSTER_SCOPE" --force
is "$RC" 0 "patronictl reload --force: exit 0"
is "$(grep -c "^Reload request received for member n[123] and will be processed within $CLUSTER_LOOP_WAIT seconds" <<<"$OUT")" 3 \
	"Reload request received for all 3 members (the api's 202)"
reloaded() { local n; for n in n1 n2 n3; do [ "$(node_sql "$n" "SELECT pg_conf_load_time()")" != "${loaded[$n]}" ] || return 1; done; }
check "pg_conf_load_time() moved on all 3 nodes" poll_until $((CLUSTER_LOOP_WAIT + 3)) reloaded

# --- pause and resume (PATCH /config), --wait ------------------------------------
paused_everywhere() {
	local n
	for n in n1 n2 n3; do [ "$(node_sql "$n" "SELECT paused FROM pgha_status()")" = "$1" ] || return 1; done
}
# Patroni's touch_member writes "pause": true into a paused member's key;
# pause/resume --wait poll those keys for loop_wait + 1 s
member_keys_pause() {
	local n
	for n in n1 n2 n3; do [ "$(etcd_get "$E" "$P/members/$n" | jq -r '.pause // false')" = "$1" ] || return 1; done
}
pctl pause "$CLUSTER_SCOPE" --wait
is "$RC" 0 "patronictl pause --wait: exit 0"
check "Success: cluster management is paused (every member key says pause)" \
	grep -q "^Success: cluster management is paused\$" <<<"$OUT"
is "$(etcd_get "$E" "$P/config" | jq -r .pause)" true "the config key has pause: true"
check "every member key has pause: true (what --wait polls for)" \
	poll_until $((CLUSTER_LOOP_WAIT + 2)) member_keys_pause true
check "pgha_status().paused on all 3 nodes" poll_until $((CLUSTER_LOOP_WAIT + 2)) paused_everywhere t
pctl list
check "list says: Maintenance mode: on" grep -q "Maintenance mode: on" <<<"$OUT"
pctl resume "$CLUSTER_SCOPE" --wait
is "$RC" 0 "patronictl resume --wait: exit 0"
check "Success: cluster management is resumed" grep -q "^Success: cluster management is resumed\$" <<<"$OUT"
is "$(etcd_get "$E" "$P/config" | jq -r '.pause // false')" false "the config key has no pause"
check "no member key has pause any more" poll_until $((CLUSTER_LOOP_WAIT + 2)) member_keys_pause false
check "pgha_status().paused off on all 3 nodes" poll_until $((CLUSTER_LOOP_WAIT + 2)) paused_everywhere f

# --- reinit a replica ---------------------------------------------------------
# Not with --wait: patronictl 3.0.2 then polls GET /patroni every 2 s until
# the state is no longer "creating replica", with urllib3's immediate
# retries only.  Patroni's api outlives its postgres; pgha's api worker is
# one of postgres' processes and is gone while the replica is emptied and
# cloned, so that poll meets "connection refused" whenever the clone takes
# more than about 2 s, and patronictl ends with a MaxRetryError traceback
# (exit 1), though the reinit goes on and completes.
sysid=$(node_sql "$L" "SELECT system_identifier FROM pg_control_system()")
t0=$(pm_start "$R")
touch "$(node_data "$R")/left-by-the-test"
pctl reinit "$CLUSTER_SCOPE" "$R" --force
is "$RC" 0 "patronictl reinit $R --force: exit 0"
check "Success: reinitialize for member $R (the api's 200)" grep -q "^Success: reinitialize for member $R\$" <<<"$OUT"
check "$R's data directory was wiped (the test's marker file is gone) and cloned" \
	poll_until 60 bash -c "[ ! -e '$(node_data "$R")/left-by-the-test' ] && [ -e '$(node_data "$R")/PG_VERSION' ]"
check "$R streams from the leader again" poll_until 60 streams "$R"
is "$(node_sql "$R" "SELECT system_identifier FROM pg_control_system()")" "$sysid" "$R: the cluster's system identifier"
check "$R runs a new postmaster" restarted_since "$R" "$t0"
pctl reinit "$CLUSTER_SCOPE" "$L" --force
check "reinit of the leader: patronictl finds no such replica" grep -q "No replica among provided members" <<<"$OUT"
expect "the cluster is whole again" cluster_wait_healthy 60

# --- version: through GET /patroni of each member -------------------------------
pctl version "$CLUSTER_SCOPE"
is "$RC" 0 "patronictl version: exit 0"
is "$(grep -cE '^n[123]: Patroni [0-9.]+ PostgreSQL 15' <<<"$OUT")" 3 "version: each member's Patroni and PostgreSQL versions"

cluster_dump >/dev/null
done_testing
