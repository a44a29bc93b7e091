#!/bin/bash
# test/cluster.sh: multi-node scenarios on top of test/lib.sh (sourced, never run).
#
# A cluster here is one etcd and N nodes n1..nN.  Each node has:
#   - a socat forwarder to etcd in a process group of its own, which is the
#     node's only way to etcd, so a test can cut one node off etcd
#     (cluster_cut_etcd) while the others still reach it;
#   - a config fragment ($TEST_TMP/nI.conf) with the pgha.* settings, ports
#     and replication settings;
#   - a pgha-watchdog running in the background, which bootstraps the node
#     (initdb on the node that wins the initialize key, pg_basebackup on the
#     others), keeps postgres running and rejoins it after a failover.
# Faults: cluster_kill_postmaster, cluster_kill_node, cluster_stop_node,
# cluster_cut_etcd; cluster_restart_node brings a stopped or killed node back.
# The workload (test/tools/pgha_workload: a writer through a multi-host DSN,
# one probe per node) runs during a fault; cluster_check judges its logs.
#
# Ports: set CLUSTER_PG_BASE (node I listens on CLUSTER_PG_BASE + I) and
# CLUSTER_ETCD_PORT (etcd client port; its peer port is +1, node I's
# forwarder +1+I) before cluster_start.
#
# CLUSTER_ETCD_MEMBERS=3 (default 1) makes etcd a real 3-member Raft cluster
# on loopback: member K listens on CLUSTER_ETCD_PORT + 2(K-1) (client) and
# +1 (peer); each node has one forwarder per member (node I, member K:
# CLUSTER_ETCD_FWD_BASE + M(I-1) + K-1, by default right after the members'
# ports), all in NODE_FWD[I], so that cluster_cut_etcd still cuts the node
# off etcd entirely; its pgha.etcd_endpoints lists all of them, member I
# first.  cluster_etcd_stop_member / cluster_etcd_start_member take a member
# down and bring it back with its data directory.
#
# CLUSTER_FAKETIME=1 (default 0) runs every node's pgha-watchdog, and so
# everything it starts (postgres, pg_ctl, pghactl, psql), under libfaketime
# (Debian package faketime, CLUSTER_FAKETIME_LIB, libfaketimeMT.so.1) with
# FAKETIME_DONT_FAKE_MONOTONIC=1, FAKETIME_NO_CACHE=1 (the offset is read
# again at every time call) and FAKETIME_TIMESTAMP_FILE=$TEST_TMP/clock-NAME,
# which starts at "+0".  cluster_clock_step NAME OFFSET steps that node's
# wall clock at run time, CUMULATIVELY: +60s then -60s is back at +0 (OFFSET
# is [+-]N with s, m or h, or plain seconds); cluster_clock_reset NAME puts
# it back to +0; cluster_clock_offset NAME prints the offset in seconds.
# What libfaketime 0.9.10 (Debian 12) fakes, measured on this machine:
#   - CLOCK_REALTIME (and _COARSE), gettimeofday(), time(), so postgres'
#     now() and every timestamp it logs: they jump at once, both directions;
#   - with FAKETIME_DONT_FAKE_MONOTONIC=1 it leaves CLOCK_MONOTONIC,
#     CLOCK_MONOTONIC_RAW, CLOCK_MONOTONIC_COARSE and CLOCK_BOOTTIME alone:
#     they run on as the kernel's.  WITHOUT that variable it replaces all
#     four by the faked REALTIME (BOOTTIME jumps with the wall clock), so
#     the variable is what keeps the keeper's heartbeat (CLOCK_BOOTTIME)
#     and the etcd client's deadlines (CLOCK_MONOTONIC) honest;
#   - stat() times are shifted by the offset too (libfaketime's default);
#   - NOT bash itself: bash brings its own getenv(), which hides the
#     environment from libfaketime's constructor, so the watchdog's own
#     EPOCHREALTIME and printf %(...)T keep the true time, while the
#     programs it runs (date, pghactl, postgres) see the stepped one.
# Steps are only wall-clock steps: sleeps, poll/epoll timeouts and timers
# are relative and not affected.  Checked on a running node (postgres 15,
# keeper): after +3600 s SELECT now() was 3600.1 s ahead, a program run by
# the backend (COPY FROM PROGRAM) read CLOCK_MONOTONIC and CLOCK_BOOTTIME
# within 40 ms of the test's own /proc/uptime, and the keeper's heartbeat
# (CLOCK_BOOTTIME) did not move; -3600 s and back to +0 the same.
# libfaketime leaves an 8-byte /dev/shm/faketime_shm_PID and its semaphore
# per process tree it starts in when that process is SIGKILLed.
#
# Cleanup at exit, even on failure: the workload first, then SIGTERM to
# every watchdog (which stops its postgres), a bounded wait for the
# postmasters, then lib.sh's cleanup.
# Every wait is bounded.

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CLUSTER_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CLUSTER_SCOPE=${CLUSTER_SCOPE:-failover}
CLUSTER_PG_BASE=${CLUSTER_PG_BASE:-25800}
CLUSTER_ETCD_PORT=${CLUSTER_ETCD_PORT:-23810}
CLUSTER_TTL=${CLUSTER_TTL:-10}
CLUSTER_LOOP_WAIT=${CLUSTER_LOOP_WAIT:-2}
CLUSTER_RETRY_TIMEOUT=${CLUSTER_RETRY_TIMEOUT:-3}
CLUSTER_ETCD_MEMBERS=${CLUSTER_ETCD_MEMBERS:-1}
CLUSTER_ETCD_FWD_BASE=${CLUSTER_ETCD_FWD_BASE:-$((CLUSTER_ETCD_PORT + 2 * CLUSTER_ETCD_MEMBERS))}
CLUSTER_FAKETIME=${CLUSTER_FAKETIME:-0}
CLUSTER_FAKETIME_LIB=${CLUSTER_FAKETIME_LIB:-/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1}
# more postgresql.conf lines for every node (an array)
CLUSTER_EXTRA_CONF=(${CLUSTER_EXTRA_CONF[@]+"${CLUSTER_EXTRA_CONF[@]}"})
WORKLOAD=$CLUSTER_ROOT/test/tools/pgha_workload
CLUSTER_E=http://127.0.0.1:$CLUSTER_ETCD_PORT
CLUSTER_NODES=()		# names of every node ever started
declare -A NODE_WD=()	# name -> watchdog pid (empty when not running)
declare -A NODE_FWD=()	# name -> forwarder process group(s), one per etcd member
declare -A ETCD_MEMBER=()	# member index -> etcd pid (multi-member etcd; empty when down)
declare -A ETCD_MEMBER_HOW=()	# member index -> STOP or KILL while down
declare -A NODE_CUT=()	# name -> STOP or KILL while cut off etcd
WORKLOAD_PIDS=()
WORKLOAD_DIR=
WORKLOAD_RUN=0
CLUSTER_LEADER_MS=0
CLUSTER_STREAM_MS=0
CLUSTER_NEW_LEADER=
CLUSTER_STATE=
CLUSTER_ADDED=

