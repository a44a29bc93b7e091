#!/bin/bash
# The REST api ("pgha api" worker) on a real 3-node cluster, as HAProxy,
# patronictl and Prometheus use it: every endpoint's status code on the
# leader and on a replica, the bodies' keys against Patroni 3's, /metrics'
# names, PATCH /config, a switchover through POST /switchover (its write
# outage measured by the workload), a scheduled one cancelled by DELETE,
# restart (now, scheduled, cancelled, refused), reload and reinitialize,
# basic authentication, TLS with a required client certificate (node n3),
# and hostile input: oversized headers and bodies, slow clients (while the
# keeper's loop goes on), bad JSON, unknown paths; patronictl switchover
# through the api; the worker never crashes.
set -u
cd "$(dirname "$0")/../.."
CLUSTER_PG_BASE=26300
CLUSTER_ETCD_PORT=24800
CLUSTER_SCOPE=api
API_BASE=26310
CLUSTER_EXTRA_CONF=("pgha.api_username = 'admin'" "pgha.api_password = 'secret'")
. test/cluster.sh

E=$CLUSTER_E
P=/service/$CLUSTER_SCOPE
api_port() { echo $((API_BASE + ${1#n})); }
TLS=$TEST_TMP/tls

# n3 serves https and requires a client certificate signed by the test's CA
make_certs() {
	mkdir -p "$TLS" && cd "$TLS" || return 1
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=pgha-test-ca \
		-keyout ca.key -out ca.crt 2>/dev/null &&
		openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout server.key \
			-out server.csr 2>/dev/null &&
		printf 'subjectAltName=IP:127.0.0.1\n' >san.ext &&
		openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
			-days 2 -extfile san.ext -out server.crt 2>/dev/null &&
		openssl req -newkey rsa:2048 -nodes -subj /CN=client -keyout client.key \
			-out client.csr 2>/dev/null &&
		openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
			-days 2 -out client.crt 2>/dev/null
	local rc=$?
	cd - >/dev/null
	return $rc
}
check "openssl makes a CA, a server and a client certificate" make_certs

eval "orig_$(declare -f cluster_write_conf)"
cluster_write_conf() {
	orig_cluster_write_conf "$@"
	echo "pgha.api_listen = '127.0.0.1:$(api_port "$1")'" >>"$TEST_TMP/$1.conf"
	if [ "$1" = n3 ]; then
		{
			echo "pgha.api_certfile = '$TLS/server.crt'"
			echo "pgha.api_keyfile = '$TLS/server.key'"
			echo "pgha.api_cafile = '$TLS/ca.crt'"
			echo "pgha.api_verify_client = required"
		} >>"$TEST_TMP/$1.conf"
	fi
}

# curl against NODE's api; n3 with TLS and the client certificate
acurl() {
	local n=$1
	shift
	if [ "$n" = n3 ]; then
		curl -s -m 10 --cacert "$TLS/ca.crt" --cert "$TLS/client.crt" --key "$TLS/client.key" \
			"$@" 2>/dev/null
	else
		curl -s -m 10 "$@" 2>/dev/null
	fi
}
url() { if [ "$1" = n3 ]; then echo "https://127.0.0.1:$(api_port n3)$2"; else echo "http://127.0.0.1:$(api_port "$1")$2"; fi; }
# code METHOD NODE PATH [curl args]: the status code
code() {
	local m=$1 n=$2 p=$3
	shift 3
	case $m in
	HEAD) acurl "$n" -I -o /dev/null -w '%{http_code}' "$@" "$(url "$n" "$p")" ;;
	*) acurl "$n" -X "$m" -o /dev/null -w '%{http_code}' "$@" "$(url "$n" "$p")" ;;
	esac
}
body() { acurl "$1" "$(url "$1" "$2")"; }
AUTH=(-u admin:secret -H 'Content-Type: application/json')

cluster_start 3 || { not_ok "the cluster starts"; done_testing; exit 1; }
check "three nodes bootstrap and stream" cluster_wait_healthy 90
cluster_ensure_extension "$(cluster_leader)"
L=$(cluster_leader)
R=$(for n in n1 n2; do [ "$n" != "$L" ] && echo "$n"; done | head -1)
[ "$L" = n3 ] || [ "$R" = n3 ] || true
note "leader $L, replica $R"

# --- member keys: api_url as Patroni writes it -------------------------------
for n in n1 n2 n3; do
	scheme=http
	[ "$n" = n3 ] && scheme=https
	is "$(etcd_get "$E" "$P/members/$n" | jq -r .api_url)" "$scheme://127.0.0.1:$(api_port "$n")/patroni" \
		"member key of $n: api_url"
done

# --- status codes: leader and replica (Patroni 3's, PATRONI-OBSERVED.md) ------
for ep in / /primary /master /read-write /leader /read-only /health /patroni /liveness /readiness \
	/cluster /history /config /metrics /read-only-sync; do
	is "$(code GET "$L" "$ep")" 200 "leader $L: GET $ep 200"
done
for ep in /replica /standby-leader /sync /synchronous /async /asynchronous; do
	is "$(code GET "$L" "$ep")" 503 "leader $L: GET $ep 503"
done
for m in OPTIONS HEAD; do
	is "$(code $m "$L" /primary)" 200 "leader $L: $m /primary 200 (HAProxy's check)"
	is "$(code $m "$L" /replica)" 503 "leader $L: $m /replica 503"
	is "$(code $m "$R" /replica)" 200 "replica $R: $m /replica 200"
	is "$(code $m "$R" /primary)" 503 "replica $R: $m /primary 503"
done
for ep in /replica /read-only /health /patroni /liveness /readiness /async /asynchronous \
	'/replica?lag=16MB' '/replica?replication_state=streaming' '/replica?tag_nofailover=false' \
	'/read-only?lag=1MB'; do
	is "$(code GET "$R" "$ep")" 200 "replica $R: GET $ep 200"
done
for ep in / /primary /master /read-write /leader /standby-leader /sync /synchronous \
	'/replica?tag_nofailover=true' '/replica?tag_zone=a' '/replica?replication_state=other'; do
	is "$(code GET "$R" "$ep")" 503 "replica $R: GET $ep 503"
done
is "$(code GET "$L" /nothing-here)" 404 "an unknown path: 404"
is "$(code GET "$L" '/replica?lag=garbage')" 503 "an unparsable lag is no limit (the leader is still no replica)"

# --- bodies: Patroni's keys --------------------------------------------------
B=$(body "$L" /patroni)
is "$(jq -c 'keys_unsorted' <<<"$B")" \
	'["state","postmaster_start_time","role","server_version","xlog","timeline","replication","dcs_last_seen","database_system_identifier","patroni"]' \
	"leader /patroni: Patroni's keys in Patroni's order"
is "$(jq -r '.role + " " + .state' <<<"$B")" "master running" "leader /patroni: role master, state running"
is "$(jq -r '.replication | map(.application_name) | sort | join(",")' <<<"$B")" \
	"$(for n in n1 n2 n3; do [ "$n" != "$L" ] && echo "$n"; done | paste -sd,)" \
	"leader /patroni: replication lists both replicas"
is "$(jq -c '.replication[0] | keys_unsorted' <<<"$B")" \
	'["usename","application_name","client_addr","state","sync_state","sync_priority"]' "replication rows: Patroni's keys"
is "$(jq -r .database_system_identifier <<<"$B")" "$(etcd_get "$E" "$P/initialize")" \
	"database_system_identifier is the initialize key"
B=$(body "$R" /patroni)
is "$(jq -c '.xlog | keys_unsorted' <<<"$B")" '["received_location","replayed_location","replayed_timestamp","paused"]' \
	"replica /patroni: xlog's keys"
is "$(jq -r '.role + " " + .patroni.scope' <<<"$B")" "replica $CLUSTER_SCOPE" "replica /patroni: role, scope"
B=$(body "$R" /cluster)
is "$(jq -r '.members | map(.name + ":" + .role) | join(" ")' <<<"$B")" \
	"$(for n in n1 n2 n3; do [ "$n" = "$L" ] && echo "$n:leader" || echo "$n:replica"; done | paste -sd' ')" \
	"/cluster: members sorted, the leader's role 'leader'"
is "$(jq -c '.members[] | select(.role == "replica") | keys_unsorted' <<<"$B" | head -1)" \
	'["name","role","state","api_url","host","port","timeline","lag"]' "/cluster: a replica's keys as Patroni's"
is "$(body "$R" /config | jq -r .ttl)" "$(etcd_get "$E" "$P/config" | jq -r .ttl)" "/config: the config key"
check "/history: a JSON array" test "$(body "$L" /history | jq -r type)" = array
M=$(body "$L" /metrics)
missing=""
for name in patroni_version patroni_postgres_running patroni_postmaster_start_time patroni_master \
	patroni_primary patroni_xlog_location patroni_standby_leader patroni_replica patroni_sync_standby \
	patroni_xlog_received_location patroni_xlog_replayed_location patroni_xlog_replayed_timestamp \
	patroni_xlog_paused patroni_postgres_server_version patroni_cluster_unlocked \
	patroni_failsafe_mode_is_active patroni_postgres_timeline patroni_dcs_last_seen \
	patroni_pending_restart patroni_is_paused pgha_fence_deadline_margin_seconds \
	pgha_keeper_cycle_seconds pgha_etcd_request_last_seconds pgha_keeper_cycles_total; do
	grep -q "^$name[{ ]" <<<"$M" || missing+=" $name"
done
is "$missing" "" "/metrics: Patroni's metric names and pgha's"
check "/metrics: patroni_primary 1 on the leader" grep -q "^patroni_primary{scope=\"$CLUSTER_SCOPE\"} 1$" <<<"$M"

# --- TLS on n3: a client certificate is required ------------------------------
is "$(code GET n3 /health)" 200 "n3 over https with the client certificate: 200"
curl -s -m 5 --cacert "$TLS/ca.crt" -o /dev/null "https://127.0.0.1:$(api_port n3)/health"
rc=$?
check "n3 over https without a client certificate: no answer (curl exit $rc)" test "$rc" -ne 0
curl -s -m 5 -o /dev/null "http://127.0.0.1:$(api_port n3)/health"
rc=$?
check "n3 over plain http: refused (curl exit $rc)" test "$rc" -ne 0

# --- authentication and bad input ---------------------------------------------
is "$(code POST "$R" /switchover -d '{"leader":"x"}')" 401 "POST /switchover without credentials: 401"
is "$(code POST "$R" /switchover -u admin:wrong -d '{"leader":"x"}')" 401 "POST /switchover with a wrong password: 401"
is "$(code PATCH "$R" /config -u nobody:secret -d '{"ttl":30}')" 401 "PATCH /config with a wrong user: 401"
is "$(code POST "$R" /switchover "${AUTH[@]}" -d '{"leader": ')" 400 "POST /switchover with bad JSON: 400"
is "$(code POST "$R" /switchover "${AUTH[@]}" -d '[1,2]')" 400 "POST /switchover with a JSON array: 400"
is "$(code PATCH "$R" /config "${AUTH[@]}" -d '{"ttl": tru}')" 400 "PATCH /config with bad JSON: 400"
is "$(code PATCH "$R" /config "${AUTH[@]}" -d '{"loop_wait":"often"}')" 400 "PATCH /config with an invalid loop_wait: 400 (edit-config's checks)"
is "$(code POST "$R" /switchover "${AUTH[@]}" -d "{\"leader\":\"$R\",\"candidate\":\"$L\"}")" 412 \
	"POST /switchover from a member that is not the leader: 412"
is "$(code POST "$R" /switchover "${AUTH[@]}" -d "{\"leader\":\"$L\",\"candidate\":\"nobody\"}")" 412 \
	"POST /switchover to an unknown candidate: 412"
is "$(code DELETE "$R" /switchover "${AUTH[@]}")" 404 "DELETE /switchover with none scheduled: 404"
is "$(code GET "$R" /patroni -H "X-Big: $(head -c 40000 /dev/zero | tr '\0' a)")" 431 \
	"a 40 kB header: 431"
big=$(head -c 100000 /dev/zero | tr '\0' a)
c=$(code POST "$R" /switchover "${AUTH[@]}" -d "{\"leader\":\"$big\"}")
check "a 100 kB body: 413 (got $c)" test "$c" = 413
c=$(code POST "$R" /switchover "${AUTH[@]}" -H 'Transfer-Encoding: chunked' -d "{\"leader\":\"$big\"}")
check "a 100 kB chunked body: 413 (got $c)" test "$c" = 413

# --- PATCH /config: Patroni's merge, null deletes, CAS ------------------------
is "$(acurl "$R" -X PATCH "${AUTH[@]}" -d '{"postgresql":{"parameters":{"work_mem":"8MB"}}}' "$(url "$R" /config)" | jq -r .postgresql.parameters.work_mem)" \
	8MB "PATCH /config answers the merged config"
is "$(etcd_get "$E" "$P/config" | jq -r .postgresql.parameters.work_mem)" 8MB "the config key has it"
acurl "$R" -X PATCH "${AUTH[@]}" -d '{"postgresql":{"parameters":{"work_mem":null}}}' "$(url "$R" /config)" >/dev/null
is "$(etcd_get "$E" "$P/config" | jq -r .postgresql.parameters.work_mem)" null "PATCH with null removes it"

# --- a scheduled switchover, cancelled ----------------------------------------
at=$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%S+00:00)
T=$(acurl "$R" -X POST "${AUTH[@]}" -w ' %{http_code}' -d "{\"leader\":\"$L\",\"candidate\":\"$R\",\"scheduled_at\":\"$at\"}" "$(url "$R" /switchover)")
is "$T" "Switchover scheduled 202" "POST /switchover with scheduled_at: 202 'Switchover scheduled'"
check "/cluster shows the scheduled switchover" poll_until 5 sh -c \
	"curl -s http://127.0.0.1:$(api_port "$R")/cluster | jq -e '.scheduled_switchover.to == \"$R\"'"
T=$(acurl "$R" -X DELETE "${AUTH[@]}" -w ' %{http_code}' "$(url "$R" /switchover)")
is "$T" "scheduled switchover deleted 200" "DELETE /switchover: 200 'scheduled switchover deleted'"
is "$(etcd_get "$E" "$P/failover")" "{}" "the failover key is {} again"

# --- restart, reload, reinitialize: the keeper's requests (issue 11 item 4) ----
pm_start() { body "$1" /patroni | jq -r .postmaster_start_time; }
op() { acurl "$1" -X "$2" "${AUTH[@]}" -w ' %{http_code}' ${4:+-d "$4"} "$(url "$1" "$3")"; }
is "$(code POST "$R" /reload)" 401 "POST /reload without credentials: 401"
is "$(op "$R" POST /reload)" "reload scheduled 202" "POST /reload: 202 'reload scheduled'"
is "$(op "$R" DELETE /restart)" "no restarts are scheduled 404" "DELETE /restart with none scheduled: 404"
is "$(op "$R" POST /restart '{"role":"leader"}')" "PostgreSQL role should be either primary or replica 400" \
	"POST /restart with a bad role: 400 (Patroni's message)"
is "$(code POST "$R" /restart "${AUTH[@]}" -d '{"timeout":30}')" 400 "POST /restart with a timeout: 400 (not supported, said so)"
is "$(code POST "$R" /restart "${AUTH[@]}" -d '{"when":1}')" 400 "POST /restart with an unknown filter: 400"
at=$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%S+00:00)
is "$(op "$R" POST /restart "{\"schedule\":\"$at\"}")" "Restart scheduled 202" "POST /restart with a schedule: 202"
is "$(op "$R" POST /restart "{\"schedule\":\"$at\"}")" "Another restart is already scheduled 409" "a second schedule: 409"
is "$(op "$R" DELETE /restart)" "scheduled restart deleted 200" "DELETE /restart: 200 'scheduled restart deleted'"
is "$(op "$L" POST /reinitialize)" "I am the leader, can not reinitialize 503" "POST /reinitialize on the leader: 503"
is "$(op "$R" POST /restart '{"restart_pending":true}')" "restart conditions are not satisfied 503" \
	"POST /restart restart_pending with nothing pending: 503"
