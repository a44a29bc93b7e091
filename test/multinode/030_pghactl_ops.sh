#!/bin/bash
# pghactl's operator commands against a real etcd holding the keys a
# Patroni 3.0.2 cluster wrote (../shared/PATRONI-OBSERVED.md), written with
# curl: no postgres is needed, and patronictl reads the same keys to show
# that what pghactl writes is Patroni's format.
#   pause / resume keep every other config field; edit-config --set,
#   --pg, --replace, --dry-run and its refusals; switchover refusals;
#   a scheduled switchover (pghactl's and patronictl's) and --cancel; the
#   wait for a new leader against a fake keeper (the test moves the leader
#   key); failover; history as patronictl prints it; remove; the
#   confirmation prompt; etcd unreachable; usage errors.
# Exit statuses: 0 ok, 1 etcd, 2 usage, 3 not found, 6 refused, 7 timed
# out, 8 not confirmed.
set -u
cd "$(dirname "$0")/../.."
. test/lib.sh

E=http://127.0.0.1:23901
DEAD=http://127.0.0.1:23903		# nothing listens there
SCOPE=anchor
P=/service/$SCOPE

start_etcd e1 23901 23902 || { not_ok "etcd starts"; done_testing; exit 1; }

b64() { printf %s "$1" | base64 -w0; }
etcd_put() {
	curl -sf -XPOST "$E/v3/kv/put" \
		-d "{\"key\":\"$(b64 "$1")\",\"value\":\"$(b64 "$2")\"}" >/dev/null
}
etcd_del() {
	curl -sf -XPOST "$E/v3/kv/deleterange" -d "{\"key\":\"$(b64 "$1")\"}" >/dev/null
}
mod_rev() {
	curl -sf -XPOST "$E/v3/kv/range" -d "{\"key\":\"$(b64 "$1")\"}" |
		jq -r '.kvs[0].mod_revision // "0"'
}
nkeys() {
	curl -sf -XPOST "$E/v3/kv/range" \
		-d "{\"key\":\"$(b64 "$P/")\",\"range_end\":\"$(b64 "${P}0")\",\"count_only\":true}" |
		jq -r '.count // "0"'
}

# pghactl ARGS...: runs it, sets OUT (stdout), ERR (stderr) and RC
OUT= ERR= RC=
pghactl() {
	OUT=$(./pghactl --endpoints $E --scope $SCOPE "$@" 2>"$TEST_TMP/stderr")
	RC=$?
	ERR=$(cat "$TEST_TMP/stderr")
}
show() { { echo "$OUT"; echo "$ERR"; } | sed '/^$/d; s/^/#   /'; }
not_grep() { ! grep -q "$@"; }

CONFIG='{"ttl":30,"loop_wait":10,"retry_timeout":10,"maximum_lag_on_failover":1048576,"postgresql":{"use_pg_rewind":true,"use_slots":true,"parameters":{"wal_level":"replica","hot_standby":"on","wal_log_hints":"on","max_wal_senders":10,"max_replication_slots":10,"wal_keep_size":"256MB"}}}'
HISTORY='[[1,67560272,"no recovery target specified","2026-11-23T23:48:53.124401+00:00","pg2"]]'
member() {	# NAME ROLE STATE XLOG
	echo "{\"conn_url\":\"postgres://127.0.0.1:544${1#pg}/postgres\",\"api_url\":\"http://127.0.0.1:2391${1#pg}/patroni\",\"state\":\"$3\",\"role\":\"$2\",\"version\":\"3.0.2\",\"xlog_location\":$4,\"timeline\":2}"
}
recorded_cluster() {
	etcd_put $P/config "$CONFIG"
	etcd_put $P/failover '{}'
	etcd_put $P/history "$HISTORY"
	etcd_put $P/initialize 7711517793368109282
	etcd_put $P/leader pg2
	etcd_put $P/members/pg1 "$(member pg1 replica running 67712040)"
	etcd_put $P/members/pg2 "$(member pg2 master running 67712040)"
	etcd_put $P/members/pg3 "$(member pg3 replica running 67712040)"
	etcd_put $P/status '{"optime":67712040}'
}
recorded_cluster

# patronictl reads the same keys (its REST calls go to ports nobody serves)
cat >"$TEST_TMP/patroni.yml" <<YML
scope: $SCOPE
namespace: /service/
etcd3:
  hosts: 127.0.0.1:23901
