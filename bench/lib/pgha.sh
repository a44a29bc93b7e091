#!/bin/bash
# bench/lib/pgha.sh: the bench hooks for a pgha cluster of test/cluster.sh
# (sourced after it, never run): the same hooks as bench/lib/patroni.sh.

PGHACTL=${PGHACTL:-$CLUSTER_ROOT/pghactl}
BENCH_SYNC=${BENCH_SYNC:-0}

pghactl_bench() { "$PGHACTL" --endpoints "$CLUSTER_E" --scope "$CLUSTER_SCOPE" "$@"; }

# bench_switchover OLD CANDIDATE: a planned switchover, as an operator asks it
bench_switchover() {
	pghactl_bench switchover --leader "$1" --candidate "$2" --force --timeout 60
}

# bench_agent_pids NAME: the watchdog and the keeper (a background worker
# without a database connection is not in pg_stat_activity: found by its
# process title among the postmaster's children)
bench_agent_pids() {
	local pm
	[ -n "${NODE_WD[$1]:-}" ] && echo "${NODE_WD[$1]}"
	pm=$(node_postmaster_pid "$1") && pgrep -P "$pm" -f 'pgha keeper'
}

# the keeper rewrites its heartbeat file (by rename) once per loop
bench_cycle_setup() {
	setsid python3 "$CLUSTER_ROOT/bench/lib/filecount.py" "$(node_data "$1")" pgha.heartbeat \
		"$TEST_TMP/cycles-$1.count" </dev/null >/dev/null 2>&1 &
	CLEANUP_PIDS+=("$!")
}
bench_cycles() { cat "$TEST_TMP/cycles-$1.count" 2>/dev/null || echo 0; }

# bench_sync_on: synchronous mode through the config key, as an operator sets it
bench_sync_on() { pghactl_bench edit-config --set synchronous_mode=true >/dev/null; }