check "/metrics has patroni_pending_restart" sh -c "curl -s $(url "$R" /metrics) | grep -q '^patroni_pending_restart{'"
t0=$(pm_start "$R")
is "$(op "$R" POST /restart)" "restart initiated 200" "POST /restart on replica $R: 200 'restart initiated'"
restarted() { local t; t=$(pm_start "$R"); [ -n "$t" ] && [ "$t" != null ] && [ "$t" != "$t0" ]; }
check "$R's postgres restarted (a new postmaster_start_time)" poll_until 90 restarted
check "the cluster is whole again after the restart" cluster_wait_healthy 60

# --- slow clients: the api and the keeper go on --------------------------------
SLOW=$(api_port "$R")
slow_client() {
	exec 3<>"/dev/tcp/127.0.0.1/$SLOW" || return
	printf 'GET /health HTTP/1.1\r\nHost: x\r\n' >&3
	for _ in $(seq 30); do sleep 1; printf 'X-Slow: %d\r\n' "$RANDOM" >&3 2>/dev/null || break; done
	exec 3>&-
}
cycles() { body "$R" /metrics | sed -n 's/^pgha_keeper_cycles_total{[^}]*} //p'; }
c0=$(cycles)
for _ in $(seq 10); do slow_client & cleanup_pid $!; done
sleep 1
check "10 slow clients: /health still answers 200 within 1 s, for 5 s" holds_for 5 \
	sh -c "[ \"\$(curl -s -m 1 -o /dev/null -w '%{http_code}' http://127.0.0.1:$SLOW/health)\" = 200 ]"
