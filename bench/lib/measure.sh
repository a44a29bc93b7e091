#!/bin/bash
# bench/lib/measure.sh: one measurement of bench/compare, in a process of its
# own (sourced after test/cluster.sh and one system's hooks, never run).
# Each prints one "result ..." line on stdout; details go to stderr.
#
#   bench_fault_run FAULT   a fresh cluster, the workload, one fault
#   bench_idle_run SECONDS  a fresh cluster left alone, sampled per node
#   bench_pgbench_run       a fresh cluster, pgbench on the leader
#
# In the idle run every node reaches etcd through its own counting forwarder
# (bench/lib/countproxy.py instead of socat), so the etcd requests of one
# node are counted where they leave it.  The fault runs keep the socat
# forwarders of test/cluster.sh, as bench/failover does: a Python proxy on a
# busy 2-core machine would add its own latency to every etcd request.

bench_counting_forwarder() {
	setsid python3 "$CLUSTER_ROOT/bench/lib/countproxy.py" "$1" "$2" "$TEST_TMP/fwd-$1.count" \
		</dev/null >>"$TEST_TMP/fwd-$1.log" 2>&1 &
	CLEANUP_GROUPS+=("$!")
	FORWARDER=$!
	disown "$!"
	poll_until 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" || echo "# forwarder on $1 did not listen" >&2
}

bench_fail() {
	echo "result failed=${1// /-} tmp=$TEST_TMP"
	TAP_FAILED=1		# keep the files for a look
	cluster_dump >&2
	exit 1
}

sync_key_standby() { cluster_etcd_get "/service/$CLUSTER_SCOPE/sync" | jq -r '.sync_standby // empty' 2>/dev/null; }

# the sync key names a standby that the leader's pg_stat_replication calls "sync"
bench_sync_published() {
	local l s
	l=$(cluster_leader)
	s=$(sync_key_standby)
	[ -n "$l" ] && [ -n "$s" ] &&
		[ "$(node_sql "$l" "SELECT sync_state FROM pg_stat_replication WHERE application_name = '$s'")" = sync ]
}

bench_cluster_up() {
	cluster_start 3 || bench_fail "cluster_start"
	cluster_wait_healthy 90 >&2 || bench_fail "not healthy at the start"
	if [ "$BENCH_SYNC" = 1 ]; then
		bench_sync_on || bench_fail "synchronous mode could not be set"
		poll_until 30 bench_sync_published || bench_fail "no synchronous standby published"
	fi
}

bench_fault_run() {
	local fault=$1 old new t0 cand leader_ms=- back_ms=-
	bench_cluster_up
	old=$(cluster_leader)
	cluster_workload_start 150
	cluster_wait_writes 200 15 || bench_fail "the writer did not write"

	t0=$(cluster_now_ms)
	case $fault in
		switchover)
			if [ "$BENCH_SYNC" = 1 ]; then
				cand=$(sync_key_standby)
			else
				cand=$(for n in n1 n2 n3; do [ "$n" != "$old" ] && echo "$n"; done | head -1)
			fi
			bench_switchover "$old" "$cand" >&2 || bench_fail "switchover failed" ;;
		stop) cluster_stop_node "$old" nowait ;;
		crash) cluster_kill_postmaster "$old" ;;
		kill) cluster_kill_node "$old" ;;
		cutoff) cluster_cut_etcd "$old" STOP ;;
	esac
	if [ "$fault" = crash ]; then
		cluster_wait_leader $((CLUSTER_TTL + 30)) || bench_fail "no leader"
	else
		cluster_wait_leader $((CLUSTER_TTL + 30)) "$old" || bench_fail "no new leader"
	fi
	new=$CLUSTER_NEW_LEADER
	leader_ms=$((CLUSTER_LEADER_MS - t0))

	case $fault in
		stop) cluster_wait_stopped "$old" 60 && cluster_restart_node "$old" ;;
		kill) cluster_restart_node "$old" ;;
		cutoff) cluster_restore_etcd "$old" ;;
	esac
	if [ "$new" = "$old" ]; then
		back_ms=stays
	elif cluster_wait_streaming "$old" 90; then
		back_ms=$((CLUSTER_STREAM_MS - t0))
	else
		back_ms=timeout
	fi
	cluster_wait_writes 100 10
	cluster_workload_stop
	cluster_check 1000000 >&2
	[ -n "$CHECK_ACKED" ] || bench_fail "the checker did not run"
	echo "result outage_ms=$CHECK_OUTAGE_MS leader_ms=$leader_ms back_ms=$back_ms" \
		"lost=$CHECK_LOST split=$CHECK_SPLIT acked=$CHECK_ACKED old=$old new=$new"
	if [ "$back_ms" = timeout ]; then
		TAP_FAILED=1
		cluster_dump >&2
	fi
}