YML
patronictl() { command patronictl -c "$TEST_TMP/patroni.yml" "$@" 2>&1; }
show_config_before=$(patronictl show-config)

# --- pause / resume ---------------------------------------------------
pghactl pause
is "$RC:$OUT" "0:Success: cluster management is paused" "pause: exit 0 and patronictl's message"
is "$(etcd_get $E $P/config)" "${CONFIG%\}},\"pause\":true}" \
	"pause adds \"pause\":true and keeps every other field, in order"
is "$(patronictl show-config | grep -v '^pause: true$')" "$show_config_before" \
	"patronictl show-config: the same configuration plus pause: true"
check "patronictl show-config shows pause: true" grep -qx 'pause: true' <<<"$(patronictl show-config)"
check "patronictl list shows maintenance mode" grep -q 'Maintenance mode: on' <<<"$(patronictl list $SCOPE)"
pghactl list
check "pghactl list shows maintenance mode" grep -q 'Maintenance mode: on' <<<"$OUT"
rev=$(mod_rev $P/config)
pghactl pause
is "$RC:$OUT" "0:Cluster is already paused" "pause again: nothing to do, exit 0"
is "$(mod_rev $P/config)" "$rev" "pause again writes nothing"

pghactl switchover --candidate pg3 --force
is "$RC" 6 "switchover while paused: refused (6)"
check "it says the cluster is paused" grep -q 'switchover refused: the cluster is paused' <<<"$ERR"

pghactl resume
is "$RC:$OUT" "0:Success: cluster management is resumed" "resume: exit 0 and patronictl's message"
is "$(etcd_get $E $P/config)" "$CONFIG" "resume gives back the config key byte for byte"
is "$(patronictl show-config)" "$show_config_before" "patronictl show-config agrees"
pghactl resume
is "$RC:$OUT" "0:Cluster is not paused" "resume again: nothing to do, exit 0"

# a pause written by patronictl's words is read as a pause
etcd_put $P/config "${CONFIG%\}},\"pause\":\"on\"}"
pghactl pause
is "$RC:$OUT" "0:Cluster is already paused" "\"pause\":\"on\" counts as paused"
pghactl resume
is "$(etcd_get $E $P/config)" "$CONFIG" "resume removes it"

# --- edit-config -------------------------------------------------------
pghactl edit-config --set ttl=40 --pg max_connections=200 --pg pg_stat_statements.max=1000 --force
show
is "$RC:$(tail -1 <<<"$OUT")" "0:Configuration changed" "edit-config --set --pg --force: written"
check "the diff shows the change" grep -qx -- '-  "ttl": 30,' <<<"$OUT"
check "the diff shows the new value" grep -qx -- '+  "ttl": 40,' <<<"$OUT"
cfg=$(etcd_get $E $P/config)
is "$(jq -c '[.ttl, .postgresql.parameters.max_connections, .postgresql.parameters["pg_stat_statements.max"]]' <<<"$cfg")" \
	"[40,200,1000]" "the new values are in the key (a GUC with a dot stays one name)"
is "$(jq -c 'del(.ttl) | del(.postgresql.parameters.max_connections) | del(.postgresql.parameters["pg_stat_statements.max"])' <<<"$cfg")" \
	"$(jq -c 'del(.ttl)' <<<"$CONFIG")" "every other field is kept"
pc=$(patronictl show-config)
check "patronictl show-config reads it" grep -qx 'ttl: 40' <<<"$pc"
check "patronictl sees the parameter" grep -qx '    max_connections: 200' <<<"$pc"

rev=$(mod_rev $P/config)
pghactl edit-config --set ttl=50 --dry-run
is "$RC" 0 "edit-config --dry-run: exit 0"
check "--dry-run shows the diff" grep -qx -- '+  "ttl": 50,' <<<"$OUT"
check "--dry-run shows the result" grep -q 'The new configuration would be' <<<"$OUT"
is "$(mod_rev $P/config)" "$rev" "--dry-run writes nothing"

pghactl edit-config --set ttl=40 --force
is "$RC:$OUT" "0:Not changed" "the same value: Not changed"