c1=$(cycles)
note "keeper cycles during the slow clients: $c0 -> $c1"
check "the keeper's loop went on (at least 2 cycles in 6 s at loop_wait $CLUSTER_LOOP_WAIT)" test $((c1 - c0)) -ge 2
max=$(body "$R" /metrics | sed -n 's/^pgha_keeper_cycle_max_seconds{[^}]*} //p')
note "longest keeper cycle so far: $max s"
check "no keeper cycle took longer than retry_timeout" awk -v m="$max" -v r="$CLUSTER_RETRY_TIMEOUT" 'BEGIN { exit !(m < r) }'
check "the slow clients are cut off by the 10 s timeout" poll_until 20 sh -c \
	"! ss -tn state established '( sport = :$SLOW )' | grep -q 127.0.0.1"

# --- a switchover through POST /switchover, under the workload ----------------
# first pghactl's, as the baseline on this machine now, and back
leader_is() { [ "$(cluster_leader)" = "$1" ]; }
cluster_workload_start 40
check "the writer's commits are acknowledged" cluster_wait_writes 100 15
./pghactl --endpoints "$E" --scope $CLUSTER_SCOPE switchover --leader "$L" --candidate "$R" --force --timeout 60 >/dev/null 2>&1
check "pghactl switchover to $R (baseline)" poll_until 20 leader_is "$R"
check "the cluster is whole again" cluster_wait_healthy 40
sleep 2
cluster_verdict 0
BASE_MS=${CHECK_OUTAGE_MS:-0}
./pghactl --endpoints "$E" --scope $CLUSTER_SCOPE switchover --leader "$R" --candidate "$L" --force --timeout 60 >/dev/null 2>&1
check "pghactl switchover back to $L" poll_until 20 leader_is "$L"
check "the cluster is whole again" cluster_wait_healthy 40
cluster_workload_start 40
check "the writer's commits are acknowledged" cluster_wait_writes 100 15
t0=$(date +%s%N)
T=$(acurl "$R" -X POST "${AUTH[@]}" -w ' %{http_code}' -d "{\"leader\":\"$L\",\"candidate\":\"$R\"}" "$(url "$R" /switchover)")
note "POST /switchover to $R's api answered after $((($(date +%s%N) - t0) / 1000000)) ms: $T"
is "$T" "Successfully switched over to \"$R\" 200" "POST /switchover: 200 'Successfully switched over to \"$R\"'"
is "$(cluster_leader)" "$R" "the leader key names $R"
check "the cluster is whole again" cluster_wait_healthy 40
sleep 2
cluster_verdict 0
check "the switchover's write outage is pgha's: $CHECK_OUTAGE_MS ms, pghactl's $BASE_MS ms (at most 1000 ms more)" \
	test "${CHECK_OUTAGE_MS:-99999}" -le $((BASE_MS + 1000))
