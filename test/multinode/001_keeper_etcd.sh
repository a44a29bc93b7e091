#!/bin/bash
# The keeper against a real etcd and real postgres servers: one primary
# takes the leader key with Patroni's keys and values, a streaming standby
# publishes itself as a replica, pghactl and patronictl both list them,
# and a dead, hung or garbage-speaking etcd is reported without a crash.
set -u
cd "$(dirname "$0")/../.."
. test/lib.sh

E=http://127.0.0.1:23711
PROXY=23713
GARBAGE=23714
SCOPE=t1
P=/service/$SCOPE

start_etcd e1 23711 23712 || { not_ok "etcd starts"; done_testing; exit 1; }

# the nodes reach etcd through a forwarder the test can freeze
start_forwarder $PROXY 23711
FWD=$FORWARDER

common=(
	"pgha.scope = '$SCOPE'"
	"pgha.etcd_endpoints = 'http://127.0.0.1:$PROXY'"
	"pgha.ttl = 10" "pgha.loop_wait = 2" "pgha.retry_timeout = 3"
	"wal_level = replica" "max_wal_senders = 5" "hot_standby = on"
)
pg_node n1 25431 "${common[@]}" "pgha.node_name = 'n1'" "pgha.connect_address = '127.0.0.1:25431'"
pg_start "$PGDATA_n1" && ok "primary n1 starts with pgha preloaded" || not_ok "primary n1 starts"

status() { psql_at 25431 "SELECT $1 FROM pgha_status()"; }
psql_at 25431 "CREATE EXTENSION pgha" >/dev/null

leader_is_n1() { [ "$(status "role || '/' || coalesce(leader, '')")" = "primary/n1" ]; }
start=$(date +%s%N)
check "n1 becomes leader within one loop" poll_until 5 leader_is_n1
note "leader after $((($(date +%s%N) - start) / 1000000)) ms"

# keys exactly as Patroni writes them
sysid=$("$PGBIN/pg_controldata" "$PGDATA_n1" | sed -n 's/^Database system identifier: *//p')
is "$(etcd_get $E $P/leader)" "n1" "leader key holds the member name"
is "$(etcd_get $E $P/initialize)" "$sysid" "initialize key holds the system identifier"
member=$(etcd_get $E $P/members/n1)
is "$(jq -r '[.conn_url, .state, .role, (.timeline|tostring)] | join(" ")' <<<"$member")" \
	"postgres://127.0.0.1:25431/postgres running master 1" "member key in Patroni's format"
# Patroni's fields in Patroni's order, then pgha's instance identity (safety
# rule 6), a field that Patroni and patronictl ignore
is "$(jq -r 'keys_unsorted | join(",")' <<<"$member")" \
	"conn_url,state,role,version,xlog_location,timeline,pgha_instance" "member key fields in Patroni's order, then pgha_instance"
check "pgha_instance is 16 hex digits" jq -e '.pgha_instance | test("^[0-9a-f]{16}$")' <<<"$member"
is "$(jq -c . <<<"$(etcd_get $E $P/config)")" \
	'{"ttl":10,"loop_wait":2,"retry_timeout":3,"maximum_lag_on_failover":1048576}' "config key from the bootstrap values"
check "status key carries the leader optime" jq -e '.optime > 0' <<<"$(etcd_get $E $P/status)"
lease_leader=$(etcd_lease_of $E $P/leader)
lease_member=$(etcd_lease_of $E $P/members/n1)
check "leader and member keys share one lease" test "$lease_leader" = "$lease_member" -a "$lease_leader" != 0
ttl=$(curl -s -XPOST $E/v3/lease/timetolive -d "{\"ID\":\"$lease_leader\"}" | jq -r .grantedTTL)
is "$ttl" "9" "the lease is granted for ttl - 1 s (expiry checks every 0.5 s: gone within ttl)"

# a streaming standby: its keeper publishes a replica and never takes the key
"$PGBIN/pg_basebackup" -D "$TEST_TMP/pg-n2" -h 127.0.0.1 -p 25431 -U postgres -R -X stream >/dev/null 2>&1
CLEANUP_DATADIRS+=("$TEST_TMP/pg-n2")
sed -i -e "s/^port = 25431/port = 25432/" -e "s/^pgha.node_name = 'n1'/pgha.node_name = 'n2'/" \
	-e "s/^pgha.connect_address = '127.0.0.1:25431'/pgha.connect_address = '127.0.0.1:25432'/" \
	"$TEST_TMP/pg-n2/postgresql.conf"
pg_start "$TEST_TMP/pg-n2" && ok "standby n2 starts" || not_ok "standby n2 starts"
n2_listed() { [ "$(etcd_get $E $P/members/n2 | jq -r '.role + "/" + .state')" = "replica/running" ]; }
check "standby publishes itself as a running replica" poll_until 10 n2_listed
is "$(psql_at 25432 "SELECT role || '/' || state || '/' || leader FROM pgha_status()")" \
	"replica/following/n1" "standby's pgha_status() says replica following n1"
is "$(etcd_get $E $P/leader)" "n1" "the leader key did not move"

