#!/bin/bash
# test/lib.sh: helpers for the shell test suites (sourced, never run).
#
# Servers (etcd, postgres) are started by the test and stopped by PID at
# exit, whatever happens: every start registers its PID for cleanup.
# Only 127.0.0.1 addresses are used.  Output is TAP: "ok N - what" /
# "not ok N - what", then "1..N"; test/run-all.sh counts those lines.

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
TEST_TMP=$(mktemp -d "${TMPDIR:-/tmp}/pgha-test.XXXXXX")
TAP_N=0
TAP_FAILED=0
CLEANUP_PIDS=()
CLEANUP_DATADIRS=()
CLEANUP_GROUPS=()
declare -A CLEANUP_START=()	# pid -> its start time, when it was registered

# proc_started PID: the process's start time (field 22 of /proc/PID/stat,
# clock ticks since boot); fails when there is no such process
proc_started() {
	local s f
	{ read -r s <"/proc/$1/stat"; } 2>/dev/null || return 1
	s=${s##*) }
	read -r -a f <<<"$s"
	echo "${f[19]}"
}

# cleanup_pid PID / cleanup_group PGID: stop it at exit, remembering which
# process it is.  Tests run side by side (chaos runs on other ports) and
# pids wrap fast: a pid or group id of ours that ended may be another run's
# by the time we clean up, and must not be signalled then.
cleanup_pid() {
	CLEANUP_PIDS+=("$1")
	CLEANUP_START[$1]=$(proc_started "$1")
}
cleanup_group() {
	CLEANUP_GROUPS+=("$1")
	CLEANUP_START[$1]=$(proc_started "$1")
}

# pid_ours PID: PID is still the process registered under that number (or
# was registered without a start time, as older tests do).  For a group id
# the leader is checked: while any process of our group lives, the number
# cannot be given to a new process, so a live process with that pid and
# another start time means our group is gone and the number reused.
pid_ours() {
	local now
	now=$(proc_started "$1") || return 0	# gone: signalling it reaches nothing
	[ -z "${CLEANUP_START[$1]:-}" ] || [ "${CLEANUP_START[$1]}" = "$now" ]
}

cleanup() {
	local d p
	for d in "${CLEANUP_DATADIRS[@]}"; do
		# only a live postmaster of this data directory: a stale
		# postmaster.pid may name a pid that now belongs to someone else
		p=$(head -1 "$d/postmaster.pid" 2>/dev/null)
		[ -n "$p" ] && [ "/proc/$p/cwd" -ef "$d" ] &&
			"$PGBIN/pg_ctl" -D "$d" stop -m immediate -w >/dev/null 2>&1
	done
	for p in "${CLEANUP_GROUPS[@]}"; do
		pid_ours "$p" || continue
		kill -CONT -- "-$p" 2>/dev/null
		kill -TERM -- "-$p" 2>/dev/null
	done
	local live=()
	for p in "${CLEANUP_PIDS[@]}"; do
		pid_ours "$p" && kill -0 "$p" 2>/dev/null || continue
		live+=("$p")
		kill -CONT "$p" 2>/dev/null
		kill -TERM "$p" 2>/dev/null
	done
	for p in ${live[@]+"${live[@]}"}; do
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		pid_ours "$p" && kill -KILL "$p" 2>/dev/null
	done
	if [ "${PGHA_KEEP_TMP:-}" = "" ] && [ "$TAP_FAILED" -eq 0 ]; then
		rm -rf "$TEST_TMP"
	else
		echo "# test files kept in $TEST_TMP" >&2
	fi
}
trap cleanup EXIT

note() { echo "# $*"; }

ok() {
	TAP_N=$((TAP_N + 1))
	echo "ok $TAP_N - $1"
}

not_ok() {
	TAP_N=$((TAP_N + 1))
	TAP_FAILED=$((TAP_FAILED + 1))
	echo "not ok $TAP_N - $1"
}

# check DESCRIPTION COMMAND...: ok when the command succeeds
check() {
	local what=$1
	shift
	if "$@"; then ok "$what"; else not_ok "$what"; fi
}

# is GOT EXPECTED DESCRIPTION
is() {
	if [ "$1" = "$2" ]; then
		ok "$3"
	else
		not_ok "$3"
		echo "#   got:      '$1'"
		echo "#   expected: '$2'"
	fi
}

done_testing() {
	echo "1..$TAP_N"
	[ "$TAP_FAILED" -eq 0 ]
}

# now_us: microseconds of the wall clock, read without a fork (bash 5)
now_us() { echo "${EPOCHREALTIME/./}"; }

# poll_gap START_US NOW_US END_US: the pause before the next poll, as sleep's
# argument, in POLL_GAP: 0.1 s for the first 2 s, 0.25 s up to 10 s, then
# 0.5 s (a long wait, for a ttl or a failover, costs a fifth of the polls:
# a poll is a psql or curl fork and a backend, and the multinode lanes had
# the two CPUs busy with them), never past END_US (the last poll is at the
# deadline)
poll_gap() {
	local gap=100000
	if [ $(($2 - $1)) -ge 10000000 ]; then
		gap=500000
	elif [ $(($2 - $1)) -ge 2000000 ]; then
		gap=250000
	fi
	[ $(($3 - $2)) -lt "$gap" ] && gap=$(($3 - $2))
	printf -v POLL_GAP '0.%06d' "$gap"
}

# poll_until SECONDS COMMAND...: retry (see poll_gap) until the command
# succeeds; false if it did not within SECONDS
poll_until() {
	local start end now
	start=${EPOCHREALTIME/./}
	end=$((start + $1 * 1000000))
	shift
	while :; do
		"$@" >/dev/null 2>&1 && return 0
		now=${EPOCHREALTIME/./}
		[ "$now" -lt "$end" ] || return 1
		poll_gap "$start" "$now" "$end"
		sleep "$POLL_GAP"
	done
}

# holds_for SECONDS COMMAND...: the command succeeds at every poll (each
# 0.1 s) for SECONDS; fails at the first poll where it does not.  For
# negatives ("nothing happens"): the bad event is watched for all along,
# not looked for once after a sleep.
holds_for() {
	local end
	end=$((${EPOCHREALTIME/./} + $1 * 1000000))
	shift
	while [ "${EPOCHREALTIME/./}" -lt "$end" ]; do
		"$@" >/dev/null 2>&1 || return 1
		sleep 0.1
	done
	"$@" >/dev/null 2>&1
}

# start_etcd NAME CLIENT_PORT PEER_PORT: a one-member etcd; sets ETCD_PID_<NAME>
start_etcd() {
	local name=$1 cport=$2 pport=$3 dir="$TEST_TMP/etcd-$1"
	mkdir -p "$dir"
	etcd --name "$name" --data-dir "$dir/data" \
		--listen-client-urls "http://127.0.0.1:$cport" \
		--advertise-client-urls "http://127.0.0.1:$cport" \
		--listen-peer-urls "http://127.0.0.1:$pport" \
		--initial-advertise-peer-urls "http://127.0.0.1:$pport" \
		--initial-cluster "$name=http://127.0.0.1:$pport" \
		--listen-metrics-urls "" \
		>"$dir/etcd.log" 2>&1 &
	local pid=$!
	cleanup_pid "$pid"
	printf -v "ETCD_PID_$name" '%s' "$pid"
	if ! poll_until 20 curl -sf "http://127.0.0.1:$cport/health"; then
		echo "# etcd $name did not start; its log:" >&2
		sed 's/^/#   /' "$dir/etcd.log" >&2
		return 1
	fi
}

# start_etcd_member NAME CLIENT_PORT PEER_PORT INITIAL_CLUSTER TOKEN: one member
# of a multi-member etcd, started in the background without waiting for it
# (a member is healthy only once a quorum of its cluster runs).  Started
# again with the same NAME it finds its data directory and rejoins, as a
# restarted host would.  Sets ETCD_MEMBER_PID; the pid is stopped at exit.
start_etcd_member() {
	local name=$1 cport=$2 pport=$3 dir="$TEST_TMP/etcd-$1"
	mkdir -p "$dir"
	echo "# $(date +%T.%3N) starting $name" >>"$dir/etcd.log"
	etcd --name "$name" --data-dir "$dir/data" \
		--listen-client-urls "http://127.0.0.1:$cport" \
		--advertise-client-urls "http://127.0.0.1:$cport" \
		--listen-peer-urls "http://127.0.0.1:$pport" \
		--initial-advertise-peer-urls "http://127.0.0.1:$pport" \
		--initial-cluster "$4" --initial-cluster-state new \
		--initial-cluster-token "$5" \
		--listen-metrics-urls "" \
		>>"$dir/etcd.log" 2>&1 &
	ETCD_MEMBER_PID=$!
	cleanup_pid "$!"
	# no "Killed" report from bash when a test kills it
	disown "$!"
}

# etcd_healthy ENDPOINT: the member answers and has a raft leader
etcd_healthy() {
	curl -s -m 2 "$1/health" | grep -q '"health":"true"'
}

# start_forwarder LISTEN_PORT TARGET_PORT [socat address]: a TCP forwarder on
# 127.0.0.1 in a process group of its own (socat serves each connection in
# a child, so faults are sent to the whole group); prints the group id
start_forwarder() {
	setsid socat TCP-LISTEN:"$1",bind=127.0.0.1,reuseaddr,fork "${3:-TCP:127.0.0.1:$2}" >/dev/null 2>&1 &
	cleanup_group "$!"
	FORWARDER=$!
	# no "Killed" report from bash when a test kills it
	disown "$!"
}

# forwarder_signal SIG GROUP: STOP (hang), CONT (resume), KILL (gone)
forwarder_signal() {
	pid_ours "$2" || return 0
	kill -"$1" -- "-$2" 2>/dev/null
	if [ "$1" = KILL ]; then
		for _ in $(seq 50); do kill -0 "$2" 2>/dev/null || break; sleep 0.1; done
	fi
}

# stop_pid PID: TERM, wait up to 10 s, then KILL
stop_pid() {
	local p=$1
	pid_ours "$p" || return 0
	kill -CONT "$p" 2>/dev/null
	kill -TERM "$p" 2>/dev/null || return 0
	for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || return 0; sleep 0.1; done
	kill -KILL "$p" 2>/dev/null
}

# etcd_get ENDPOINT KEY: the value of one key, or nothing.  The answer is
# read with sed, not jq: tests poll with it, and a jq costs ~30 ms of CPU
# (the value is base64, so no JSON escape can be in it).
etcd_get() {
	local k out
	k=$(printf %s "$2" | base64 -w0)
	out=$(curl -sf -XPOST "$1/v3/kv/range" -d "{\"key\":\"$k\"}") || return 0
	out=$(sed -n 's/.*"value":"\([A-Za-z0-9+\/=]*\)".*/\1/p' <<<"$out")
	[ -z "$out" ] || base64 -d <<<"$out" 2>/dev/null
}

# etcd_lease_of ENDPOINT KEY: the lease id of one key (0 when none)
etcd_lease_of() {
	local k
	k=$(printf %s "$2" | base64 -w0)
	curl -sf -XPOST "$1/v3/kv/range" -d "{\"key\":\"$k\"}" |
		jq -r '.kvs[0].lease // "0"'
}

# pg_node NAME PORT [extra postgresql.conf lines...]: initdb a node; sets PGDATA_<NAME>
pg_node() {
	local name=$1 port=$2
	shift 2
	local dir="$TEST_TMP/pg-$name"
	"$PGBIN/initdb" -D "$dir" -A trust -U postgres --no-sync >"$TEST_TMP/initdb-$name.log" 2>&1 || return 1
	{
		echo "listen_addresses = '127.0.0.1'"
		echo "port = $port"
		echo "unix_socket_directories = '$TEST_TMP'"
		echo "shared_preload_libraries = 'pgha'"
		echo "logging_collector = off"
		echo "fsync = off"
		for l in "$@"; do echo "$l"; done
	} >>"$dir/postgresql.conf"
	printf -v "PGDATA_$name" '%s' "$dir"
	CLEANUP_DATADIRS+=("$dir")
}

pg_start() {
	"$PGBIN/pg_ctl" -D "$1" -l "$1/server.log" -w -t 60 start >/dev/null
}

pg_stop() {
	"$PGBIN/pg_ctl" -D "$1" -w -t 60 -m "${2:-fast}" stop >/dev/null
}

# psql_at PORT SQL: one value, unaligned
psql_at() {
	"$PGBIN/psql" -X -h "$TEST_TMP" -p "$1" -U postgres -d postgres -Atq -c "$2"
}