cluster_now_ms() { echo $((${EPOCHREALTIME/./} / 1000)); }
# cluster_boot_to_wall_ms: wall-clock ms minus CLOCK_BOOTTIME ms (the
# keeper's deadlines), both read in one process: two forks read them up
# to ~0.1 s apart on a loaded machine
cluster_boot_to_wall_ms() {
	python3 -c 'import time; print(int(time.time() * 1000) - int(time.clock_gettime(time.CLOCK_BOOTTIME) * 1000))'
}

cluster_watchdog_bin() {
	if [ -n "${PGHA_WATCHDOG:-}" ]; then
		echo "$PGHA_WATCHDOG"
	elif [ -x "$CLUSTER_ROOT/bin/pgha-watchdog" ]; then
		echo "$CLUSTER_ROOT/bin/pgha-watchdog"
	elif [ -x "$PGBIN/pgha-watchdog" ]; then
		echo "$PGBIN/pgha-watchdog"
	else
		command -v pgha-watchdog
	fi
}

node_index() { echo "${1#n}"; }
node_port() { echo $((CLUSTER_PG_BASE + $(node_index "$1"))); }
# node_fwd_port NAME [MEMBER]: the port of NAME's forwarder (to etcd member MEMBER)
node_fwd_port() {
	if [ "$CLUSTER_ETCD_MEMBERS" -le 1 ]; then
		echo $((CLUSTER_ETCD_PORT + 1 + $(node_index "$1")))
	else
		echo $((CLUSTER_ETCD_FWD_BASE + CLUSTER_ETCD_MEMBERS * ($(node_index "$1") - 1) + ${2:-1} - 1))
	fi
}
node_data() { echo "$TEST_TMP/pg-$1"; }

# node_sql NAME SQL: one value (or rows), unaligned; fails fast when the node is down
node_sql() {
	PGCONNECT_TIMEOUT=2 "$PGBIN/psql" -X -h 127.0.0.1 -p "$(node_port "$1")" -U postgres \
		-d postgres -Atq -F ' ' -c "$2" 2>/dev/null
}

# node_postmaster_pid NAME: the pid in postmaster.pid, when that process
# lives and works in this data directory.  PIDs wrap quickly here
# (pid_max 32768, many tests): the pid of a postmaster that was killed may
# already belong to someone else's process, which must never be signalled.
node_postmaster_pid() {
	local d pid
	d=$(node_data "$1")
	[ -f "$d/postmaster.pid" ] || return 1
	pid=$(head -1 "$d/postmaster.pid" 2>/dev/null)
	[[ $pid =~ ^[0-9]+$ ]] && [ "$(readlink "/proc/$pid/cwd" 2>/dev/null)" = "$d" ] && echo "$pid"
}

# node_keeper_pid NAME: the pid of the node's keeper (bgw_type "pgha keeper"),
# a child of its live postmaster
node_keeper_pid() {
	local pm
	pm=$(node_postmaster_pid "$1") || return 1
	ps -o pid=,args= --ppid "$pm" | awk '/pgha keeper/ { print $1; found = 1; exit } END { exit !found }'
}

# cluster_forget_pid PID: a process that has ended is no longer signalled at
# cleanup (its pid may be reused by then)
cluster_forget_pid() {
	local p keep=()
	for p in "${CLEANUP_PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
	CLEANUP_PIDS=(${keep[@]+"${keep[@]}"})
}

# node_up NAME: its watchdog runs (the very process started, not a reused pid)
node_up() { [ -n "${NODE_WD[$1]:-}" ] && kill -0 "${NODE_WD[$1]}" 2>/dev/null && pid_ours "${NODE_WD[$1]}"; }

cluster_up_nodes() {
	local n
	for n in "${CLUSTER_NODES[@]}"; do node_up "$n" && echo "$n"; done
}