is "$(code GET "$R" /primary)" 200 "the new leader $R: /primary 200"
poll_until 10 sh -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' $(url "$L" /replica))\" = 200 ]"
is "$(code GET "$L" /replica)" 200 "the old leader $L: /replica 200"

# --- the same through the leader's own api (it shuts down to hand over) -------
O=$L
L=$R
T=$(acurl "$L" -X POST "${AUTH[@]}" -w ' %{http_code}' -d "{\"leader\":\"$L\",\"candidate\":\"$O\"}" "$(url "$L" /switchover)")
note "POST /switchover to the leader's own api: $T"
check "it answers 200 or 202 before the leader's postgres stops (got '$T')" grep -Eq ' (200|202)$' <<<"$T"
check "the leader key names $O" poll_until 20 leader_is "$O"
check "the cluster is whole again" cluster_wait_healthy 60
check "$L's api answers again after its restart" poll_until 20 sh -c \
	"[ \"\$(curl -s -o /dev/null -w '%{http_code}' $(url "$L" /health))\" = 200 ]"

# --- patronictl switchover goes through the REST api (not the DCS fallback) ---
L=$(cluster_leader)
C=$(for n in n1 n2 n3; do [ "$n" != "$L" ] && echo "$n"; done | head -1)
# patronictl gives its TLS files to every pool, which plain http refuses
{
	printf 'scope: %s\nnamespace: /service/\netcd3:\n  hosts: 127.0.0.1:%s\nctl:\n  auth: admin:secret\n' \
		"$CLUSTER_SCOPE" "$CLUSTER_ETCD_PORT"
	[ "$L" = n3 ] && printf '  cacert: %s\n  certfile: %s\n  keyfile: %s\n' \
		"$TLS/ca.crt" "$TLS/client.crt" "$TLS/client.key"
} >"$TEST_TMP/patroni.yml"
OUT=$(patronictl -c "$TEST_TMP/patroni.yml" switchover --leader "$L" --candidate "$C" --force 2>&1)
echo "$OUT" | grep -v "^[+|]" | sed 's/^/#   /'
check "patronictl switchover $L -> $C: through the api (no DCS fallback)" \
	grep -Eq "Successfully switched over to \"$C\"|Switchover to \"$C\" started" <<<"$OUT"
is "$(grep -c 'falling back to DCS' <<<"$OUT")" 0 "patronictl did not fall back to the DCS"
check "the leader key names $C" poll_until 20 leader_is "$C"
check "the cluster is whole again" cluster_wait_healthy 60

# --- the worker never crashed -------------------------------------------------
crashed=$(grep -l "terminated by signal\|was terminated by exception" "$TEST_TMP"/pg-*.log 2>/dev/null)
is "$crashed" "" "no server log says a process was terminated by a signal"
is "$(grep -h "pgha api" "$TEST_TMP"/pg-*.log | grep -c "exited with exit code")" 0 "no api worker exited with an error"

done_testing