refused_edit() {	# DESCRIPTION MESSAGE ARGS...
	local what=$1 msg=$2
	shift 2
	pghactl edit-config --force "$@"
	if [ "$RC" = 6 ] && grep -qF -- "$msg" <<<"$ERR" && [ "$(mod_rev $P/config)" = "$rev" ]; then
		ok "edit-config refuses $what (6, nothing written)"
	else
		not_ok "edit-config refuses $what (6, nothing written)"
		show
	fi
}
refused_edit "ttl < loop_wait + 2 * retry_timeout" "ttl 20 is less than loop_wait + 2 * retry_timeout = 30" --set ttl=20
refused_edit "loop_wait=abc" '"loop_wait" must be an integer between 1 and 3600, not "abc"' --set loop_wait=abc
refused_edit "retry_timeout=0" '"retry_timeout" must be an integer between 1 and 3600, not 0' --set retry_timeout=0
refused_edit "pause=maybe" '"pause" must be true or false, not "maybe"' --set pause=maybe
refused_edit "synchronous_mode=quorum" '"synchronous_mode" must be true, false or "strict", not "quorum"' --set synchronous_mode=quorum
refused_edit "synchronous_node_count=0" '"synchronous_node_count" must be an integer between 1' --set synchronous_node_count=0
refused_edit "maximum_lag_on_failover=-1" '"maximum_lag_on_failover" must be an integer >= 0, not -1' --set maximum_lag_on_failover=-1
refused_edit "failsafe_mode=2" '"failsafe_mode" must be true or false, not 2' --set failsafe_mode=2
refused_edit "postgresql.parameters=5" '"postgresql.parameters" must be an object, not 5' --set postgresql.parameters=5
pghactl edit-config --set '=1' --force
is "$RC" 2 "edit-config --set without a path: usage error (2)"
pghactl edit-config --force
is "$RC" 2 "edit-config without a change: usage error (2)"

pghactl edit-config --set synchronous_mode=true --set failsafe_mode=off --pg max_connections=null --pg pg_stat_statements.max=null --force
is "$(etcd_get $E $P/config | jq -c '[.synchronous_mode, .failsafe_mode, (.postgresql.parameters | has("max_connections"))]')" \
	'[true,"off",false]' "null removes a setting; booleans as given (failsafe_mode true is refused: 110)"

echo '{"ttl":30,"loop_wait":10,"retry_timeout":10}' >"$TEST_TMP/small.json"
pghactl edit-config --replace "$TEST_TMP/small.json" --force
is "$RC:$(etcd_get $E $P/config)" '0:{"ttl":30,"loop_wait":10,"retry_timeout":10}' "edit-config --replace writes the file's object"
echo 'ttl: 30' >"$TEST_TMP/yaml.txt"
pghactl edit-config --replace "$TEST_TMP/yaml.txt" --force
is "$RC" 2 "--replace with a file that is not JSON: 2"
printf '%s' "$CONFIG" | ./pghactl --endpoints $E --scope $SCOPE edit-config --replace - --force >/dev/null 2>&1
is "$?:$(etcd_get $E $P/config)" "0:$CONFIG" "--replace - reads stdin"

# --- switchover refusals ---------------------------------------------------
refused_switchover() {	# DESCRIPTION MESSAGE ARGS...
	local what=$1 msg=$2 before
	shift 2
	before=$(mod_rev $P/failover)
	pghactl switchover --force "$@"
	if [ "$RC" = 6 ] && grep -qF -- "$msg" <<<"$ERR" && [ "$(mod_rev $P/failover)" = "$before" ]; then
		ok "switchover refused: $what (6, nothing written)"
	else
		not_ok "switchover refused: $what (6, nothing written)"
		show
	fi
}
refused_switchover "unknown candidate" 'No member named "pg9" is registered in the cluster.' --candidate pg9
refused_switchover "candidate is the leader" 'the candidate is the current leader' --candidate pg2
refused_switchover "--leader is not the leader" 'Member "pg2" holds the leader key' --leader pg1 --candidate pg3
etcd_put $P/members/pg3 "$(member pg3 replica running 60000000)"
refused_switchover "lagging candidate" 'Member "pg3" is 7712040 bytes behind the leader; maximum_lag_on_failover is 1048576.' --candidate pg3
etcd_put $P/members/pg3 "$(member pg3 replica starting 67712040)"
refused_switchover "candidate not running" 'is not a running replica on timeline 2' --candidate pg3
etcd_put $P/members/pg3 "$(member pg3 replica running 67712040)"
etcd_del $P/leader
refused_switchover "no leader" 'the cluster has no healthy leader to switch over from' --candidate pg3
etcd_put $P/leader pg2
etcd_put $P/failover '{"leader":"pg2","member":"pg1"}'
refused_switchover "another request pending" 'The failover key holds a switchover from "pg2" to "pg1".' --candidate pg3
etcd_put $P/failover '{}'
pghactl switchover --scheduled "2020-01-01T12:00+00:00" --force
is "$RC" 6 "a scheduled time in the past: refused (6)"
pghactl switchover --scheduled "next tuesday" --force
is "$RC" 2 "an unreadable time: usage error (2)"