cluster_write_conf() {
	local name=$1 port
	port=$(node_port "$name")
	{
		echo "listen_addresses = '127.0.0.1'"
		echo "port = $port"
		echo "unix_socket_directories = '$TEST_TMP'"
		echo "shared_preload_libraries = 'pgha'"
		echo "pgha.scope = '$CLUSTER_SCOPE'"
		echo "pgha.node_name = '$name'"
		echo "pgha.etcd_endpoints = '$(cluster_node_endpoints "$name")'"
		echo "pgha.connect_address = '127.0.0.1:$port'"
		echo "pgha.ttl = $CLUSTER_TTL"
		echo "pgha.loop_wait = $CLUSTER_LOOP_WAIT"
		echo "pgha.retry_timeout = $CLUSTER_RETRY_TIMEOUT"
		echo "wal_level = replica"
		echo "hot_standby = on"
		echo "max_wal_senders = 10"
		echo "max_replication_slots = 10"
		echo "wal_log_hints = on"
		echo "logging_collector = off"
		echo "log_line_prefix = '%m [%p] $name '"
		local l
		for l in ${CLUSTER_EXTRA_CONF[@]+"${CLUSTER_EXTRA_CONF[@]}"}; do echo "$l"; done
	} >"$TEST_TMP/$name.conf"
}

# cluster_node_endpoints NAME: the node's pgha.etcd_endpoints, its forwarders
# (with several etcd members node I lists member I first, then the next ones)
cluster_node_endpoints() {
	local i k m eps=""
	m=$CLUSTER_ETCD_MEMBERS
	i=$(node_index "$1")
	for k in $(seq 0 $((m - 1))); do
		eps+="${eps:+,}http://127.0.0.1:$(node_fwd_port "$1" $(((i - 1 + k) % m + 1)))"
	done
	echo "$eps"
}

# cluster_start_forwarders NAME: one forwarder per etcd member; NODE_FWD[NAME]
# lists their process groups
cluster_start_forwarders() {
	local name=$1 k groups=""
	for k in $(seq "$CLUSTER_ETCD_MEMBERS"); do
		start_forwarder "$(node_fwd_port "$name" "$k")" "$(cluster_etcd_client_port "$k")"
		groups+="${groups:+ }$FORWARDER"
	done
	NODE_FWD[$name]=$groups
}

# --- etcd --------------------------------------------------------------------

cluster_etcd_client_port() { echo $((CLUSTER_ETCD_PORT + 2 * (${1:-1} - 1))); }
cluster_etcd_peer_port() { echo $(($(cluster_etcd_client_port "$1") + 1)); }
cluster_etcd_name() { echo "$CLUSTER_SCOPE-e$1"; }

# cluster_etcd_urls: the client URL of every etcd member, one a line
cluster_etcd_urls() {
	local k
	for k in $(seq "$CLUSTER_ETCD_MEMBERS"); do
		echo "http://127.0.0.1:$(cluster_etcd_client_port "$k")"
	done
}

# cluster_etcd_endpoints: the same, comma-separated (pghactl --endpoints)
cluster_etcd_endpoints() { cluster_etcd_urls | paste -sd, -; }

# cluster_etcd_start: the single etcd, or every member of a multi-member one
# (then waits, bounded, until each has a raft leader)
cluster_etcd_start() {
	local k
	if [ "$CLUSTER_ETCD_MEMBERS" -le 1 ]; then
		start_etcd "$CLUSTER_SCOPE" "$CLUSTER_ETCD_PORT" $((CLUSTER_ETCD_PORT + 1))
		return
	fi
	for k in $(seq "$CLUSTER_ETCD_MEMBERS"); do cluster_etcd_start_member "$k"; done
	for k in $(seq "$CLUSTER_ETCD_MEMBERS"); do
		if ! poll_until 30 etcd_healthy "http://127.0.0.1:$(cluster_etcd_client_port "$k")"; then
			echo "# etcd member $k is not healthy; its log:" >&2
			tail -20 "$TEST_TMP/etcd-$(cluster_etcd_name "$k")/etcd.log" | sed 's/^/#   /' >&2
			return 1
		fi
	done
}

# cluster_etcd_start_member K: start member K (again: its data directory is
# kept), or resume it when it was stopped with SIGSTOP
cluster_etcd_start_member() {
	local k=$1 c="" i
	if [ "${ETCD_MEMBER_HOW[$k]:-}" = STOP ] && [ -n "${ETCD_MEMBER[$k]:-}" ]; then
		kill -CONT "${ETCD_MEMBER[$k]}" 2>/dev/null
		ETCD_MEMBER_HOW[$k]=
		return 0
	fi
	for i in $(seq "$CLUSTER_ETCD_MEMBERS"); do
		c+="${c:+,}$(cluster_etcd_name "$i")=http://127.0.0.1:$(cluster_etcd_peer_port "$i")"
	done
	start_etcd_member "$(cluster_etcd_name "$k")" "$(cluster_etcd_client_port "$k")" \
		"$(cluster_etcd_peer_port "$k")" "$c" "$CLUSTER_SCOPE-$(basename "$TEST_TMP")"
	ETCD_MEMBER[$k]=$ETCD_MEMBER_PID
	ETCD_MEMBER_HOW[$k]=
}

# cluster_etcd_stop_member K [KILL|STOP]: member K crashes (KILL, the
# default) or hangs (STOP: its peers and clients time out on it)
cluster_etcd_stop_member() {
	local k=$1 how=${2:-KILL} p=${ETCD_MEMBER[$1]:-}
	[ -n "$p" ] && pid_ours "$p" || return 1
	kill -"$how" "$p" 2>/dev/null
	ETCD_MEMBER_HOW[$k]=$how
	if [ "$how" = KILL ]; then
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		cluster_forget_pid "$p"
		ETCD_MEMBER[$k]=
	fi
}

# cluster_etcd_get KEY: the key's value, from the first etcd member that
# answers (the single etcd: as etcd_get)
cluster_etcd_get() {
	local u k out
	if [ "$CLUSTER_ETCD_MEMBERS" -le 1 ]; then
		etcd_get "$CLUSTER_E" "$1"
		return
	fi
	k=$(printf %s "$1" | base64 -w0)
	for u in $(cluster_etcd_urls); do
		out=$(curl -sf -m 2 -XPOST "$u/v3/kv/range" -d "{\"key\":\"$k\"}") || continue
		jq -r '.kvs[0].value // empty' <<<"$out" | base64 -d 2>/dev/null
		return 0
	done
	return 1
}

