#!/bin/bash
# HAProxy (the Debian package) in front of a 3-node pgha cluster, configured
# as Patroni's documentation shows: a write port whose servers are checked
# with "OPTIONS /primary" against each node's REST api (pgha.api_listen),
# and a read-only port checked with "OPTIONS /replica", both with
# on-marked-down shutdown-sessions.  The writer of the workload
# (test/tools/pgha_workload) connects through the write port only, with no
# target_session_attrs: HAProxy alone decides where its writes go.
#
#   - the write port reaches the leader, the read-only port only replicas,
#     both of them in turn (balance roundrobin);
#   - a session on a server HAProxy marks down is cut at once (the api
#     worker of the leader is stopped for a moment: postgres itself stays
#     healthy, so only HAProxy can end the session; logged with 'D');
#   - failover (the leader's node killed): the writer's writes reach the new
#     leader within the failover time plus HAProxy's check interval, and
#     a session to the dead leader ends; the time is measured and printed;
#   - the old leader, back as a replica, is behind the read-only port again;
#   - switchover (pghactl): writes go to the new leader, the old leader's
#     sessions end, and it is behind the read-only port again;
#   - the writer reached a read-only server only while HAProxy still had the
#     old leader up after a switchover (it rejoins before fall x inter), lost at most the commits
#     asynchronous replication may lose on a node kill, and no two nodes
#     accepted writes at once.
#
# HAProxy runs as the test's user (postgres) on 127.0.0.1 ports above 1024,
# in the foreground (-db) in the background, logging to a file; it is
# stopped by its PID.  Its state is read from its stats socket (a unix
# socket in the test's directory).
set -u
cd "$(dirname "$0")/../.."
CLUSTER_SCOPE=haproxy
CLUSTER_PG_BASE=27400	# nodes 27401-27403
CLUSTER_ETCD_PORT=25100	# etcd 25100-25101, forwarders 25102-25104
API_BASE=27410			# REST api 27411-27413
HAP_WRITE=27420			# HAProxy's write port
HAP_READ=27421			# HAProxy's read-only port
. test/cluster.sh