# --- scheduled switchover and --cancel -----------------------------------
pghactl switchover --candidate pg3 --scheduled "2030-01-01 12:00+00:00" --force
show
is "$RC" 0 "scheduled switchover: exit 0, no wait"
is "$(etcd_get $E $P/failover)" '{"leader":"pg2","member":"pg3","scheduled_at":"2030-01-01T12:00:00+00:00"}' \
	"the failover key in Patroni's format, scheduled_at as Python's isoformat()"
pl=$(patronictl list $SCOPE)
check "patronictl list shows the scheduled switchover" grep -q 'Switchover scheduled at: 2030-01-01T12:00:00+00:00' <<<"$pl"
check "... from pg2" grep -qE '^ +from: pg2$' <<<"$pl"
check "... to pg3" grep -qE '^ +to: pg3$' <<<"$pl"
pghactl list
is "$OUT" "$pl" "pghactl list shows it as patronictl list does"
etcd_put $P/config "${CONFIG%\}},\"pause\":true}"
pghactl list
is "$OUT" "$(patronictl list $SCOPE)" "... also under \"Maintenance mode: on\""
etcd_put $P/config "$CONFIG"
refused_switchover "a scheduled one is pending" 'scheduled at 2030-01-01T12:00:00+00:00' --candidate pg1
pghactl switchover --cancel
is "$RC:$OUT" '0:Success: switchover from "pg2" to "pg3" scheduled at 2030-01-01T12:00:00+00:00 deleted' "switchover --cancel"
is "$(etcd_get $E $P/failover)" "{}" "the failover key is {} again, as Patroni leaves it"
pl=$(patronictl list $SCOPE)
check "patronictl list no longer shows it" not_grep 'Switchover scheduled' <<<"$pl"
pghactl switchover --cancel
is "$RC:$OUT" "0:No pending switchover or failover request" "--cancel with nothing pending: exit 0"

# patronictl's scheduled request (written to etcd after its REST call fails)
patronictl switchover --leader pg2 --candidate pg1 --scheduled 2031-06-01T08:30+02:00 --force $SCOPE >"$TEST_TMP/patronictl.out"
pat=$(etcd_get $E $P/failover)
note "patronictl wrote $pat"
is "$(jq -r .scheduled_at <<<"$pat")" "2031-06-01T08:30:00+02:00" "patronictl writes the same time format"
refused_switchover "patronictl's request is pending" 'from "pg2" to "pg1" scheduled at 2031-06-01T08:30:00+02:00' --candidate pg3
pghactl switchover --cancel
is "$RC:$(etcd_get $E $P/failover)" "0:{}" "pghactl cancels patronictl's request"
pghactl switchover --candidate pg1 --scheduled "2031-06-01T08:30+02:00" --force
is "$(etcd_get $E $P/failover)" "$pat" "pghactl writes what patronictl writes, byte for byte"
pghactl switchover --cancel

# --- immediate switchover: the wait, against a fake keeper ---------------
# the fake keeper moves only the leader key: every member a running replica
all_replicas() {
	for m in pg1 pg2 pg3; do etcd_put $P/members/$m "$(member $m replica running 67712040)"; done
}
all_replicas
# fake_keeper VALUE LEADER: once the failover key holds VALUE, put LEADER
# (none: leave it) in the leader key and clear the failover key
failover_is() { [ "$(etcd_get $E $P/failover)" = "$1" ]; }
fake_keeper() {
	local want=$1 leader=$2
	poll_until 10 failover_is "$want" || return 1
	sleep 0.3
	[ -n "$leader" ] && etcd_put $P/leader "$leader"
	etcd_put $P/failover '{}'
}
fake_keeper '{"leader":"pg2","member":"pg3"}' pg3 &
fk=$!
t0=$(date +%s%N)
pghactl switchover --candidate pg3 --force --timeout 10
wait $fk
show
is "$RC" 0 "switchover: exit 0 once the leader key names the candidate"
check "'Successfully switched over to \"pg3\"'" grep -qE '^[0-9-]+ [0-9:.]+ Successfully switched over to "pg3"$' <<<"$OUT"
note "noticed $((($(date +%s%N) - t0) / 1000000)) ms after the request (the fake keeper waits 300 ms)"