# --- wall clock steps (CLUSTER_FAKETIME=1) ------------------------------------

node_clock_file() { echo "$TEST_TMP/clock-$1"; }

# cluster_clock_offset NAME: the node's wall-clock offset in seconds (0 when
# never stepped)
cluster_clock_offset() {
	local v
	v=$(cat "$(node_clock_file "$1")" 2>/dev/null)
	v=${v#+}
	[[ $v =~ ^-?[0-9]+$ ]] || v=0
	echo "$v"
}

# cluster_clock_write NAME SECONDS: the file libfaketime reads, replaced in
# one rename (it reads it at every time call and must never see it half
# written)
cluster_clock_write() {
	local f
	f=$(node_clock_file "$1")
	if [ "$2" -ge 0 ]; then echo "+$2" >"$f.tmp"; else echo "$2" >"$f.tmp"; fi
	mv -f "$f.tmp" "$f"
}

# cluster_clock_step NAME OFFSET: step NAME's wall clock by OFFSET, on top
# of its earlier steps (cumulative).  OFFSET: [+-]N[s|m|h] (+60s, -90, +2m).
cluster_clock_step() {
	local name=$1 off=$2 sign=1 n unit
	if [ "$CLUSTER_FAKETIME" != 1 ]; then
		echo "# cluster_clock_step: CLUSTER_FAKETIME=1 was not set before cluster_start" >&2
		return 1
	fi
	[[ $off =~ ^([+-]?)([0-9]+)([smh]?)$ ]] || {
		echo "# cluster_clock_step: bad offset '$off'" >&2
		return 1
	}
	[ "${BASH_REMATCH[1]}" = - ] && sign=-1
	n=${BASH_REMATCH[2]}
	unit=${BASH_REMATCH[3]}
	case $unit in m) n=$((n * 60)) ;; h) n=$((n * 3600)) ;; esac
	cluster_clock_write "$name" $(($(cluster_clock_offset "$name") + sign * n))
}

# cluster_clock_reset NAME: the node's wall clock true again (+0)
cluster_clock_reset() {
	[ "$CLUSTER_FAKETIME" = 1 ] || return 0
	cluster_clock_write "$1" 0
}

# cluster_faketime_env NAME: the env assignments that put the node under
# libfaketime (nothing when CLUSTER_FAKETIME is not 1)
cluster_faketime_env() {
	[ "$CLUSTER_FAKETIME" = 1 ] || return 0
	echo "LD_PRELOAD=$CLUSTER_FAKETIME_LIB${LD_PRELOAD:+:$LD_PRELOAD}"
	echo "FAKETIME_DONT_FAKE_MONOTONIC=1"
	echo "FAKETIME_NO_CACHE=1"
	echo "FAKETIME_TIMESTAMP_FILE=$(node_clock_file "$1")"
}

# cluster_run_watchdog NAME: start (or restart) the node's watchdog, under
# libfaketime when CLUSTER_FAKETIME=1 (its clock file is kept over restarts)
cluster_run_watchdog() {
	local name=$1 wd fenv=()
	wd=$(cluster_watchdog_bin) || { echo "# pgha-watchdog not found" >&2; return 1; }
	if [ "$CLUSTER_FAKETIME" = 1 ]; then
		[ -r "$CLUSTER_FAKETIME_LIB" ] || {
			echo "# CLUSTER_FAKETIME=1 but $CLUSTER_FAKETIME_LIB is missing (apt-get install faketime)" >&2
			return 1
		}
		[ -f "$(node_clock_file "$name")" ] || cluster_clock_write "$name" 0
		mapfile -t fenv < <(cluster_faketime_env "$name")
	fi
	setsid env ${fenv[@]+"${fenv[@]}"} "$wd" --config "$TEST_TMP/$name.conf" --pgdata "$(node_data "$name")" \
		--bindir "$PGBIN" --log "$TEST_TMP/watchdog-$name.log" --pg-log "$(node_data "$name").log" \
		--initdb-options '-A trust -U postgres --no-sync' \
		>>"$TEST_TMP/watchdog-$name.out" 2>&1 </dev/null &
	NODE_WD[$name]=$!
	cleanup_pid "$!"
}

# cluster_start_node NAME: forwarder, config, watchdog
cluster_start_node() {
	local name=$1
	CLUSTER_NODES+=("$name")
	cluster_start_forwarders "$name"
	NODE_CUT[$name]=
	cluster_write_conf "$name"
	CLEANUP_DATADIRS+=("$(node_data "$name")")
	cluster_run_watchdog "$name"
}

# cluster_start N: etcd and nodes n1..nN, all started at once (they race for
# the initialize key as real nodes would)
cluster_start() {
	local i
	cluster_workload_build || return 1
	cluster_watchdog_bin >/dev/null || { echo "# pgha-watchdog not found" >&2; return 1; }
	cluster_etcd_start || return 1
	for i in $(seq "$1"); do cluster_start_node "n$i" || return 1; done
}

# cluster_add_node: the next node nI, cloned from the running cluster; sets
# CLUSTER_ADDED to its name (not printed: a command substitution would run
# it in a subshell, and the node's processes would escape the cleanup)
cluster_add_node() {
	CLUSTER_ADDED="n$((${#CLUSTER_NODES[@]} + 1))"
	cluster_start_node "$CLUSTER_ADDED"
}

cluster_leader() { cluster_etcd_get "/service/$CLUSTER_SCOPE/leader"; }