# cpu_ticks PID...: utime + stime + cutime + cstime (the reaped children of a
# supervisor, such as the commands a script forks, count as its own)
cpu_ticks() {
	local p s t=0 f
	for p in "$@"; do
		s=$(cat "/proc/$p/stat" 2>/dev/null) || continue
		s=${s##*) }
		read -r -a f <<<"$s"
		# fields 14-17 of stat; index 0 here is field 3
		t=$((t + f[11] + f[12] + f[13] + f[14]))
	done
	echo "$t"
}

# rss_kb PID...: VmRSS and RssAnon summed, "RSS ANON"
rss_kb() {
	local p r=0 a=0 v
	for p in "$@"; do
		v=$(awk '/^VmRSS:/ { print $2 }' "/proc/$p/status" 2>/dev/null) && r=$((r + ${v:-0}))
		v=$(awk '/^RssAnon:/ { print $2 }' "/proc/$p/status" 2>/dev/null) && a=$((a + ${v:-0}))
	done
	echo "$r $a"
}

fwd_total() { awk '$1 == "total" { print $2 }' "$TEST_TMP/fwd-$(node_fwd_port "$1").count" 2>/dev/null || echo 0; }

leader_mod_revision() {
	local k
	k=$(printf %s "/service/$CLUSTER_SCOPE/leader" | base64 -w0)
	curl -sf -m 2 -XPOST "$CLUSTER_E/v3/kv/range" -d "{\"key\":\"$k\"}" | jq -r '.kvs[0].mod_revision // "0"'
}

# bench_idle_run SECONDS: per node "idle node=.. role=.. cycles=.. reqs=..
# cpu_ticks=.. rss_kb=.. anon_kb=..", then "result secs=.. leader_writes=..
# leader_changed=.."
bench_idle_run() {
	local secs=$1 n t0 t1 l0 l1 r0 r1 hz role
	declare -A pids=() c0=() q0=() k0=()
	hz=$(getconf CLK_TCK)
	start_forwarder() { bench_counting_forwarder "$@"; }
	bench_cluster_up
	for n in n1 n2 n3; do bench_cycle_setup "$n"; done
	# startup chatter (clones, first slots, sync standby) settles first
	sleep 15
	l0=$(cluster_leader)
	r0=$(leader_mod_revision)
	for n in n1 n2 n3; do
		pids[$n]=$(bench_agent_pids "$n" | tr '\n' ' ')
		c0[$n]=$(bench_cycles "$n")
		q0[$n]=$(fwd_total "$n")
		k0[$n]=$(cpu_ticks ${pids[$n]})
	done
	t0=$(date +%s%N)
	sleep "$secs"
	t1=$(date +%s%N)
	r1=$(leader_mod_revision)
	l1=$(cluster_leader)
	for n in n1 n2 n3; do
		role=replica
		[ "$n" = "$l1" ] && role=leader
		echo "idle node=$n role=$role ns=$((t1 - t0)) hz=$hz cycles=$(($(bench_cycles "$n") - c0[$n]))" \
			"reqs=$(($(fwd_total "$n") - q0[$n])) cpu_ticks=$(($(cpu_ticks ${pids[$n]}) - k0[$n]))" \
			"rss_anon_kb=$(rss_kb ${pids[$n]} | tr ' ' ,) pids=${pids[$n]// /,}"
		echo "# $n forwarder counts: $(tr '\n' ' ' <"$TEST_TMP/fwd-$(node_fwd_port "$n").count" 2>/dev/null)" >&2
	done
	echo "result secs=$secs leader_writes=$((r1 - r0)) leader_before=$l0 leader_after=$l1"
}

# bench_pgbench_run: scale 10, -c4 -j2, BENCH_PGBENCH_SECS (30) on the leader
bench_pgbench_run() {
	local l port out tps
	if [ "${BENCH_SYSTEM}" = none ]; then
		plain_start || bench_fail "plain cluster did not start"
		poll_until 30 plain_healthy || bench_fail "plain replicas do not stream"
		l=n1
	else
		bench_cluster_up
		l=$(cluster_leader)
	fi
	port=$(node_port "$l")
	"$PGBIN/pgbench" -h 127.0.0.1 -p "$port" -U postgres -i -s 10 -q postgres >&2 2>&1 ||
		bench_fail "pgbench -i failed"
	# the replicas have the tables before the clock starts
	sleep 3
	out=$("$PGBIN/pgbench" -h 127.0.0.1 -p "$port" -U postgres -c 4 -j 2 -T "${BENCH_PGBENCH_SECS:-30}" postgres 2>&1)
	echo "$out" | sed 's/^/# /' >&2
	tps=$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time).*/\1/p' <<<"$out")
	[ -n "$tps" ] || bench_fail "pgbench gave no tps"
	echo "result tps=$tps leader=$l"
}