fake_keeper '{"leader":"pg3"}' pg1 &
fk=$!
pghactl switchover --force --timeout 10
wait $fk
is "$RC" 0 "switchover without --candidate: {\"leader\":\"pg3\"}, any new leader will do"
check 'Successfully switched over to "pg1"' grep -q 'Successfully switched over to "pg1"' <<<"$OUT"

fake_keeper '{"leader":"pg1","member":"pg2"}' pg3 &
fk=$!
pghactl switchover --candidate pg2 --force --timeout 10
wait $fk
is "$RC" 0 "another member took over: exit 0, as Patroni's api answers"
check 'it says "instead of"' grep -q 'Switched over to "pg3" instead of "pg2"' <<<"$OUT"

fake_keeper '{"leader":"pg3","member":"pg1"}' "" &
fk=$!
pghactl switchover --candidate pg1 --force --timeout 10
wait $fk
show
is "$RC" 6 "the keepers cleared the request and pg3 still leads: refused (6)"
check "it says the request was not carried out" grep -q 'switchover failed: the request was not carried out' <<<"$ERR"

t0=$(date +%s)
pghactl switchover --candidate pg1 --force --timeout 2
show
is "$RC" 7 "no new leader within --timeout: exit 7"
check "it names the current leader" grep -q 'after 2 s the leader key still names "pg3"' <<<"$ERR"
check "the wait is bounded by --timeout" test $(($(date +%s) - t0)) -le 4
is "$(etcd_get $E $P/failover)" '{"leader":"pg3","member":"pg1"}' "the request stays pending"
pghactl switchover --cancel

# --- failover ----------------------------------------------------------------
pghactl failover --candidate pg1
is "$RC" 6 "failover with a healthy leader: refused without --force"
check "it says so" grep -q 'failover refused: the cluster has a healthy leader' <<<"$ERR"
etcd_del $P/leader
etcd_put $P/members/pg3 "$(member pg3 master stopped 67712040)"
fake_keeper '{"member":"pg1"}' pg1 &
fk=$!
pghactl failover --candidate pg1 --timeout 10
wait $fk
show
is "$RC" 0 "failover without a leader: {\"member\":\"pg1\"}, exit 0"
check 'Successfully failed over to "pg1"' grep -q 'Successfully failed over to "pg1"' <<<"$OUT"
all_replicas
fake_keeper '{"leader":"pg1","member":"pg2"}' pg2 &
fk=$!
pghactl failover --candidate pg2 --force --timeout 10
wait $fk
is "$RC" 0 "forced failover from a healthy leader names that leader"

# --- the confirmation prompt (a terminal through script(1)) -------------
recorded_cluster
if command -v script >/dev/null; then
	rev=$(mod_rev $P/failover)
	out=$(printf 'maybe\nn\n' | script -qec "./pghactl --endpoints $E --scope $SCOPE switchover --candidate pg3" /dev/null 2>&1)
	rc=$?
	is "$rc" 8 "switchover answered no at the prompt: exit 8"
	check "patronictl's question" grep -q 'Are you sure you want to switchover cluster anchor, demoting current leader pg2? \[y/N\]' <<<"$out"
	check "the topology is shown first" grep -q 'Current cluster topology' <<<"$out"
	check "an unclear answer is asked again" grep -q 'Error: invalid input' <<<"$out"
	is "$(mod_rev $P/failover)" "$rev" "nothing written"
	out=$(printf 'y\n' | script -qec "./pghactl --endpoints $E --scope $SCOPE edit-config --set ttl=45" /dev/null 2>&1)
	rc=$?
	is "$rc:$(etcd_get $E $P/config | jq .ttl)" "0:45" "edit-config answered yes: written"
	out=$(printf 'anchor\nYes I am aware\npg1\n' | script -qec "./pghactl --endpoints $E --scope $SCOPE remove --force" /dev/null 2>&1)
	rc=$?
	is "$rc" 8 "remove: the wrong leader name at the third question: exit 8"
	check "patronictl's questions" grep -q 'please type: "Yes I am aware"' <<<"$out"
	is "$(nkeys)" 9 "nothing removed"