# the extension is created once, on the primary; replicas get it by replication
cluster_ensure_extension() {
	[ "$(node_sql "$1" "SELECT count(*) FROM pg_extension WHERE extname = 'pgha'")" = 1 ] && return 0
	node_sql "$1" "CREATE EXTENSION IF NOT EXISTS pgha" >/dev/null
}

# node_status NAME: "role leader in_recovery" from pgha_status()
node_status() {
	node_sql "$1" "SELECT role, coalesce(leader, '-'), pg_is_in_recovery() FROM pgha_status()"
}

# node_streams_from NAME LEADER: NAME streams from LEADER, shown by LEADER's
# pg_stat_replication: state streaming, and NAME has flushed the WAL up to
# where LEADER's was when asked (within 3 s).  The state alone is not proof:
# a standby whose history diverged connects, is "streaming" for a moment,
# is told the new timeline forked off before its position, and starts over,
# once a second, for ever.
node_streams_from() {
	local lsn
	lsn=$(node_sql "$2" "SELECT pg_current_wal_lsn()")
	[ -n "$lsn" ] && poll_until 3 node_flushed_from "$1" "$2" "$lsn"
}

node_flushed_from() {
	[ "$(node_sql "$2" "SELECT count(*) FROM pg_stat_replication
		WHERE application_name = '$1' AND state = 'streaming' AND flush_lsn >= '$3'")" = 1 ]
}