E=$CLUSTER_E
api_port() { echo $((API_BASE + ${1#n})); }
HAP_CFG=$TEST_TMP/haproxy.cfg
HAP_SOCK=$TEST_TMP/haproxy.sock
HAP_LOG=$TEST_TMP/haproxy.log
HAP_PID=
API_STOPPED=	# an api worker the test stopped: resumed at exit whatever happens
trap '[ -n "$API_STOPPED" ] && kill -CONT "$API_STOPPED" 2>/dev/null; cluster_cleanup' EXIT

eval "orig_$(declare -f cluster_write_conf)"
cluster_write_conf() {
	orig_cluster_write_conf "$@"
	echo "pgha.api_listen = '127.0.0.1:$(api_port "$1")'" >>"$TEST_TMP/$1.conf"
}

# The configuration of Patroni's documentation (its examples/haproxy.cfg
# and the REST api page), with short check intervals so that the test is
# quick: inter 1s fall 2 rise 1 and timeout check 1s, where Patroni's
# example has inter 3s fall 3 rise 2 and timeout check 5s.  A server is
# then marked down 2-3 s after its api stops saying 200 and up at most
# about 1 s after it starts to.
# one server line per node: postgres' port, checked on the node's api
hap_servers() {
	local n
	for n in n1 n2 n3; do
		echo "    server $n 127.0.0.1:$(node_port "$n") maxconn 100 check port $(api_port "$n")"
	done
}
write_haproxy_cfg() {
	{
		cat <<EOF
global
    maxconn 100
    stats socket $HAP_SOCK mode 600 level admin
    log stdout format iso local0

defaults
    log global
    mode tcp
    option tcplog
    retries 2
    timeout client 30m
    timeout connect 4s
    timeout server 30m
    timeout check 1s

listen pg_write
    bind 127.0.0.1:$HAP_WRITE
    option httpchk OPTIONS /primary
    http-check expect status 200
    default-server inter 1s fall 2 rise 1 on-marked-down shutdown-sessions
EOF
		hap_servers
		cat <<EOF

listen pg_read
    bind 127.0.0.1:$HAP_READ
    balance roundrobin
    option httpchk OPTIONS /replica
    http-check expect status 200
    default-server inter 1s fall 2 rise 1 on-marked-down shutdown-sessions
EOF
		hap_servers
	} >"$HAP_CFG"
}

start_haproxy() {
	haproxy -c -q -f "$HAP_CFG" || return 1
	haproxy -db -f "$HAP_CFG" >>"$HAP_LOG" 2>&1 </dev/null &
	HAP_PID=$!
	cleanup_pid "$HAP_PID"
	poll_until 10 test -S "$HAP_SOCK"
}

# hap_up PROXY: the servers HAProxy sends new sessions to (status UP, also
# "UP 1/2" while a failing check has not yet reached fall), sorted
hap_up() {
	echo "show stat" | socat -t 2 - "UNIX-CONNECT:$HAP_SOCK" 2>/dev/null |
		awk -F, -v px="$1" '$1 == px && $2 != "FRONTEND" && $2 != "BACKEND" && $18 ~ /^UP/ { print $2 }' |
		sort | paste -sd' '
}
# hap_up_is PROXY "n1 n3": exactly those servers are up
hap_up_is() { [ "$(hap_up "$1")" = "$2" ]; }
hap_states() {
	echo "show stat" | socat -t 2 - "UNIX-CONNECT:$HAP_SOCK" 2>/dev/null |
		awk -F, '$1 ~ /^pg_/ && $2 ~ /^n/ { printf "%s/%s=%s ", $1, $2, $18 }'
}

# hap_events PROXY AFTER_MS: HAProxy's "Server PROXY/nI is UP|DOWN" lines
# logged after AFTER_MS, as "+<ms after AFTER_MS> nI UP|DOWN (reason)"
hap_events() {
	local ts rest ms
	grep -E "^[0-9-]+T[0-9:.]+\+00:00 Server $1/n[0-9] is (UP|DOWN)" "$HAP_LOG" |
		while read -r ts rest; do
			ms=$(date -d "$ts" +%s%3N)
			[ "$ms" -gt "$2" ] || continue
			echo "+$((ms - $2))ms $(sed -E 's/^Server [a-z_]+\/(n[0-9]) is (UP|DOWN)(, reason: ([^,]*))?.*/\1 \2 \4/' <<<"$rest")"
		done | paste -sd';'
}

# hsql PORT SQL: one value through HAProxy
hsql() {
	PGCONNECT_TIMEOUT=2 "$PGBIN/psql" -X -h 127.0.0.1 -p "$1" -U postgres -d postgres -Atq \
		-F ' ' -c "$2" 2>/dev/null
}
# name of the node listening on a postgres port
port_node() { echo "n$(($1 - CLUSTER_PG_BASE))"; }
# write_lands_on NODE: a new session through the write port is on NODE, a primary
write_lands_on() { [ "$(hsql $HAP_WRITE "SELECT pg_is_in_recovery(), inet_server_port()")" = "f $(node_port "$1")" ]; }
others() { for n in n1 n2 n3; do [ "$n" != "$1" ] && [ "$n" != "${2:-}" ] && echo "$n"; done; }
sorted() { printf '%s\n' "$@" | sort | paste -sd' '; }

# read_sample COUNT: COUNT sessions through the read-only port, one line
# each: "<node> <in recovery>"; sets READ_SEEN (the nodes, sorted, unique)
# and READ_PRIMARY (how many sessions were on a primary or failed)
read_sample() {
	local i out nodes=() bad=0
	for i in $(seq "$1"); do
		out=$(hsql $HAP_READ "SELECT pg_is_in_recovery(), inet_server_port()")
		if [[ $out =~ ^t\ ([0-9]+)$ ]]; then
			nodes+=("$(port_node "${BASH_REMATCH[1]}")")
		else
			bad=$((bad + 1))
			echo "#   session $i through the read-only port: '$out'"
		fi
	done
	READ_SEEN=$(printf '%s\n' ${nodes[@]+"${nodes[@]}"} | sort -u | paste -sd' ')
	READ_PRIMARY=$bad
	note "read-only port, $1 sessions: on ${nodes[*]:-nothing}"
}

# check_read_port REPLICAS: the read-only port routes to exactly these
# (sorted) replicas, every session in recovery, each of them reached
check_read_port() {
	expect "HAProxy's read-only port has exactly $1 up" poll_until 15 hap_up_is pg_read "$1" ||
		note "HAProxy: $(hap_states)"
	read_sample 6
	is "$READ_PRIMARY" 0 "read-only port: 6 sessions, every one on a server in recovery"
	is "$READ_SEEN" "$1" "read-only port: the sessions went to both replicas ($1) in turn"
}

# a session through the write port that sits in pg_sleep; its pid in SLEEPER
start_sleeper() {
	PGCONNECT_TIMEOUT=2 "$PGBIN/psql" -X -h 127.0.0.1 -p $HAP_WRITE -U postgres -d postgres -Atq \
		-c "SELECT 'sleeper $1', pg_sleep(300)" >"$TEST_TMP/sleeper-$1.out" 2>&1 &
	SLEEPER=$!
	cleanup_pid "$SLEEPER"
}
# the session is in pg_sleep on NODE
sleeping_on() {
	[ "$(node_sql "$1" "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT ''sleeper $2''%'")" = 1 ]
}
gone() { ! kill -0 "$1" 2>/dev/null; }
# wait_gone PID SECONDS: the client ended; sets GONE_MS (when it was seen gone)
wait_gone() {
	poll_until "$2" gone "$1" || return 1
	GONE_MS=$(cluster_now_ms)
	wait "$1" 2>/dev/null
	cluster_forget_pid "$1"
}

# first_ack_on NODE AFTER_MS: when the writer's first write after AFTER_MS
# was acknowledged by NODE (empty: none yet)
first_ack_on() {
	awk -v p="$(node_port "$1")" -v t="$2" '$1 == "ack" && $4 > t && $5 == p { print $4; exit }' \
		"$WORKLOAD_DIR/writer.log"
}
acked_on_after() { [ -n "$(first_ack_on "$1" "$2")" ]; }
last_ack_before() {
	awk -v t="$1" '$1 == "ack" && $4 <= t { a = $4 } END { print a }' "$WORKLOAD_DIR/writer.log"
}

# ms_after MS T0: MS - T0 in ms, or "none" when MS is empty
ms_after() { if [ -n "$1" ]; then echo "$(($1 - $2)) ms"; else echo none; fi; }
first_probe_ack() { awk -v t="$2" '$1 == "w" && $3 > t { print $3; exit }' "$WORKLOAD_DIR/probe-$1.log"; }
last_probe_ack() { awk '$1 == "w" { a = $3 } END { print a }' "$WORKLOAD_DIR/probe-$1.log"; }

# --- the cluster and HAProxy ---------------------------------------------------
cluster_start 3 || bail_out "the cluster did not start"
expect "3 nodes: one primary, two streaming replicas" cluster_wait_healthy 90 ||
	bail_out "the cluster is not healthy"
L=$(cluster_leader)
read -r R1 R2 <<<"$(others "$L" | paste -sd' ')"
note "leader $L, replicas $R1 $R2"

write_haproxy_cfg
sed 's/^/#   /' "$HAP_CFG"
check "haproxy starts with Patroni's checks" start_haproxy ||
	bail_out "haproxy did not start: $(tail -5 "$HAP_LOG")"
# HAProxy starts every server as up; the checks then mark down the ones
# whose api says 503
expect "HAProxy's write port has exactly the leader $L up" poll_until 15 hap_up_is pg_write "$L" ||
	note "HAProxy: $(hap_states)"
is "$(hsql $HAP_WRITE "SELECT pg_is_in_recovery(), inet_server_port()")" "f $(node_port "$L")" \
	"a session through the write port is on the leader $L, not in recovery"
check_read_port "$(sorted "$R1" "$R2")"

# --- on-marked-down shutdown-sessions ----------------------------------------
# The leader's api worker is stopped (SIGSTOP): HAProxy's checks time out,
# it marks the leader down and cuts the session it holds to it, while
# postgres and its backend are fine.  Then the api worker goes on.
start_sleeper 1
expect "a session through the write port sleeps on $L" poll_until 10 sleeping_on "$L" 1
pm=$(node_postmaster_pid "$L")
api_pid=
for p in $(pgrep -P "$pm"); do
	tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q 'pgha api' && api_pid=$p
done
if [ -n "$api_pid" ]; then
	t0=$(cluster_now_ms)
	API_STOPPED=$api_pid
	kill -STOP "$api_pid"
	expect "with $L's api stopped, HAProxy marks it down" poll_until 10 hap_up_is pg_write ""
	if expect "and cuts the session through the write port (on-marked-down shutdown-sessions)" \
		wait_gone "$SLEEPER" 10; then
		note "session cut $((GONE_MS - t0)) ms after $L's api stopped answering"
	fi
	check "HAProxy logged it with termination code D (server down)" \
		poll_until 5 grep -qE ' pg_write pg_write/'"$L"' .* D[-A-Z] ' "$HAP_LOG"
	grep ' pg_write/' "$HAP_LOG" | tail -2 | sed 's/^/#   /'
	kill -CONT "$api_pid"
	API_STOPPED=
	expect "with its api answering again, the leader is back behind the write port" \
		poll_until 10 hap_up_is pg_write "$L"
else
	not_ok "the api worker of $L found among the postmaster's children"
fi

# --- failover: the leader's node killed ----------------------------------------
# the writer goes through HAProxy's write port only (no target_session_attrs)
cluster_workload_start 120 "host=127.0.0.1 port=$HAP_WRITE user=postgres dbname=postgres connect_timeout=1"
expect "the writer's commits through the write port are acknowledged" cluster_wait_writes 100 15
check "the writer's writes land on the leader $L" acked_on_after "$L" 0
start_sleeper 2
expect "a second session through the write port sleeps on $L" poll_until 10 sleeping_on "$L" 2

old=$L
t0=$(cluster_now_ms)
cluster_kill_node "$old"
note "node $old killed (watchdog, postmaster and children)"
expect "a new leader takes writes within ttl + 5 s" cluster_wait_leader $((CLUSTER_TTL + 5)) "$old" ||
	bail_out "no leader"
L=$CLUSTER_NEW_LEADER
if expect "the writer's writes through the write port reach $L within 10 s" \
	poll_until 10 acked_on_after "$L" "$t0"; then
	t_hap=$(first_ack_on "$L" "$t0")
	t_last=$(last_ack_before "$t0")
	# when $L took its first write: its own probe's, or when the test saw it writable
	t_w=$(first_probe_ack "$L" "$t0")
	[ -n "$t_w" ] || t_w=$CLUSTER_LEADER_MS
	note "failover: $L took its first write $((t_w - t0)) ms after the kill; the writer's first write through HAProxy was acknowledged by $L $((t_hap - t0)) ms after the kill, $((t_hap - t_w)) ms after $L was writable; the writer's outage $((t_hap - t_last)) ms"
	check "HAProxy sent the writer to $L within 5 s of $L becoming writable (check interval 1 s, rise 1)" \
		test $((t_hap - t_w)) -le 5000
	check "writes reached $L through HAProxy within ttl + 10 s of the kill" \
		test $((t_hap - t0)) -le $(((CLUSTER_TTL + 10) * 1000))
fi
expect "HAProxy's write port has exactly $L up" poll_until 10 hap_up_is pg_write "$L" ||
	note "HAProxy: $(hap_states)"
check "the session to the dead leader $old was cut" wait_gone "$SLEEPER" 10
note "failover: HAProxy's write port: $(hap_events pg_write "$t0")"
check "a new session through the write port is on $L" write_lands_on "$L"

# --- the old leader rejoins: behind the read-only port again -------------------
R=$(others "$L" "$old")
cluster_restart_node "$old"
expect "$old is back as a replica streaming from $L within 45 s" cluster_wait_streaming "$old" 45
expect "the cluster is whole again" cluster_wait_healthy 30
check_read_port "$(sorted "$old" "$R")"

# --- switchover: to the replica that was not the leader ------------------------
start_sleeper 3
expect "a third session through the write port sleeps on $L" poll_until 10 sleeping_on "$L" 3
prev=$L
t0=$(cluster_now_ms)
SW_T0=$t0
./pghactl --endpoints "$E" --scope "$CLUSTER_SCOPE" switchover --leader "$prev" --candidate "$R" \
	--force --timeout 30 2>&1 | sed 's/^/#   /'
is "$(cluster_leader)" "$R" "pghactl switchover: the leader key names $R"
L=$R
if expect "the writer's writes through the write port reach $L within 10 s" \
	poll_until 10 acked_on_after "$L" "$t0"; then
	t_hap=$(first_ack_on "$L" "$t0")
	t_last=$(awk -v p="$(node_port "$prev")" '$1 == "ack" && $5 == p { a = $4 } END { print a }' \
		"$WORKLOAD_DIR/writer.log")
	note "switchover: the writer's first write through HAProxy acknowledged by $L $((t_hap - t0)) ms after pghactl switchover began; its last on $prev $((t_last - t0)) ms; the writer's outage $((t_hap - t_last)) ms"
fi
expect "HAProxy's write port has exactly $L up" poll_until 10 hap_up_is pg_write "$L" ||
	note "HAProxy: $(hap_states)"
check "the session to the old leader $prev was cut" wait_gone "$SLEEPER" 10
note "switchover: HAProxy's write port: $(hap_events pg_write "$t0")"
note "switchover: $prev's last write (its probe) $(ms_after "$(last_probe_ack "$prev")" "$t0"), $L's first $(ms_after "$(first_probe_ack "$L" "$t0")" "$t0") after pghactl switchover began"
check "a new session through the write port is on $L" write_lands_on "$L"
expect "the old leader $prev streams from $L" cluster_wait_healthy 40
check_read_port "$(sorted "$old" "$prev")"
cluster_wait_writes 50 10

# --- the writer's verdict ------------------------------------------------------
cluster_verdict 5
# When HAProxy marked the old leader down on the write port after the
# switchover (epoch ms; 0 if never).  Until then it may send a new session
# to that node, which rejoins as a replica in ~1.4 s, sooner than fall x
# inter (2 s here): such a session gets "read-only transaction" and the
# writer retries.  Outside that window no session may reach a replica.
prev_down_ms=$(grep -E "^[0-9-]+T[0-9:.]+\+00:00 Server pg_write/$prev is DOWN" "$HAP_LOG" |
	while read -r ts _; do ms=$(date -d "$ts" +%s%3N); [ "$ms" -gt "$SW_T0" ] && echo "$ms" && break; done)
ro_in=$(awk -v a="$SW_T0" -v b="${prev_down_ms:-0}" '$1 == "err" && /read-only transaction/ && $3 >= a && $3 <= b' \
	"$WORKLOAD_DIR/writer.log" | wc -l)
ro_out=$(awk -v a="$SW_T0" -v b="${prev_down_ms:-0}" '$1 == "err" && /read-only transaction/ && ($3 < a || $3 > b)' \
	"$WORKLOAD_DIR/writer.log" | wc -l)
note "read-only errors while HAProxy still had the rejoined old leader $prev up: $ro_in"
is "$ro_out" 0 "the writer was never sent to a server in recovery outside HAProxy's fall window (no read-only errors)"
note "writer: $(grep -c '^ack ' "$WORKLOAD_DIR/writer.log") acknowledged, $(grep -c '^err ' "$WORKLOAD_DIR/writer.log") failed attempts"
note "acknowledged by port: $(awk '$1 == "ack" { c[$5]++ } END { for (p in c) printf "%s=%d ", p, c[p] }' "$WORKLOAD_DIR/writer.log")"

stop_pid "$HAP_PID"
check "haproxy stopped by its pid" gone "$HAP_PID"
done_testing