else
	note "script(1) not installed: prompts not tested"
fi

# --- history -----------------------------------------------------------------
recorded_cluster
pghactl history
is "$OUT" "$(patronictl history $SCOPE)" "history: the same table as patronictl history"
echo "$OUT" | sed 's/^/#   /'
etcd_put $P/history '[[1,100],[2,225972928,"no recovery target specified","2026-11-23T23:51:46.820394+00:00","pg1"],[3,235057144,"","2026-11-23T23:52:49+00:00"]]'
pghactl history
is "$OUT" "$(patronictl history $SCOPE)" "history with short entries: as patronictl pads them"
etcd_del $P/history
pghactl history
is "$RC:$OUT" "0:$(patronictl history $SCOPE)" "no history key: the header alone, as patronictl"
etcd_put $P/history 'not json'
pghactl history
is "$RC" 1 "an unreadable history key: exit 1"

# --- remove --------------------------------------------------------------
recorded_cluster
pghactl remove
is "$RC" 2 "remove without a terminal or --confirm: usage error (2)"
pghactl remove --confirm $SCOPE
is "$RC" 6 "remove of a live cluster: refused (6)"
check "it says what is live" grep -qF 'the leader key names "pg2"; members running: "pg1", "pg2", "pg3"' <<<"$ERR"
pghactl remove --confirm other --force
is "$RC:$(nkeys)" "8:9" "remove --confirm with another name: exit 8, nothing removed"
etcd_del $P/leader
for m in pg1 pg2 pg3; do etcd_put $P/members/$m "$(member $m replica stopped 67712040)"; done
pghactl remove --confirm $SCOPE
is "$RC:$(nkeys)" "0:0" "remove of a stopped cluster: every key deleted"
check "it says how many" grep -q 'Removed cluster "anchor": 8 keys deleted under /service/anchor/' <<<"$OUT"
pghactl list
is "$RC" 3 "then the cluster is not found (3)"
for c in pause history "switchover --force" "edit-config --set ttl=30 --force"; do
	pghactl $c
	is "$RC" 3 "$c on a missing cluster: 3"
done
recorded_cluster
pghactl remove --confirm $SCOPE --force
is "$RC:$(nkeys)" "0:0" "remove --force of a live cluster"

# --- etcd unreachable ----------------------------------------------------------
recorded_cluster
for c in pause resume history "switchover --candidate pg3 --force" "switchover --cancel" \
	"failover --force" "edit-config --set ttl=30 --force" "remove --confirm $SCOPE"; do
	out=$(./pghactl --endpoints $DEAD --scope $SCOPE $c 2>&1)
	rc=$?
	if [ "$rc" = 1 ] && grep -q "cannot reach etcd at $DEAD" <<<"$out"; then
		ok "etcd unreachable: $c exits 1 and names the endpoint"
	else
		not_ok "etcd unreachable: $c exits 1 and names the endpoint"
		echo "$out" | sed 's/^/#   /'
	fi
done

# --- usage ---------------------------------------------------------------------
pghactl switchover --timeout 0
is "$RC" 2 "--timeout 0: usage error"
pghactl history --force
is "$RC" 2 "an option the command does not take: usage error"
pghactl switchover --cancel --candidate pg1
is "$RC" 2 "--cancel with --candidate: usage error"
for c in pause resume switchover failover history remove edit-config; do
	out=$(./pghactl $c --help)
	rc=$?
	if [ "$rc" = 0 ] && grep -q "^Usage: pghactl \[OPTION\]... $c" <<<"$out"; then
		ok "$c --help"
	else
		not_ok "$c --help"
	fi
done
check "pghactl --help lists exit statuses 6, 7 and 8" \
	bash -c "./pghactl --help | grep -q '^  6  refused' && ./pghactl --help | grep -q '^  7  ' && ./pghactl --help | grep -q '^  8  '"

done_testing