# cluster_is_healthy: exactly one primary (holding the leader key), every other
# running node a replica following it and streaming from it.  The reason it
# is not healthy is left in CLUSTER_STATE.  Tests poll it for tens of seconds
# at a time, several at once: it asks each node one query, the leader one
# more for all its standbys, and etcd one range read of the scope parsed by
# one jq (it took ~2.3 s of CPU a call, a core of the machine while polled).
cluster_is_healthy() {
	local leader n st nodes replicas=() lsn want got lt line
	local -A mk=()
	nodes=$(cluster_up_nodes)
	leader=$(cluster_leader)
	if [ -z "$leader" ]; then CLUSTER_STATE="no leader key"; return 1; fi
	if ! grep -qx "$leader" <<<"$nodes"; then CLUSTER_STATE="leader $leader is not a running node"; return 1; fi
	for n in $nodes; do
		st=$(node_status "$n")
		if [ "$n" = "$leader" ]; then
			if [ -z "$st" ] && cluster_ensure_extension "$leader"; then st=$(node_status "$n"); fi
			[ "$st" = "primary $leader f" ] || { CLUSTER_STATE="leader $n: '$st'"; return 1; }
		else
			[ "$st" = "replica $leader t" ] || { CLUSTER_STATE="$n: '$st'"; return 1; }
			replicas+=("$n")
		fi
	done
	# every replica streams from the leader and has flushed the WAL up to
	# where the leader's was when asked (within 3 s: node_streams_from)
	if [ ${#replicas[@]} -gt 0 ]; then
		want=$(printf "'%s'," "${replicas[@]}")
		want=${want%,}
		read -r lsn got <<<"$(node_sql "$leader" "SELECT pg_current_wal_lsn(), count(*) FROM pg_stat_replication
			WHERE application_name IN ($want) AND state = 'streaming' AND flush_lsn >= pg_current_wal_lsn()")"
		if [ "${got:-0}" != ${#replicas[@]} ]; then
			for n in "${replicas[@]}"; do
				[ -n "$lsn" ] && poll_until 3 node_flushed_from "$n" "$leader" "$lsn" ||
					{ CLUSTER_STATE="$n does not stream from $leader"; return 1; }
			done
		fi
	fi
	# what etcd says, which is what a switchover checks (a keeper publishes
	# its own changes at its next loop, within loop_wait): every member key
	# says running, on the leader's timeline, within 1 MB of the leader's
	# published position (maximum_lag_on_failover's default)
	while read -r line; do
		[ -n "$line" ] && mk[${line%% *}]=${line#* }
	done <<<"$(cluster_etcd_members)"
	lt=${mk[$leader]:-}
	lt=${lt#* }
	lt=${lt%% *}
	for n in $nodes; do
		[ "${mk[$n]:-}" = "running $lt near" ] ||
			{ CLUSTER_STATE="members/$n says '${mk[$n]:-}' (leader's timeline $lt)"; return 1; }
	done
	CLUSTER_STATE="healthy, leader $leader"
}

# cluster_etcd_members: "NAME STATE TIMELINE near|behind" for every member
# key, in one range read of the scope (near: within 1 MB of the status key's
# optime)
cluster_etcd_members() {
	local p="/service/$CLUSTER_SCOPE/" k e u out
	k=$(printf %s "$p" | base64 -w0)
	e=$(printf %s "${p%/}0" | base64 -w0)	# the range end: '/' + 1 is '0'
	for u in $(cluster_etcd_urls); do
		out=$(curl -sf -m 2 -XPOST "$u/v3/kv/range" -d "{\"key\":\"$k\",\"range_end\":\"$e\"}") || continue
		jq -r --arg p "$p" '
			[.kvs[]? | {k: (.key | @base64d), v: (.value | @base64d | fromjson? // {})}] as $kv
			| ([$kv[] | select(.k == $p + "status") | .v.optime // 0] | first // 0) as $o
			| $kv[] | select(.k | startswith($p + "members/"))
			| "\(.k | ltrimstr($p + "members/")) \(.v.state) \(.v.timeline) \(if ($o - (.v.xlog_location // 0)) > 1048576 then "behind" else "near" end)"' \
			<<<"$out" 2>/dev/null
		return 0
	done
	return 1
}

# cluster_wait_healthy TIMEOUT: poll until healthy; on timeout say why
cluster_wait_healthy() {
	local start end now
	start=${EPOCHREALTIME/./}
	end=$((start + $1 * 1000000))
	while :; do
		cluster_is_healthy && return 0
		now=${EPOCHREALTIME/./}
		[ "$now" -lt "$end" ] || break
		# a check is a dozen forks: at most every 0.3 s (poll_gap's pace
		# past its first second)
		poll_gap "$start" "$now" "$end"
		[ "$POLL_GAP" \< 0.300000 ] && [ $((end - now)) -ge 300000 ] && POLL_GAP=0.3
		sleep "$POLL_GAP"
	done
	echo "# cluster not healthy after $1 s: $CLUSTER_STATE"
	return 1
}

# node_writable NAME: it accepts a write now
node_writable() {
	[ "$(node_sql "$1" "SELECT NOT pg_is_in_recovery()")" = t ]
}

node_not_writable() { ! node_writable "$1"; }

# node_stopped NAME: no postmaster runs for its data directory
node_stopped() { ! node_postmaster_pid "$1" >/dev/null; }

# cluster_wait_leader TIMEOUT [NOT]: poll until the leader key names a running
# node (other than NOT) that is out of recovery; sets CLUSTER_NEW_LEADER and
# CLUSTER_LEADER_MS (when it was first seen)
cluster_wait_leader() {
	local end=$(($(cluster_now_ms) + $1 * 1000)) l
	CLUSTER_NEW_LEADER=
	while [ "$(cluster_now_ms)" -lt "$end" ]; do
		l=$(cluster_leader)
		if [ -n "$l" ] && [ "$l" != "${2:-}" ] && node_writable "$l"; then
			CLUSTER_NEW_LEADER=$l
			CLUSTER_LEADER_MS=$(cluster_now_ms)
			return 0
		fi
		sleep 0.05
	done
	return 1
}

# cluster_wait_streaming NAME TIMEOUT: NAME is a replica of the current leader
# (pgha_status) and streams from it (pg_stat_replication); sets CLUSTER_STREAM_MS
cluster_wait_streaming() {
	local name=$1 end=$(($(cluster_now_ms) + $2 * 1000)) l
	while [ "$(cluster_now_ms)" -lt "$end" ]; do
		l=$(cluster_leader)
		if [ -n "$l" ] && [ "$l" != "$name" ] &&
			[ "$(node_status "$name")" = "replica $l t" ] && node_streams_from "$name" "$l"; then
			CLUSTER_STREAM_MS=$(cluster_now_ms)
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# --- faults ----------------------------------------------------------------

# postgres crashes, the host (and the watchdog) stay
cluster_kill_postmaster() {
	local pid
	pid=$(node_postmaster_pid "$1") || { echo "# $1 has no running postmaster" >&2; return 1; }
	kill -KILL "$pid"
}

# the host dies: watchdog (and whatever runs in its process group), then the
# postmaster and all its children at once, so that no connection lingers
cluster_kill_node() {
	local name=$1 wd=${NODE_WD[$1]:-} pm kids
	if [ -n "$wd" ] && pid_ours "$wd"; then
		kill -KILL -- "-$wd" 2>/dev/null
		kill -KILL "$wd" 2>/dev/null
		wait "$wd" 2>/dev/null
		cluster_forget_pid "$wd"
	fi
	if pm=$(node_postmaster_pid "$name"); then
		kill -STOP "$pm" 2>/dev/null
		kids=$(pgrep -P "$pm")
		# shellcheck disable=SC2086
		kill -KILL "$pm" $kids 2>/dev/null
	fi
	NODE_WD[$name]=
	for _ in $(seq 50); do node_postmaster_pid "$name" >/dev/null || break; sleep 0.1; done
}

# cluster_stop_node NAME [nowait]: a clean stop, SIGTERM to the watchdog,
# which stops postgres and hands over; then, unless nowait, wait (bounded)
# until the watchdog has exited
cluster_stop_node() {
	local name=$1
	node_up "$name" || return 0
	kill -TERM "${NODE_WD[$name]}" 2>/dev/null
	[ "${2:-}" = nowait ] && return 0
	cluster_wait_stopped "$name" 60
}

# cluster_wait_stopped NAME TIMEOUT: its watchdog has exited
cluster_wait_stopped() {
	local wd=${NODE_WD[$1]:-}
	[ -n "$wd" ] || return 0
	poll_until "$2" bash -c "! kill -0 $wd 2>/dev/null" || return 1
	wait "$wd" 2>/dev/null
	cluster_forget_pid "$wd"
	NODE_WD[$1]=
}

# cluster_restart_node NAME: the node comes back (same data directory)
cluster_restart_node() {
	node_up "$1" && return 0
	cluster_run_watchdog "$1"
}

# cluster_cut_etcd NAME [STOP|KILL]: STOP makes its etcd requests hang (a
# partition that drops packets), KILL refuses them at once; with several
# etcd members, all of its forwarders
cluster_cut_etcd() {
	local name=$1 how=${2:-STOP} g
	for g in ${NODE_FWD[$name]}; do
		forwarder_signal "$how" "$g"
	done
	NODE_CUT[$name]=$how
}

cluster_restore_etcd() {
	local name=$1 g
	case ${NODE_CUT[$name]:-} in
		STOP) for g in ${NODE_FWD[$name]}; do forwarder_signal CONT "$g"; done ;;
		KILL) cluster_start_forwarders "$name" ;;
	esac
	NODE_CUT[$name]=
}

# --- workload --------------------------------------------------------------

cluster_workload_build() {
	[ -x "$WORKLOAD" ] && [ "$WORKLOAD" -nt "$CLUSTER_ROOT/test/tools/pgha_workload.c" ] && return 0
	make -s -C "$CLUSTER_ROOT" test/tools/pgha_workload >/dev/null || {
		echo "# could not build test/tools/pgha_workload" >&2
		return 1
	}
}

# the writer's DSN: every node, libpq picks the one that accepts writes
cluster_dsn() {
	local hosts="" ports="" n
	for n in "${CLUSTER_NODES[@]}"; do
		hosts+="${hosts:+,}127.0.0.1"
		ports+="${ports:+,}$(node_port "$n")"
	done
	echo "host=$hosts port=$ports user=postgres dbname=postgres target_session_attrs=read-write connect_timeout=1"
}

# cluster_workload_start SECONDS [WRITER_DSN]: the writer (default: the
# multi-host DSN) and one probe per node, in $WORKLOAD_DIR; they end by
# themselves after SECONDS
cluster_workload_start() {
	local secs=$1 dsn=${2:-} n
	[ -n "$dsn" ] || dsn=$(cluster_dsn)
	WORKLOAD_RUN=$((WORKLOAD_RUN + 1))
	WORKLOAD_DIR=$TEST_TMP/workload-$WORKLOAD_RUN
	mkdir -p "$WORKLOAD_DIR"
	WORKLOAD_PIDS=()
	"$WORKLOAD" writer --dsn "$dsn" --seconds "$secs" \
		--out "$WORKLOAD_DIR/writer.log" 2>>"$WORKLOAD_DIR/stderr" &
	WORKLOAD_PIDS+=("$!")
	for n in "${CLUSTER_NODES[@]}"; do
		"$WORKLOAD" probe --name "$n" --seconds "$secs" --out "$WORKLOAD_DIR/probe-$n.log" \
			--dsn "host=127.0.0.1 port=$(node_port "$n") user=postgres dbname=postgres connect_timeout=1" \
			2>>"$WORKLOAD_DIR/stderr" &
		WORKLOAD_PIDS+=("$!")
	done
	for n in "${WORKLOAD_PIDS[@]}"; do cleanup_pid "$n"; done
}

# wait for the workload's own end (bounded by its --seconds, plus a margin)
cluster_workload_wait() {
	local p
	for p in "${WORKLOAD_PIDS[@]}"; do
		for _ in $(seq 1200); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -0 "$p" 2>/dev/null && stop_pid "$p"
		wait "$p" 2>/dev/null
		cluster_forget_pid "$p"
	done
	WORKLOAD_PIDS=()
}

cluster_workload_stop() {
	local p
	for p in "${WORKLOAD_PIDS[@]}"; do pid_ours "$p" && kill -TERM "$p" 2>/dev/null; done
	cluster_workload_wait
}

# cluster_check [ALLOW_LOSS]: the checker on the last workload; prints its
# report as TAP comments, sets CHECK_OUTAGE_MS, CHECK_LOST, CHECK_SPLIT,
# CHECK_ACKED, CHECK_UNKNOWN, CHECK_OUTAGE_FROM_MS; returns its status
cluster_check() {
	local probes="" f rc line
	# the nodes that had a probe: a node added later had none
	for f in "$WORKLOAD_DIR"/probe-*.log; do probes+="${probes:+,}$f"; done
	"$WORKLOAD" check --writer "$WORKLOAD_DIR/writer.log" --probes "$probes" \
		--final-dsn "$(cluster_dsn)" --allow-loss "${1:-0}" >"$WORKLOAD_DIR/check.out" 2>&1
	rc=$?
	sed 's/^/#   /' "$WORKLOAD_DIR/check.out"
	line=$(grep '^check: ' "$WORKLOAD_DIR/check.out" | tail -1)
	CHECK_OUTAGE_MS=$(sed -n 's/.* outage_ms=\([0-9-]*\).*/\1/p' <<<"$line")
	CHECK_LOST=$(sed -n 's/.* lost=\([0-9]*\).*/\1/p' <<<"$line")
	CHECK_SPLIT=$(sed -n 's/.* split_brain_windows=\([0-9]*\).*/\1/p' <<<"$line")
	CHECK_ACKED=$(sed -n 's/.* acked=\([0-9]*\).*/\1/p' <<<"$line")
	CHECK_UNKNOWN=$(sed -n 's/.* unknown=\([0-9]*\).*/\1/p' <<<"$line")
	CHECK_OUTAGE_FROM_MS=$(sed -n 's/.* outage_from_ms=\([0-9]*\).*/\1/p' <<<"$line")
	return $rc
}

# --- evidence --------------------------------------------------------------

# cluster_dump: what a failed test needs to be understood, as TAP comments
cluster_dump() {
	local n f k
	echo "# --- cluster state at $(date +%T.%3N)"
	for k in leader history status config; do
		echo "#   etcd $k: $(cluster_etcd_get "/service/$CLUSTER_SCOPE/$k" | head -c 400)"
	done
	for n in "${CLUSTER_NODES[@]}"; do
		echo "#   etcd members/$n: $(cluster_etcd_get "/service/$CLUSTER_SCOPE/members/$n")"
		echo "#   $n pgha_status: $(node_sql "$n" "SELECT role, state, leader, timeline, last_error FROM pgha_status()")"
		for f in "$TEST_TMP/watchdog-$n.log" "$TEST_TMP/watchdog-$n.out" "$(node_data "$n").log"; do
			[ -s "$f" ] || continue
			echo "#   --- tail of $f"
			tail -n "${CLUSTER_DUMP_LINES:-25}" "$f" | sed 's/^/#     /'
		done
	done
}

# --- cleanup ---------------------------------------------------------------

# the workload first; etcd back for every node (a watchdog releases the key
# through it); SIGTERM to every watchdog, a bounded wait for it and its
# postmaster; then lib.sh's cleanup stops whatever is left by PID
cluster_cleanup() {
	local n p deadline
	for p in "${WORKLOAD_PIDS[@]}"; do pid_ours "$p" && kill -TERM "$p" 2>/dev/null; done
	for n in "${!ETCD_MEMBER_HOW[@]}"; do
		[ "${ETCD_MEMBER_HOW[$n]}" = STOP ] && cluster_etcd_start_member "$n"
	done
	for n in "${CLUSTER_NODES[@]}"; do
		[ -n "${NODE_CUT[$n]:-}" ] && cluster_restore_etcd "$n"
	done
	# a test that froze processes (SIGSTOP) and bailed out before it thawed
	# them: a frozen postmaster neither stops nor dies of pg_ctl stop, and
	# outlived the test, holding its port
	for n in "${CLUSTER_NODES[@]}"; do
		p=${NODE_WD[$n]:-}
		[ -n "$p" ] && pid_ours "$p" && { kill -CONT -- "-$p" 2>/dev/null; pkill -CONT -P "$p"; }
		if p=$(node_postmaster_pid "$n"); then
			kill -CONT "$p" 2>/dev/null
			pkill -CONT -P "$p"
		fi
	done
	for n in "${CLUSTER_NODES[@]}"; do
		p=${NODE_WD[$n]:-}
		[ -n "$p" ] && pid_ours "$p" && kill -TERM "$p" 2>/dev/null
	done
	deadline=$(($(cluster_now_ms) + 40000))
	for n in "${CLUSTER_NODES[@]}"; do
		p=${NODE_WD[$n]:-}
		[ -n "$p" ] || continue
		while [ "$(cluster_now_ms)" -lt "$deadline" ]; do
			kill -0 "$p" 2>/dev/null || node_postmaster_pid "$n" >/dev/null || break
			sleep 0.1
		done
		if kill -0 "$p" 2>/dev/null && pid_ours "$p"; then
			echo "# watchdog of $n did not exit on SIGTERM: killed" >&2
			kill -KILL -- "-$p" 2>/dev/null
			kill -KILL "$p" 2>/dev/null
		fi
	done
	# lib.sh stops every data directory with a postmaster.pid by the pid in
	# it: a stale file (postmaster killed) would aim at a reused pid
	for n in "${CLUSTER_NODES[@]}"; do
		node_postmaster_pid "$n" >/dev/null || rm -f "$(node_data "$n")/postmaster.pid"
	done
	cleanup
}
trap cluster_cleanup EXIT

# --- assertions ------------------------------------------------------------

# expect DESCRIPTION COMMAND...: like lib.sh's check, but returns the outcome
# and prints the cluster's state (keys, pgha_status, log tails) on failure
expect() {
	local what=$1
	shift
	if "$@"; then
		ok "$what"
		return 0
	fi
	not_ok "$what"
	cluster_dump
	return 1
}

# bail_out: end a test that cannot go on (cleanup runs from the EXIT trap)
bail_out() {
	echo "# $*"
	done_testing
	exit 1
}

# writer_acked: how many writes the running workload's writer has had acknowledged
writer_acked() { grep -c '^ack ' "$WORKLOAD_DIR/writer.log" 2>/dev/null; }

# cluster_wait_writes COUNT TIMEOUT: the writer got COUNT more acknowledgements
writer_acked_at_least() { [ "$(writer_acked)" -ge "$1" ]; }
cluster_wait_writes() {
	local target=$(($(writer_acked) + $1))
	poll_until "$2" writer_acked_at_least "$target"
}

# cluster_verdict ALLOW_LOSS: stop the workload, run the checker and assert
# what every failover test asserts: writes went on, no split brain, at most
# ALLOW_LOSS acknowledged writes lost
cluster_verdict() {
	cluster_workload_stop
	cluster_check "$1"
	if [ -z "$CHECK_ACKED" ]; then
		not_ok "the checker ran"
		return 1
	fi
	check "writes were acknowledged ($CHECK_ACKED, $CHECK_UNKNOWN with unknown outcome)" \
		test "$CHECK_ACKED" -gt 0
	is "$CHECK_SPLIT" 0 "no split-brain window: never two nodes accepting writes at once"
	check "at most $1 acknowledged writes lost (lost: $CHECK_LOST)" test "$CHECK_LOST" -le "$1"
	note "longest write outage: $CHECK_OUTAGE_MS ms"
}

# probe_last_ack NAME / probe_first_sent NAME: from NAME's probe log of the
# last workload, the ack time of its last write and the send time of its
# first one (empty when it wrote nothing)
probe_last_ack() { awk '$1 == "w" { t = $3 } END { print t }' "$WORKLOAD_DIR/probe-$1.log"; }
probe_first_sent() { awk '$1 == "w" { print $2; exit }' "$WORKLOAD_DIR/probe-$1.log"; }

# cluster_check_handover OLD NEW: after cluster_verdict, the one fact that
# matters for safety rule 1 in plain numbers: OLD's last acknowledged write
# came before NEW's first write was even sent
cluster_check_handover() {
	local last first
	last=$(probe_last_ack "$1")
	first=$(probe_first_sent "$2")
	if [ -z "$last" ] || [ -z "$first" ]; then
		not_ok "both $1 and $2 took probe writes (last of $1: '$last', first of $2: '$first')"
		return 1
	fi
	check "$1 took its last write before $2 was asked for its first ($((first - last)) ms between them)" \
		test "$last" -lt "$first"
}

# cluster_start_loaded: 3 healthy nodes and the workload running for 80 s;
# sets CLUSTER_OLD to the leader.  Bails out of the test when it cannot.
cluster_start_loaded() {
	cluster_start 3 || bail_out "the cluster did not start"
	expect "3 nodes: one primary, two streaming replicas" cluster_wait_healthy 60 ||
		bail_out "the cluster is not healthy"
	CLUSTER_OLD=$(cluster_leader)
	note "leader: $CLUSTER_OLD"
	cluster_workload_start 80
	expect "the writer's commits are acknowledged" cluster_wait_writes 100 15
}