# tags: pgha.nofailover and pgha.failover_priority, published as Patroni does
echo "pgha.nofailover = on" >>"$TEST_TMP/pg-n2/postgresql.conf"
echo "pgha.failover_priority = 5" >>"$TEST_TMP/pg-n2/postgresql.conf"
psql_at 25432 "SELECT pg_reload_conf()" >/dev/null
tagged() { [ "$(etcd_get $E $P/members/n2 | jq -c .tags)" = '{"nofailover":true,"failover_priority":5}' ]; }
check "a reload publishes the member's tags" poll_until 10 tagged
sed -i "/^pgha.nofailover/d; /^pgha.failover_priority/d" "$TEST_TMP/pg-n2/postgresql.conf"
psql_at 25432 "SELECT pg_reload_conf()" >/dev/null
untagged() { [ "$(etcd_get $E $P/members/n2 | jq -c .tags)" = null ]; }
check "and takes them back" poll_until 10 untagged

# pghactl and patronictl both read the cluster
list=$(./pghactl --endpoints $E --scope $SCOPE list 2>&1)
echo "$list" | sed 's/^/#   /'
check "pghactl list shows n1 as Leader" grep -qE '^\| n1 +\| 127\.0\.0\.1:25431 \| Leader +\| running' <<<"$list"
check "pghactl list shows n2 as Replica" grep -qE '^\| n2 +\| 127\.0\.0\.1:25432 \| Replica +\| running' <<<"$list"
cat >"$TEST_TMP/patroni.yml" <<YML
scope: $SCOPE
namespace: /service/
etcd3:
  hosts: 127.0.0.1:23711
YML
plist=$(patronictl -c "$TEST_TMP/patroni.yml" list 2>&1)
echo "$plist" | sed 's/^/#   /'
check "patronictl list shows n1 as Leader" grep -qE '^\| n1 +\| 127\.0\.0\.1:25431 \| Leader +\| running' <<<"$plist"
check "patronictl list shows n2 as Replica" grep -qE '^\| n2 +\| 127\.0\.0\.1:25432 \| Replica +\| running' <<<"$plist"
is "$(psql_at 25431 "SELECT string_agg(member || ':' || role, ',') FROM pgha_members()")" \
	"n1:Leader,n2:Replica" "pgha_members() agrees"

postmaster_pid=$(head -1 "$PGDATA_n1/postmaster.pid")

# etcd hung (forwarder frozen): reported within loop_wait + retry_timeout
forwarder_signal STOP $FWD
t0=$(date +%s%N)
lost() { [ "$(status state)" = "etcd unreachable" ]; }
check "a hung etcd is reported" poll_until 12 lost
note "hung etcd reported after $((($(date +%s%N) - t0) / 1000000)) ms (loop_wait 2 + retry_timeout 3)"
check "last_error names the problem" grep -q "etcd" <<<"$(status last_error)"
forwarder_signal CONT $FWD
back() { [ "$(status state)" = "leading" ] && [ -z "$(status last_error)" ]; }
check "contact is back after the hang" poll_until 10 back

# etcd down (forwarder gone): reported at once through the watch
forwarder_signal KILL $FWD
t0=$(date +%s%N)
check "a dead etcd is reported" poll_until 6 lost
note "dead etcd reported after $((($(date +%s%N) - t0) / 1000000)) ms"
start_forwarder $PROXY 23711
FWD=$FORWARDER
check "contact is back after etcd returns" poll_until 10 back

# etcd answering garbage: an error, no crash
cat >"$TEST_TMP/garbage.sh" <<'SH'
# read one HTTP request, answer 200 with truncated JSON
len=0
while IFS= read -r line; do
	line=${line%$'\r'}
	[ -z "$line" ] && break
	case ${line,,} in content-length:*) len=${line#*: } ;; esac
done
head -c "$len" >/dev/null
printf 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 12\r\n\r\n{"kvs":[{"ke'
SH
start_forwarder $GARBAGE - SYSTEM:"bash $TEST_TMP/garbage.sh"
sed -i "s|^pgha.etcd_endpoints = .*|pgha.etcd_endpoints = 'http://127.0.0.1:$GARBAGE'|" "$PGDATA_n1/postgresql.conf"
psql_at 25431 "SELECT pg_reload_conf()" >/dev/null
garbage() { grep -q "protocol error" <<<"$(status last_error)"; }
check "a garbage answer is reported as an error" poll_until 10 garbage
note "last_error: $(status last_error)"
sed -i "s|^pgha.etcd_endpoints = .*|pgha.etcd_endpoints = 'http://127.0.0.1:$PROXY'|" "$PGDATA_n1/postgresql.conf"
psql_at 25431 "SELECT pg_reload_conf()" >/dev/null
check "contact is back after the reload" poll_until 10 back
is "$(head -1 "$PGDATA_n1/postmaster.pid")" "$postmaster_pid" "the postmaster survived every fault"
check "no process crashed" bash -c "! grep -E 'terminated by signal|was terminated|server process .* exited' '$PGDATA_n1/server.log'"

# a clean stop keeps the leader key (the lease expires; nothing is revoked)
pg_stop "$TEST_TMP/pg-n2"
pg_stop "$PGDATA_n1"
is "$(etcd_get $E $P/leader)" "n1" "after a clean stop the leader key is still there"
check "the keeper said it stopped" grep -q "pgha keeper stopped" "$PGDATA_n1/server.log"
gone() { [ -z "$(etcd_get $E $P/leader)" ]; }
check "the leader key expires with the lease" poll_until 15 gone

done_testing
