#!/bin/bash
# test/chaos/faults.sh: the chaos suite's schedule, faults, healing and
# checks (sourced by test/chaos/run.sh after test/cluster.sh, never run).
#
# A run: a 3-member etcd and 3 nodes (test/cluster.sh with
# CLUSTER_ETCD_MEMBERS=3), the mode written to the config key, one writer
# and one probe per node for the whole run, then the faults of the
# schedule one after the other: inject, hold, heal, wait until the cluster
# is whole, check the window of logs since the previous fault.  Everything
# is logged in $CHAOS_LOG; the lines that matter also go to stdout.

# --- output ----------------------------------------------------------------

TAP_CHAOS_N=0

# say LINE: stdout (a TAP comment in --tap mode) and the log
say() {
	local now
	now=$(date +%T.%3N)
	echo "$now $*" >>"$CHAOS_LOG"
	if [ "$TAP" = 1 ]; then echo "# $*"; else echo "$*"; fi
}

# logonly LINE: the log only
logonly() { echo "$(date +%T.%3N) $*" >>"$CHAOS_LOG"; }

# tap_result OK|NOTOK TEXT: a TAP line in --tap mode, a plain one otherwise
tap_result() {
	if [ "$1" = OK ]; then
		TAP_CHAOS_N=$((TAP_CHAOS_N + 1))
		[ "$TAP" = 1 ] && echo "ok $TAP_CHAOS_N - $2"
		logonly "ok: $2"
	else
		TAP_CHAOS_N=$((TAP_CHAOS_N + 1))
		TAP_FAILED=$((TAP_FAILED + 1))	# lib.sh keeps the files
		[ "$TAP" = 1 ] && echo "not ok $TAP_CHAOS_N - $2"
		[ "$TAP" = 1 ] || echo "FAILED: $2"
		logonly "not ok: $2"
	fi
}

# chaos_sleep SECONDS: a sleep that a signal to this script cuts short (its
# trap runs at once instead of after the sleep)
chaos_sleep() {
	sleep "$1" &
	wait $!
}

secs() { awk -v ms="$1" 'BEGIN { printf "%.1f", ms / 1000 }'; }

# --- the seeded generator ----------------------------------------------------

# A linear congruential generator in bash arithmetic (the constants of
# glibc's rand_r, 31 bits), the same on every machine whatever its awk.
# rnd N sets RND to 0..N-1; never call it in a subshell.
RNG_STATE=0
rng_seed() {
	RNG_STATE=$(($1 % 2147483648))
	local i
	for i in 1 2 3 4; do rnd 2; done
}
rnd() {
	RNG_STATE=$(((RNG_STATE * 1103515245 + 12345) % 2147483648))
	RND=$(((RNG_STATE >> 16) % $1))
}

# The schedule: every value of every fault is drawn up front, the same
# number of draws per fault whatever its kind, so that a fault's
# parameters depend only on the seed, its index and the kinds drawn from.
declare -a S_KIND S_WHO S_REP S_EXTRA S_HOW S_MEM S_LO S_HI S_DUR S_GAP
chaos_schedule() {
	local i
	rng_seed "$SEED"
	for i in $(seq "$FAULTS"); do
		rnd ${#DRAW_KINDS[@]}; S_KIND[i]=${DRAW_KINDS[RND]}
		[ ${#SEQ_KINDS[@]} -gt 0 ] && S_KIND[i]=${SEQ_KINDS[i - 1]}
		rnd 3; S_WHO[i]=$RND		# 0, 1: the leader; 2: a replica
		rnd 2; S_REP[i]=$RND		# which replica (by name order)
		rnd 7; S_EXTRA[i]=$((RND + 2))	# seconds held beyond ttl, or down
		rnd 2; S_HOW[i]=$RND		# a fault's variant (see each fault)
		rnd 3; S_MEM[i]=$RND		# an etcd member
		rnd 11; S_LO[i]=$((300 + 50 * RND))	# slow etcd: least latency (ms)
		rnd 100; S_HI[i]=$((S_LO[i] + (1500 - S_LO[i]) * RND / 99 / 10 * 10))
		rnd 21; S_DUR[i]=$((10 + RND))	# slow etcd: seconds
		rnd 4; S_GAP[i]=$RND		# seconds of quiet before the fault
	done
}

schedule_line() {
	local i=$1
	echo "$i ${S_KIND[i]} who=${S_WHO[i]} rep=${S_REP[i]} extra=${S_EXTRA[i]} how=${S_HOW[i]}" \
		"mem=${S_MEM[i]} lo=${S_LO[i]} hi=${S_HI[i]} dur=${S_DUR[i]} gap=${S_GAP[i]}"
}

# schedule_plan I: what fault I will do, in words, from its draws (the
# nodes are named relative to the leader of the moment)
schedule_plan() {
	local i=$1 who=leader ttl=${CLUSTER_TTL:-10} lw=${CLUSTER_LOOP_WAIT:-2}
	[ "${S_WHO[i]}" -lt 2 ] || who="replica $((S_REP[i] + 1))"
	case ${S_KIND[i]} in
		pg_kill) echo "SIGKILL to the leader's postmaster" ;;
		node_kill) echo "$who node killed, back after ${S_EXTRA[i]} s" ;;
		keeper_stop) echo "leader's keeper stopped $((ttl + S_EXTRA[i])) s" ;;
		postmaster_stop) echo "leader's postmaster stopped $((ttl + S_EXTRA[i])) s" ;;
		leader_cutoff | replica_cutoff)
			echo "cut off etcd ($([ "${S_HOW[i]}" = 1 ] && echo refused || echo hang)) $((ttl + S_EXTRA[i])) s" ;;
		etcd_member_down) echo "$([ "${S_HOW[i]}" = 1 ] && echo follower || echo "raft leader") down $((3 + 2 * S_EXTRA[i])) s" ;;
		etcd_quorum_loss) echo "2 members $([ "${S_HOW[i]}" = 1 ] && echo STOP || echo KILL) $((12 + S_EXTRA[i] / 2)) s, e$((S_MEM[i] + 1)) stays" ;;
		switchover) echo "to replica $((S_REP[i] + 1)) by $([ "${S_HOW[i]}" = 1 ] && echo pghactl || echo "pgha_switchover()")" ;;
		slow_etcd) echo "$who's etcd requests +${S_LO[i]}-${S_HI[i]} ms for ${S_DUR[i]} s" ;;
		ttl_change)
			echo "ttl $ttl -> $((2 * ttl)), leader cut off etcd ($([ "${S_MEM[i]}" = 0 ] && echo refused || echo hang))" \
				"$((2 * ttl + S_EXTRA[i])) s, ttl back $([ "${S_HOW[i]}" = 1 ] && echo "during" || echo "after") the cut" ;;
		instance_stop) echo "leader's postgres$([ "${S_HOW[i]}" = 1 ] && echo " and watchdog") stopped $((ttl + S_EXTRA[i])) s" ;;
		clock_step) echo "$who's wall clock $([ "${S_HOW[i]}" = 1 ] && echo -|| echo +)$((10 * S_EXTRA[i])) s for $((ttl + S_EXTRA[i])) s" ;;
		dup_name)
			if [ "${S_HOW[i]}" = 0 ]; then echo "clone of the leader started under its name for $((ttl + S_EXTRA[i])) s"
			else echo "empty node started as replica $((S_REP[i] + 1)) for $((ttl + S_EXTRA[i])) s"; fi ;;
		etcd_wipe) echo "all keys deleted and all leases revoked ($([ "${S_HOW[i]}" = 1 ] && echo "leases" || echo "keys") first)" ;;
	esac
}

# --- processes we stopped or replaced ----------------------------------------

declare -A STOPPED=()	# pid -> its start time (field 22 of /proc/PID/stat)
declare -A PROXIES=()	# node -> process groups of its latency proxies

proc_start_time() {
	local s
	s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	s=${s##*) }
	cut -d' ' -f20 <<<"$s"
}

# stop_process PID: SIGSTOP, remembered so that cleanup resumes it
stop_process() {
	local st
	st=$(proc_start_time "$1") || return 1
	STOPPED[$1]=$st
	kill -STOP "$1"
}

# resume_process PID: SIGCONT, only if PID is still the process we stopped
resume_process() {
	local st
	st=$(proc_start_time "$1")
	[ -n "$st" ] && [ "$st" = "${STOPPED[$1]:-}" ] && kill -CONT "$1" 2>/dev/null
	unset "STOPPED[$1]"
}

# --- latency proxies (slow etcd) ----------------------------------------------

# proxy_start NAME LO HI SEED: the node's forwarders replaced by latency
# proxies (test/chaos/latency-proxy.pl) on the same ports
proxy_start() {
	local name=$1 k port groups="" try
	cluster_cut_etcd "$name" KILL
	for k in $(seq "$CLUSTER_ETCD_MEMBERS"); do
		port=$(node_fwd_port "$name" "$k")
		for try in 1 2 3 4 5; do
			setsid perl "$CHAOS_DIR/latency-proxy.pl" --listen "$port" \
				--target "$(cluster_etcd_client_port "$k")" --min-ms "$2" --max-ms "$3" \
				--seed "$(($4 * 10 + k))" >>"$TEST_TMP/proxy-$name.log" 2>&1 &
			local pid=$!
			cleanup_group "$pid"
			disown "$pid"
			# it listens, or it died (port still taken): try again
			if poll_until 3 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port" && kill -0 "$pid" 2>/dev/null; then
				groups+="${groups:+ }$pid"
				break
			fi
			kill -KILL -- "-$pid" 2>/dev/null
			sleep 0.5
		done
	done
	PROXIES[$name]=$groups
}

# proxy_stop NAME: the latency proxies go, the socat forwarders come back
proxy_stop() {
	local name=$1 g
	for g in ${PROXIES[$name]:-}; do
		forwarder_signal KILL "$g"
	done
	unset "PROXIES[$name]"
	cluster_restore_etcd "$name"
}

# --- etcd helpers -------------------------------------------------------------

etcd_member_url() { echo "http://127.0.0.1:$(cluster_etcd_client_port "$1")"; }

# etcd_raft_leader: the index of the member that leads the raft group, if any
etcd_raft_leader() {
	local k st
	for k in $(seq "$CLUSTER_ETCD_MEMBERS"); do
		st=$(curl -sf -m 2 -XPOST "$(etcd_member_url "$k")/v3/maintenance/status" -d '{}') || continue
		if [ "$(jq -r '.leader' <<<"$st")" = "$(jq -r '.header.member_id' <<<"$st")" ]; then
			echo "$k"
			return 0
		fi
	done
	return 1
}

etcd_all_healthy() {
	local k
	for k in $(seq "$CLUSTER_ETCD_MEMBERS"); do
		etcd_healthy "$(etcd_member_url "$k")" || return 1
	done
}

# chaos_set_mode: the mode in the shared config key, a compare-and-swap
# through etcd's JSON gateway that keeps every other field
chaos_set_mode() {
	local key k64 u out rev val val2 new v64 cmp res try
	key=/service/$CLUSTER_SCOPE/config
	k64=$(printf %s "$key" | base64 -w0)
	for try in 1 2 3 4 5; do
		for u in $(cluster_etcd_urls); do
			out=$(curl -sf -m 5 -XPOST "$u/v3/kv/range" -d "{\"key\":\"$k64\"}") && break
		done
		[ -n "$out" ] || { sleep 1; continue; }
		rev=$(jq -r '.kvs[0].mod_revision // "0"' <<<"$out")
		val=$(jq -r '.kvs[0].value // empty' <<<"$out" | base64 -d)
		[ -n "$val" ] || val='{}'
		[ -n "$MAX_LAG" ] && val2=$(jq -c --argjson m "$MAX_LAG" '. + {maximum_lag_on_failover: $m}' <<<"$val") || val2=$val
		case $MODE in
			async) new=$(jq -c 'del(.synchronous_mode, .synchronous_mode_strict)' <<<"$val2") ;;
			sync) new=$(jq -c '. + {synchronous_mode: true} | del(.synchronous_mode_strict)' <<<"$val2") ;;
			strict) new=$(jq -c '. + {synchronous_mode: true, synchronous_mode_strict: true}' <<<"$val2") ;;
		esac
		[ -n "$new" ] || return 1
		if [ "$new" = "$val" ]; then
			logonly "config key already right for mode $MODE: $val"
			return 0
		fi
		v64=$(printf %s "$new" | base64 -w0)
		if [ "$rev" = 0 ]; then
			cmp="{\"key\":\"$k64\",\"target\":\"CREATE\",\"create_revision\":\"0\",\"result\":\"EQUAL\"}"
		else
			cmp="{\"key\":\"$k64\",\"target\":\"MOD\",\"mod_revision\":\"$rev\",\"result\":\"EQUAL\"}"
		fi
		res=$(curl -sf -m 5 -XPOST "$u/v3/kv/txn" \
			-d "{\"compare\":[$cmp],\"success\":[{\"request_put\":{\"key\":\"$k64\",\"value\":\"$v64\"}}]}")
		if [ "$(jq -r '.succeeded // false' <<<"$res")" = true ]; then
			logonly "config key for mode $MODE: $val -> $new"
			return 0
		fi
		sleep 0.5
	done
	return 1
}

sync_key() { cluster_etcd_get "/service/$CLUSTER_SCOPE/sync"; }

# --- healing -----------------------------------------------------------------

# chaos_wait_whole TIMEOUT: every etcd member healthy, one leader and the
# others streaming from it (cluster_is_healthy), and the writer's commits
# acknowledged again; the reason when not is left in CLUSTER_STATE
chaos_wait_whole() {
	local end=$(($(cluster_now_ms) + $1 * 1000)) target
	CLUSTER_STATE="etcd not healthy"
	while [ "$(cluster_now_ms)" -lt "$end" ]; do
		etcd_all_healthy && break
		sleep 0.5
	done
	etcd_all_healthy || { CLUSTER_STATE="etcd not healthy"; return 1; }
	while [ "$(cluster_now_ms)" -lt "$end" ]; do
		cluster_is_healthy && break
		sleep 0.3
	done
	cluster_is_healthy || return 1
	# healthy at the very end of the timeout still gets 15 s for the acks
	[ "$end" -ge $(($(cluster_now_ms) + 15000)) ] || end=$(($(cluster_now_ms) + 15000))
	target=$(($(writer_acked) + 20))
	while [ "$(cluster_now_ms)" -lt "$end" ]; do
		[ "$(writer_acked)" -ge "$target" ] && return 0
		sleep 0.2
	done
	CLUSTER_STATE="healthy, but the writer got no acknowledgement"
	return 1
}

# --- the faults ----------------------------------------------------------------

# Each fault_KIND I LEADER: inject, hold, restore.  They set F_TARGET (what
# was hit), F_DETAIL (how), and T_INJECT / T_RESTORE (ms); healing and the
# check are common.  REPLICAS holds the running replicas of the moment, in
# name order.

pick_replica() { echo "${REPLICAS[$((S_REP[$1] % ${#REPLICAS[@]}))]}"; }
pick_node() {
	if [ "${S_WHO[$1]}" -lt 2 ]; then echo "$2"; else pick_replica "$1"; fi
}

fault_pg_kill() {
	F_TARGET=$2
	F_DETAIL="SIGKILL to the postmaster"
	T_INJECT=$(cluster_now_ms)
	cluster_kill_postmaster "$F_TARGET" || F_DETAIL+=" (no postmaster found)"
	T_RESTORE=$T_INJECT
}

fault_node_kill() {
	local hold=${S_EXTRA[$1]}
	F_TARGET=$(pick_node "$1" "$2")
	F_DETAIL="watchdog and postgres SIGKILLed, restarted after ${hold} s"
	T_INJECT=$(cluster_now_ms)
	cluster_kill_node "$F_TARGET"
	chaos_sleep "$hold"
	T_RESTORE=$(cluster_now_ms)
	cluster_restart_node "$F_TARGET"
}

fault_keeper_stop() {
	local hold=$((CLUSTER_TTL + S_EXTRA[$1])) pid
	F_TARGET=$2
	T_INJECT=$(cluster_now_ms)
	if ! pid=$(node_keeper_pid "$F_TARGET"); then
		F_DETAIL="no keeper process found"
		T_RESTORE=$T_INJECT
		return
	fi
	F_DETAIL="keeper (pid $pid) SIGSTOPped for ${hold} s"
	stop_process "$pid"
	chaos_sleep "$hold"
	T_RESTORE=$(cluster_now_ms)
	resume_process "$pid"
}

fault_postmaster_stop() {
	local hold=$((CLUSTER_TTL + S_EXTRA[$1])) pid
	F_TARGET=$2
	T_INJECT=$(cluster_now_ms)
	if ! pid=$(node_postmaster_pid "$F_TARGET"); then
		F_DETAIL="no postmaster found"
		T_RESTORE=$T_INJECT
		return
	fi
	F_DETAIL="postmaster (pid $pid) SIGSTOPped for ${hold} s"
	stop_process "$pid"
	chaos_sleep "$hold"
	T_RESTORE=$(cluster_now_ms)
	resume_process "$pid"
}

# how: 0 = requests hang (forwarders SIGSTOPped), 1 = refused (killed)
cut_node() {
	local i=$1 hold=$((CLUSTER_TTL + S_EXTRA[$1])) how=STOP
	[ "${S_HOW[$i]}" = 1 ] && how=KILL
	F_DETAIL="cut off etcd ($how: requests $([ $how = STOP ] && echo hang || echo refused)) for ${hold} s"
	T_INJECT=$(cluster_now_ms)
	cluster_cut_etcd "$F_TARGET" "$how"
	chaos_sleep "$hold"
	T_RESTORE=$(cluster_now_ms)
	cluster_restore_etcd "$F_TARGET"
}

fault_leader_cutoff() {
	F_TARGET=$2
	cut_node "$1"
}

fault_replica_cutoff() {
	F_TARGET=$(pick_replica "$1")
	cut_node "$1"
}

# how: 0 = the raft leader, 1 = a follower
fault_etcd_member_down() {
	local i=$1 hold=$((3 + 2 * S_EXTRA[$1])) m k followers=()
	m=$(etcd_raft_leader) || m=1
	if [ "${S_HOW[$i]}" = 1 ]; then
		for k in $(seq "$CLUSTER_ETCD_MEMBERS"); do [ "$k" != "$m" ] && followers+=("$k"); done
		m=${followers[$((S_MEM[$i] % ${#followers[@]}))]}
		F_DETAIL="follower"
	else
		F_DETAIL="raft leader"
	fi
	F_TARGET="etcd$m"
	F_DETAIL="$F_DETAIL etcd member $m SIGKILLed, restarted after ${hold} s"
	T_INJECT=$(cluster_now_ms)
	cluster_etcd_stop_member "$m" KILL
	chaos_sleep "$hold"
	T_RESTORE=$(cluster_now_ms)
	cluster_etcd_start_member "$m"
}

# how: 0 = members SIGKILLed (restarted with their data), 1 = SIGSTOPped
fault_etcd_quorum_loss() {
	local i=$1 hold=$((12 + S_EXTRA[$1] / 2)) keep=$((S_MEM[$1] + 1)) how=KILL k down=()
	[ "${S_HOW[$i]}" = 1 ] && how=STOP
	for k in $(seq "$CLUSTER_ETCD_MEMBERS"); do [ "$k" != "$keep" ] && down+=("$k"); done
	F_TARGET="etcd${down[0]}+etcd${down[1]}"
	F_DETAIL="2 of 3 etcd members $how for ${hold} s (etcd$keep stays)"
	T_INJECT=$(cluster_now_ms)
	for k in "${down[@]}"; do cluster_etcd_stop_member "$k" "$how"; done
	chaos_sleep "$hold"
	T_RESTORE=$(cluster_now_ms)
	for k in "${down[@]}"; do cluster_etcd_start_member "$k"; done
}

# how: 0 = pgha_switchover('C') on the other replica, 1 = pghactl switchover.
# In sync and strict mode the candidate is the synchronous standby of the
# sync key two times out of three (another one is refused, as in Patroni).
fault_switchover() {
	local i=$1 asker out rc n sync_standby=""
	F_TARGET=$(pick_replica "$i")
	if [ "$MODE" != async ] && [ "${S_WHO[$i]}" -lt 2 ]; then
		sync_standby=$(sync_key | jq -r '.sync_standby // empty' 2>/dev/null | cut -d, -f1)
		for n in "${REPLICAS[@]}"; do [ "$n" = "$sync_standby" ] && F_TARGET=$n; done
	fi
	T_INJECT=$(cluster_now_ms)
	if [ "${S_HOW[$i]}" = 0 ]; then
		asker=$2
		for n in "${REPLICAS[@]}"; do [ "$n" != "$F_TARGET" ] && asker=$n; done
		out=$(PGOPTIONS="-c pgha.switchover_timeout=30s" node_sql "$asker" \
			"SELECT pgha_switchover('$F_TARGET')" 2>&1)
		rc=$?
		F_DETAIL="pgha_switchover('$F_TARGET') on $asker: $([ $rc = 0 ] && echo "returned ${out//$'\n'/ }" ||
			echo "failed: $(grep -m1 -E 'ERROR|FATAL|DETAIL' <<<"$out")")"
	else
		out=$("$PGBIN/pghactl" --endpoints "$(cluster_etcd_endpoints)" --scope "$CLUSTER_SCOPE" \
			switchover --candidate "$F_TARGET" --force --timeout 30 </dev/null 2>&1)
		rc=$?
		F_DETAIL="pghactl switchover --candidate $F_TARGET: exit $rc, $(grep -v '^DETAIL\|^HINT' <<<"$out" | tail -1)"
	fi
	logonly "switchover output: $out"
	T_RESTORE=$(cluster_now_ms)
}

fault_slow_etcd() {
	local i=$1
	F_TARGET=$(pick_node "$i" "$2")
	F_DETAIL="etcd requests slowed by ${S_LO[$i]}-${S_HI[$i]} ms for ${S_DUR[$i]} s"
	T_INJECT=$(cluster_now_ms)
	proxy_start "$F_TARGET" "${S_LO[$i]}" "${S_HI[$i]}" "$((SEED * 1000 + i))"
	chaos_sleep "${S_DUR[$i]}"
	T_RESTORE=$(cluster_now_ms)
	proxy_stop "$F_TARGET"
}

# chaos_edit_config PATH=VALUE: pghactl edit-config --set on the shared
# config key (straight to etcd, not through a node's forwarders), retried
# for 20 s at most (a compare-and-swap may meet the keeper's own write)
chaos_edit_config() {
	local out rc end=$(($(cluster_now_ms) + 20000))
	while :; do
		out=$("$PGBIN/pghactl" --endpoints "$(cluster_etcd_endpoints)" --scope "$CLUSTER_SCOPE" \
			edit-config --set "$1" --force </dev/null 2>&1)
		rc=$?
		logonly "pghactl edit-config --set $1: exit $rc: ${out//$'\n'/ | }"
		[ "$rc" = 0 ] && return 0
		[ "$(cluster_now_ms)" -lt "$end" ] || return 1
		sleep 0.5
	done
}

# ttl_change: the shared ttl raised to 2 x ttl, and, once the keepers have
# seen it (2 loop_waits), the leader cut off etcd (S_MEM 0: forwarders
# killed, requests refused; otherwise SIGSTOPped, requests hang) for
# 2 x ttl + 2-8 s.  how: 0 = ttl back to its value after the cut is
# restored, 1 = while the leader is still cut off (it cannot see the change).
fault_ttl_change() {
	local i=$1 up=$((2 * CLUSTER_TTL)) hold cut=STOP first rest
	hold=$((2 * CLUSTER_TTL + S_EXTRA[$1]))
	[ "${S_MEM[$i]}" = 0 ] && cut=KILL
	F_TARGET=$2
	F_DETAIL="ttl $CLUSTER_TTL -> $up, leader cut off etcd ($cut) for ${hold} s, ttl -> $CLUSTER_TTL"
	[ "${S_HOW[$i]}" = 1 ] && F_DETAIL+=" during the cut" || F_DETAIL+=" after it"
	T_INJECT=$(cluster_now_ms)
	chaos_edit_config "ttl=$up" || F_DETAIL+=" (ttl $up NOT written)"
	chaos_sleep $((2 * CLUSTER_LOOP_WAIT))
	cluster_cut_etcd "$F_TARGET" "$cut"
	if [ "${S_HOW[$i]}" = 1 ]; then
		first=$((CLUSTER_TTL + 1))
		rest=$((hold - first))
		chaos_sleep "$first"
		chaos_edit_config "ttl=$CLUSTER_TTL" || F_DETAIL+=" (ttl $CLUSTER_TTL NOT written)"
		chaos_sleep "$rest"
		T_RESTORE=$(cluster_now_ms)
		cluster_restore_etcd "$F_TARGET"
	else
		chaos_sleep "$hold"
		T_RESTORE=$(cluster_now_ms)
		cluster_restore_etcd "$F_TARGET"
		chaos_edit_config "ttl=$CLUSTER_TTL" || F_DETAIL+=" (ttl $CLUSTER_TTL NOT written)"
	fi
}

# instance_stop: every process of the leader's postgres SIGSTOPped (the
# postmaster first, so that it forks no more, then each of its children),
# as a paused VM or a stalled cgroup would, for ttl + 2-8 s, then SIGCONT.
# how: 0 = postgres only (its watchdog sees a live postmaster), 1 = the
# watchdog's process group too (stopped first, resumed last).
fault_instance_stop() {
	local i=$1 hold=$((CLUSTER_TTL + S_EXTRA[$1])) pm wd p n=0 pids=() wdpids=()
	F_TARGET=$2
	T_INJECT=$(cluster_now_ms)
	if ! pm=$(node_postmaster_pid "$F_TARGET"); then
		F_DETAIL="no postmaster found"
		T_RESTORE=$T_INJECT
		return
	fi
	if [ "${S_HOW[$i]}" = 1 ] && wd=${NODE_WD[$F_TARGET]:-} && [ -n "$wd" ]; then
		for p in $wd $(pgrep -g "$wd"); do
			[ "$p" = "$pm" ] && continue
			stop_process "$p" && wdpids+=("$p")
		done
	fi
	stop_process "$pm" && pids+=("$pm")
	for p in $(pgrep -P "$pm"); do stop_process "$p" && pids+=("$p"); done
	n=${#pids[@]}
	F_DETAIL="postmaster (pid $pm) and its $((n - 1)) children SIGSTOPped"
	[ ${#wdpids[@]} -gt 0 ] && F_DETAIL+=", and the watchdog (pid $wd, ${#wdpids[@]} processes)"
	F_DETAIL+=" for ${hold} s"
	logonly "instance_stop: postgres ${pids[*]}; watchdog ${wdpids[*]:-}"
	chaos_sleep "$hold"
	T_RESTORE=$(cluster_now_ms)
	for p in "${pids[@]}"; do resume_process "$p"; done
	for p in ${wdpids[@]+"${wdpids[@]}"}; do resume_process "$p"; done
}

# clock_step: the wall clock of the leader (2/3) or a replica stepped by
# 20-80 s, forward (how 0) or backward (how 1), through libfaketime
# (cluster.sh, CLUSTER_FAKETIME, which the run turns on when its schedule
# holds this kind); held ttl + 2-8 s, then stepped back to the true time,
# a second step the other way, as an NTP correction would make.
fault_clock_step() {
	local i=$1 hold=$((CLUSTER_TTL + S_EXTRA[$1])) step=$((10 * S_EXTRA[$1])) sign=+
	[ "${S_HOW[$i]}" = 1 ] && sign=-
	F_TARGET=$(pick_node "$i" "$2")
	F_DETAIL="wall clock stepped ${sign}${step} s for ${hold} s, then back"
	T_INJECT=$(cluster_now_ms)
	cluster_clock_step "$F_TARGET" "${sign}${step}s" || F_DETAIL="clock step FAILED (CLUSTER_FAKETIME off?)"
	chaos_sleep "$hold"
	T_RESTORE=$(cluster_now_ms)
	cluster_clock_reset "$F_TARGET"
}

# dup_name: a node started with the name of a running member, on a port of
# its own (CLUSTER_PG_BASE + 9), by a pgha-watchdog, for ttl + 2-8 s.
# how: 0 = a pg_basebackup -R clone of the leader, run with the leader's
# config (pgha.node_name, scope, etcd endpoints: its forwarders; only port
# and connect_address are its own); 1 = an empty data directory with a
# replica's config, which the watchdog bootstraps as that node.  Every
# 0.3 s the duplicate is asked whether it takes writes: it must never (a
# second primary, which the probes do not see: counted as a split-brain
# window).  Healed by stopping it as an operator would (SIGTERM to its
# watchdog, which stops postgres) and removing its data directory.
DUP_WD=
DUP_DIR=
dup_writable() { [ "$(dup_sql "SELECT NOT pg_is_in_recovery()")" = t ]; }
dup_sql() {
	PGCONNECT_TIMEOUT=1 "$PGBIN/psql" -X -h 127.0.0.1 -p "$DUP_PORT" -U postgres -d postgres -Atq \
		-c "$1" 2>/dev/null
}
dup_stop() {
	local wd=$DUP_WD p
	[ -n "$wd" ] || return 0
	pid_ours "$wd" && kill -TERM "$wd" 2>/dev/null
	poll_until 60 bash -c "! kill -0 $wd 2>/dev/null"
	if kill -0 "$wd" 2>/dev/null && pid_ours "$wd"; then
		logonly "dup_name: its watchdog did not exit on SIGTERM: killed"
		kill -KILL -- "-$wd" 2>/dev/null
		kill -KILL "$wd" 2>/dev/null
	fi
	wait "$wd" 2>/dev/null
	cluster_forget_pid "$wd"
	p=$(head -1 "$DUP_DIR/postmaster.pid" 2>/dev/null)
	if [ -n "$p" ] && [ "/proc/$p/cwd" -ef "$DUP_DIR" ]; then
		"$PGBIN/pg_ctl" -D "$DUP_DIR" stop -m immediate -w >/dev/null 2>&1
	fi
	rm -rf "$DUP_DIR"
	DUP_WD=
}
fault_dup_name() {
	local i=$1 hold=$((CLUSTER_TTL + S_EXTRA[$1])) name conf wd end out
	DUP_PORT=$((CLUSTER_PG_BASE + 9))
	DUP_DIR=$TEST_TMP/pg-dup$i
	conf=$TEST_TMP/dup$i.conf
	DUP_WRITABLE_MS=0
	if [ "${S_HOW[$i]}" = 0 ]; then name=$2; else name=$(pick_replica "$i"); fi
	F_TARGET="$name"
	sed -e "s/^port = .*/port = $DUP_PORT/" \
		-e "s/^pgha.connect_address = .*/pgha.connect_address = '127.0.0.1:$DUP_PORT'/" \
		-e "s/^log_line_prefix = .*/log_line_prefix = '%m [%p] $name-dup '/" \
		"$TEST_TMP/$name.conf" >"$conf"
	T_INJECT=$(cluster_now_ms)
	if [ "${S_HOW[$i]}" = 0 ]; then
		F_DETAIL="pg_basebackup -R clone of the leader started as '$name' (port $DUP_PORT)"
		out=$("$PGBIN/pg_basebackup" -h 127.0.0.1 -p "$(node_port "$name")" -U postgres -D "$DUP_DIR" \
			-R -X stream -c fast 2>&1) || F_DETAIL+=" (pg_basebackup failed: ${out//$'\n'/ })"
		rm -f "$DUP_DIR/pgha.heartbeat" "$DUP_DIR/pgha.fenced"
	else
		F_DETAIL="empty data directory started as replica '$name' (port $DUP_PORT)"
		mkdir -p "$DUP_DIR"
		chmod 700 "$DUP_DIR"
	fi
	CLEANUP_DATADIRS+=("$DUP_DIR")
	wd=$(cluster_watchdog_bin)
	setsid "$wd" --config "$conf" --pgdata "$DUP_DIR" --bindir "$PGBIN" \
		--log "$TEST_TMP/watchdog-dup$i.log" --pg-log "$DUP_DIR.log" \
		--initdb-options '-A trust -U postgres --no-sync' \
		>>"$TEST_TMP/watchdog-dup$i.out" 2>&1 </dev/null &
	DUP_WD=$!
	cleanup_pid "$DUP_WD"
	end=$((T_INJECT + hold * 1000))
	while [ "$(cluster_now_ms)" -lt "$end" ]; do
		if dup_writable; then
			[ "$DUP_WRITABLE_MS" = 0 ] && logonly "dup_name: the duplicate '$name' takes writes"
			DUP_WRITABLE_MS=$(cluster_now_ms)
		fi
		chaos_sleep 0.3
	done
	T_RESTORE=$(cluster_now_ms)
	logonly "dup_name: the duplicate's status: $(dup_sql "SELECT role, state, leader FROM pgha_status()")"
	logonly "dup_name: leader key $(cluster_leader), members/$name: $(cluster_etcd_get "/service/$CLUSTER_SCOPE/members/$name")"
	if dup_writable; then DUP_WRITABLE_MS=$(cluster_now_ms); fi
	[ "$DUP_WRITABLE_MS" != 0 ] && F_DETAIL+="; it TOOK WRITES"
	dup_stop
}

# etcd_wipe: every key of the scope deleted (one range delete) and every
# lease revoked (the keys on them go too), as a lost or restored-from-
# nothing etcd would look; how 0: keys first, 1: leases first.  Healing is
# the cluster's own: the leader must rebuild its keys (leader, members,
# config, initialize) without a second primary.  The config key is checked
# afterwards (mode kept?) and written back if it was not.
fault_etcd_wipe() {
	local i=$1 u out k64 e64 leases l nl=0 nk="?"
	F_TARGET=etcd
	WIPE_INIT=$(cluster_etcd_get "/service/$CLUSTER_SCOPE/initialize")
	for u in $(cluster_etcd_urls); do etcd_healthy "$u" && break; done
	k64=$(printf %s "/service/$CLUSTER_SCOPE/" | base64 -w0)
	e64=$(printf %s "/service/${CLUSTER_SCOPE}0" | base64 -w0)
	T_INJECT=$(cluster_now_ms)
	leases=$(curl -sf -m 5 -XPOST "$u/v3/lease/leases" -d '{}' | jq -r '.leases[]?.ID')
	if [ "${S_HOW[$i]}" = 1 ]; then
		for l in $leases; do curl -sf -m 5 -XPOST "$u/v3/lease/revoke" -d "{\"ID\":\"$l\"}" >/dev/null && nl=$((nl + 1)); done
	fi
	out=$(curl -sf -m 5 -XPOST "$u/v3/kv/deleterange" -d "{\"key\":\"$k64\",\"range_end\":\"$e64\"}")
	nk=$(jq -r '.deleted // "0"' <<<"$out" 2>/dev/null)
	if [ "${S_HOW[$i]}" = 0 ]; then
		# and the leases granted since the list was taken
		leases+=" $(curl -sf -m 5 -XPOST "$u/v3/lease/leases" -d '{}' | jq -r '.leases[]?.ID')"
		for l in $(tr ' ' '\n' <<<"$leases" | sort -u); do
			curl -sf -m 5 -XPOST "$u/v3/lease/revoke" -d "{\"ID\":\"$l\"}" >/dev/null && nl=$((nl + 1))
		done
	fi
	T_RESTORE=$(cluster_now_ms)
	F_DETAIL="$nk keys of /service/$CLUSTER_SCOPE/ deleted and $nl leases revoked ($([ "${S_HOW[$i]}" = 0 ] && echo "keys first" || echo "leases first"))"
}

# --- checks ------------------------------------------------------------------

# writer_slice FROM_MS TO_MS < writer.log: the writer's lines of that
# stretch that the checker reads: "ack" by its acknowledgement time,
# "unknown" by the time of the error before it
writer_slice() {
	awk -v a="$1" -v b="$2" '
		$1 == "ack" { t = $4; if (t >= a && t < b) print; next }
		$1 == "err" { t = $3; next }
		$1 == "unknown" { if (t >= a && t < b) print }'
}

# window_check I FROM_MS TO_MS: the workload's logs of that stretch, checked
# against the current leader: sets W_LOST, W_SPLIT, W_ACKED, W_OUTAGE (and
# W_OK=0 when the checker could not run); the report goes to the log
window_check() {
	local i=$1 from=$2 to=$3 d probes="" n f line
	d=$TEST_TMP/windows/$i
	mkdir -p "$d"
	writer_slice "$from" "$to" <"$WORKLOAD_DIR/writer.log" >"$d/writer.log"
	for n in "${CLUSTER_NODES[@]}"; do
		f=$WORKLOAD_DIR/probe-$n.log
		awk -v a="$from" -v b="$to" 'NR == 1 && /^# probe / { print; next }
			$1 == "w" && $3 >= a && $3 < b' "$f" >"$d/probe-$n.log"
		probes+="${probes:+,}$d/probe-$n.log"
	done
	# split brains are found in the probes' lines: none means a blind check
	W_PROBES=$(cat "$d"/probe-*.log | awk '$1 == "w"' | wc -l)
	"$WORKLOAD" check --writer "$d/writer.log" --probes "$probes" --final-dsn "$(cluster_dsn)" \
		--allow-loss 1000000 >"$d/check.out" 2>&1
	sed "s/^/  window $i: /" "$d/check.out" >>"$CHAOS_LOG"
	line=$(grep '^check: ' "$d/check.out" | tail -1)
	W_OK=1
	[ -n "$line" ] || W_OK=0
	W_LOST=$(sed -n 's/.* lost=\([0-9]*\).*/\1/p' <<<"$line")
	W_SPLIT=$(sed -n 's/.* split_brain_windows=\([0-9]*\).*/\1/p' <<<"$line")
	W_ACKED=$(sed -n 's/.* acked=\([0-9]*\).*/\1/p' <<<"$line")
	W_OUTAGE=$(sed -n 's/.*outage_ms=\([0-9-]*\).*/\1/p' <<<"$line")
	: "${W_LOST:=0}" "${W_SPLIT:=0}" "${W_ACKED:=0}" "${W_OUTAGE:=0}"
	if [ "$W_SPLIT" -gt 0 ]; then
		grep '^split-brain' "$d/check.out" | sed "s/^/# fault $i: /"
	fi
}

# final_check: the whole writer log against the final leader: sets
# FINAL_LOST, FINAL_ACKED, FINAL_UNKNOWN (empty when it could not run), and
# F_FLOST[i], the lost writes by the fault that lost them: the fault during
# which the write was acknowledged, or the next one when it was
# acknowledged while the cluster was whole
final_check() {
	local d=$TEST_TMP/final line i
	mkdir -p "$d"
	echo "# probe -" >"$d/no-probe.log"
	"$WORKLOAD" check --writer "$WORKLOAD_DIR/writer.log" --probes "$d/no-probe.log" \
		--final-dsn "$(cluster_dsn)" --allow-loss 1000000 >"$d/check.out" 2>&1
	sed "s/^/  final: /" "$d/check.out" >>"$CHAOS_LOG"
	line=$(grep '^check: ' "$d/check.out" | tail -1)
	FINAL_LOST=$(sed -n 's/.* lost=\([0-9]*\).*/\1/p' <<<"$line")
	FINAL_ACKED=$(sed -n 's/.* acked=\([0-9]*\).*/\1/p' <<<"$line")
	FINAL_UNKNOWN=$(sed -n 's/.* unknown=\([0-9]*\).*/\1/p' <<<"$line")
	for i in $(seq "$FROM" "$FAULTS"); do F_FLOST[i]=0; done
	[ -n "$FINAL_LOST" ] && [ "$FINAL_LOST" -gt 0 ] || return 0
	# which ids: the final leader's table against the acknowledgements
	"$PGBIN/psql" -X -Atq -d "$(cluster_dsn)" -c "SELECT id FROM pgha_writes" >"$d/present" 2>>"$CHAOS_LOG" || return 0
	for i in $(seq "$FROM" "$FAULTS"); do
		[ -n "${F_T0[i]:-}" ] && echo "$i ${F_T0[i]} ${F_T2[i]}"
	done >"$d/faults"
	awk 'FILENAME == ARGV[1] { n++; fi[n] = $1; t0[n] = $2; t2[n] = $3; next }
		FILENAME == ARGV[2] { present[$1] = 1; next }
		$1 == "ack" && !($2 in present) {
			f = "after";
			for (k = 1; k <= n; k++) {
				if ($4 < t0[k]) { f = fi[k]; break }
				if ($4 <= t2[k]) { f = fi[k]; break }
			}
			print $2, $4, $5, f
		}' "$d/faults" "$d/present" "$WORKLOAD_DIR/writer.log" >"$d/lost"
	sed 's/^/  lost id, acked at, port, fault: /' "$d/lost" >>"$CHAOS_LOG"
	while read -r _ _ _ i; do
		[ "$i" = after ] && continue
		F_FLOST[i]=$((F_FLOST[i] + 1))
	done <"$d/lost"
}

# --- one fault -------------------------------------------------------------------

declare -a F_T0 F_T1 F_T2 F_HEALED F_LBEFORE F_LAFTER F_TARGETS F_LOST F_SPLIT F_OUTAGE F_FLOST F_ACKED
UNHEALED=0
ABORTED=0
SPLIT_TOTAL=0
WINDOW_FROM=0

run_fault() {
	local i=$1 kind=${S_KIND[$1]} leader n sync="" whole=1 heal_ms healed_txt
	chaos_sleep "${S_GAP[$i]}"
	leader=$(cluster_leader)
	REPLICAS=()
	for n in $(cluster_up_nodes | sort); do [ "$n" != "$leader" ] && REPLICAS+=("$n"); done
	if [ "$MODE" != async ]; then
		sync=$(sync_key)
		logonly "fault $i: sync key before: ${sync:-<none>}"
	fi
	F_TARGET=- F_DETAIL=
	logonly "fault $i: $(schedule_line "$i"); leader $leader, replicas ${REPLICAS[*]}"
	"fault_$kind" "$i" "$leader"
	logonly "fault $i: $kind on $F_TARGET: $F_DETAIL; restored $(secs $((T_RESTORE - T_INJECT))) s after the injection"
	if ! chaos_wait_whole "$HEAL_TIMEOUT"; then
		whole=0
		say "fault $i ($kind on $F_TARGET) did not heal within $HEAL_TIMEOUT s: $CLUSTER_STATE"
		cluster_dump >>"$CHAOS_LOG" 2>&1
		# one more chance for the next faults to run on a whole cluster
		if ! chaos_wait_whole "$HEAL_TIMEOUT"; then
			say "still not whole after another $HEAL_TIMEOUT s ($CLUSTER_STATE): the run stops here"
			ABORTED=1
		fi
	fi
	F_T0[i]=$T_INJECT
	F_T1[i]=$T_RESTORE
	F_T2[i]=$(cluster_now_ms)
	F_HEALED[i]=$whole
	[ "$whole" = 1 ] || UNHEALED=$((UNHEALED + 1))
	F_TARGETS[i]=$F_TARGET
	F_LBEFORE[i]=${leader:--}
	F_LAFTER[i]=$(cluster_leader)
	: "${F_LAFTER[i]:=-}"
	heal_ms=$((F_T2[i] - T_RESTORE))

	window_check "$i" "$WINDOW_FROM" "${F_T2[i]}"
	WINDOW_FROM=${F_T2[i]}
	F_LOST[i]=$W_LOST
	F_SPLIT[i]=$W_SPLIT
	F_OUTAGE[i]=$W_OUTAGE
	F_ACKED[i]=$W_ACKED
	SPLIT_TOTAL=$((SPLIT_TOTAL + W_SPLIT))

	if [ "$whole" = 1 ]; then healed_txt="healed in $(secs "$heal_ms") s"; else healed_txt="NOT HEALED"; fi
	say "fault $i/$FAULTS $kind target=$F_TARGET ($F_DETAIL), held $(secs $((T_RESTORE - T_INJECT))) s," \
		"$healed_txt, leader ${F_LBEFORE[i]} -> ${F_LAFTER[i]}," \
		"outage $(secs "$W_OUTAGE") s, lost=$W_LOST split=$W_SPLIT${sync:+ sync=$sync}"
	if [ "$W_OK" = 0 ]; then
		tap_result NOTOK "fault $i $kind: the checker ran on its window"
	fi
	if [ "$W_PROBES" -eq 0 ]; then
		tap_result NOTOK "fault $i $kind: the probes took writes in its window (none: no split-brain check)"
	fi
	fault_after_checks "$i" "$kind"
	if [ "$whole" = 1 ]; then
		tap_result OK "fault $i $kind on $F_TARGET healed in $(secs "$heal_ms") s"
	else
		tap_result NOTOK "fault $i $kind on $F_TARGET healed within $HEAL_TIMEOUT s ($CLUSTER_STATE)"
	fi
	if [ "$W_SPLIT" -gt 0 ]; then
		tap_result NOTOK "fault $i $kind: no split-brain window ($W_SPLIT found)"
	fi
}

# fault_after_checks I KIND: what some kinds check beyond the window's
# lost writes and split brains, once the cluster is whole (or given up on)
fault_after_checks() {
	local i=$1 kind=$2 cfg ttl init want
	case $kind in
		dup_name)
			if [ "${DUP_WRITABLE_MS:-0}" != 0 ]; then
				F_SPLIT[i]=$((F_SPLIT[i] + 1))
				SPLIT_TOTAL=$((SPLIT_TOTAL + 1))
				tap_result NOTOK "fault $i dup_name: the duplicate of $F_TARGET never took writes (it did)"
			fi ;;
		ttl_change | etcd_wipe)
			cfg=$(cluster_etcd_get "/service/$CLUSTER_SCOPE/config")
			ttl=$(jq -r '.ttl // empty' <<<"$cfg" 2>/dev/null)
			case $MODE in
				async) want='(.synchronous_mode // false) == false' ;;
				sync) want='.synchronous_mode == true and (.synchronous_mode_strict // false) == false' ;;
				strict) want='.synchronous_mode == true and .synchronous_mode_strict == true' ;;
			esac
			if [ "$kind" = etcd_wipe ]; then
				init=$(cluster_etcd_get "/service/$CLUSTER_SCOPE/initialize")
				if [ -n "$init" ] && [ "$init" = "$WIPE_INIT" ]; then
					tap_result OK "fault $i etcd_wipe: the initialize key is back ($init)"
				else
					tap_result NOTOK "fault $i etcd_wipe: the initialize key is back ('$init', was '$WIPE_INIT')"
				fi
				if [ -n "$cfg" ] && jq -e "$want" <<<"$cfg" >/dev/null 2>&1; then
					tap_result OK "fault $i etcd_wipe: the config key is back with mode $MODE"
				else
					tap_result NOTOK "fault $i etcd_wipe: the config key is back with mode $MODE ('$cfg')"
				fi
			fi
			if [ -n "$cfg" ] && [ "$ttl" = "$CLUSTER_TTL" ] && jq -e "$want" <<<"$cfg" >/dev/null 2>&1; then
				return 0
			fi
			# the rest of the run needs the settings it was started with
			say "fault $i $kind: config key '$cfg': ttl $CLUSTER_TTL and mode $MODE written back"
			chaos_edit_config "ttl=$CLUSTER_TTL" >/dev/null
			chaos_set_mode ;;
	esac
}

# --- the report ------------------------------------------------------------------

kind_table() {
	local k i n healed lost flost split heals outmax
	printf '%-18s %5s %7s %14s %14s %6s %6s\n' kind count healed "heal s med/max" "outage s max" lost split
	for k in "${ALL_KINDS[@]}"; do
		n=0 healed=0 lost=0 split=0 heals="" outmax=0
		for i in $(seq "$FROM" "$FAULTS"); do
			[ -n "${F_T0[i]:-}" ] && [ "${S_KIND[i]}" = "$k" ] || continue
			n=$((n + 1))
			[ "${F_HEALED[i]}" = 1 ] && { healed=$((healed + 1)); heals+="$((F_T2[i] - F_T1[i])) "; }
			lost=$((lost + ${F_FLOST[i]:-0}))
			split=$((split + F_SPLIT[i]))
			[ "${F_OUTAGE[i]}" -gt "$outmax" ] && outmax=${F_OUTAGE[i]}
		done
		[ "$n" -gt 0 ] || continue
		printf '%-18s %5d %7d %14s %14s %6d %6d\n' "$k" "$n" "$healed" \
			"$(tr ' ' '\n' <<<"$heals" | grep . | sort -n | awk '{ v[NR] = $1 } END {
				if (NR) printf "%.1f/%.1f", v[int((NR + 1) / 2)] / 1000, v[NR] / 1000; else print "-" }')" \
			"$(secs "$outmax")" "$lost" "$split"
	done
}

# --- main ------------------------------------------------------------------------

chaos_cleanup() {
	local p n
	trap - INT TERM
	for p in "${!STOPPED[@]}"; do resume_process "$p"; done
	for n in "${!PROXIES[@]}"; do proxy_stop "$n"; done
	dup_stop
	cluster_cleanup
}

chaos_main() {
	local i replay t_start rc=0 done_faults=0 acked
	replay="test/chaos/run.sh --mode $MODE --seed $SEED --faults $FAULTS"
	[ -n "$KINDS" ] && replay+=" --kinds $KINDS"
	[ -n "$SEQUENCE" ] && replay+=" --sequence $SEQUENCE"
	[ -n "$MAX_LAG" ] && replay+=" --max-lag $MAX_LAG"
	: >"$CHAOS_LOG"
	t_start=$(cluster_now_ms)
	[ "$FROM" -gt 1 ] && replay+=" --from $FROM"
	say "chaos: mode=$MODE seed=$SEED faults=$FAULTS${KINDS:+ kinds=$KINDS}; files in $TEST_TMP"
	say "replay: $replay"
	chaos_schedule
	for i in $(seq "$FAULTS"); do logonly "schedule: $(schedule_line "$i")"; done
	say "schedule: $(for i in $(seq "$FROM" "$FAULTS"); do printf '%s ' "${S_KIND[i]}"; done)"

	# wall-clock steps need every node under libfaketime from its start
	for i in $(seq "$FROM" "$FAULTS"); do
		[ "${S_KIND[i]}" = clock_step ] && CLUSTER_FAKETIME=1
	done
	[ "$CLUSTER_FAKETIME" = 1 ] && say "nodes run under libfaketime (clock_step in the schedule)"
	if ! cluster_start 3; then
		tap_result NOTOK "the cluster starts (3 etcd members, 3 nodes)"
		cluster_dump >>"$CHAOS_LOG" 2>&1
		exit 2
	fi
	if ! chaos_wait_cluster_start; then
		tap_result NOTOK "the cluster starts: one leader, two streaming replicas ($CLUSTER_STATE)"
		cluster_dump >>"$CHAOS_LOG" 2>&1
		exit 2
	fi
	if ! chaos_set_mode; then
		tap_result NOTOK "mode $MODE written to the config key"
		exit 2
	fi
	MAX_LAG_USED=$(cluster_etcd_get "/service/$CLUSTER_SCOPE/config" | jq -r '.maximum_lag_on_failover // 1048576' 2>/dev/null)
	[[ $MAX_LAG_USED =~ ^[0-9]+$ ]] || MAX_LAG_USED=1048576
	tap_result OK "the cluster starts, mode $MODE in the config key: $(cluster_etcd_get "/service/$CLUSTER_SCOPE/config")"
	if [ "$MODE" != async ]; then
		if poll_until 30 sync_key_named; then
			say "sync key: $(sync_key)"
		else
			say "no sync key naming a standby within 30 s: $(sync_key)"
		fi
	fi
	cluster_workload_start 86400
	if ! cluster_wait_writes 50 30; then
		tap_result NOTOK "the writer's commits are acknowledged"
		exit 2
	fi
	WINDOW_FROM=$(cluster_now_ms)
	say "leader $(cluster_leader); writer and probes running; faults begin"

	for i in $(seq "$FROM" "$FAULTS"); do
		run_fault "$i"
		done_faults=$((done_faults + 1))
		[ "$ABORTED" = 1 ] && break
	done

	# a last stretch of writes, then the verdict
	[ "$ABORTED" = 1 ] || cluster_wait_writes 50 20
	cluster_workload_stop
	if [ "$ABORTED" = 0 ] && [ "$done_faults" -gt 0 ]; then
		# writes after the last fault's window (a split brain there counts too)
		window_check end "$WINDOW_FROM" "$(($(cluster_now_ms) + 1))"
		SPLIT_TOTAL=$((SPLIT_TOTAL + W_SPLIT))
	fi
	final_check
	acked=${FINAL_ACKED:-?}
	# lost writes are evidence worth a look, even where they are allowed
	if [ -n "$FINAL_LOST" ] && [ "$FINAL_LOST" -gt 0 ]; then
		export PGHA_KEEP_TMP=1
		KEEP=1
	fi
	say "per kind:"
	kind_table | while IFS= read -r l; do say "  $l"; done
	say "chaos: mode=$MODE seed=$SEED faults=$done_faults lost=${FINAL_LOST:-?}" \
		"split_brain_windows=$SPLIT_TOTAL unhealed=$UNHEALED acked=$acked unknown=${FINAL_UNKNOWN:-?}" \
		"duration=$(secs $(($(cluster_now_ms) - t_start)))s"

	if [ -z "$FINAL_LOST" ]; then
		tap_result NOTOK "the final check ran"
		rc=1
	elif [ "$MODE" = async ]; then
		async_loss_verdict || rc=1
	elif [ "$FINAL_LOST" -eq 0 ]; then
		tap_result OK "no acknowledged write lost (mode $MODE)"
	else
		tap_result NOTOK "no acknowledged write lost (mode $MODE): $FINAL_LOST lost"
		rc=1
	fi
	if [ "$SPLIT_TOTAL" -eq 0 ]; then
		tap_result OK "no split-brain window"
	else
		tap_result NOTOK "no split-brain window: $SPLIT_TOTAL found"
		rc=1
	fi
	if [ "$UNHEALED" -gt 0 ] || [ "$ABORTED" = 1 ]; then
		rc=1
		[ "$ABORTED" = 1 ] && tap_result NOTOK "every fault of the schedule ran (stopped after $done_faults)"
	fi
	[ "$rc" = 0 ] || TAP_FAILED=$((TAP_FAILED + 1))
	[ "$TAP" = 1 ] && echo "1..$TAP_CHAOS_N"
	if [ "$rc" != 0 ] || [ "$KEEP" = 1 ]; then
		say "files kept in $TEST_TMP (log: $CHAOS_LOG); replay: $replay"
	fi
	exit "$rc"
}

# Async mode: how many acknowledged writes one fault may lose.  A replica
# is promoted only when its WAL is within maximum_lag_on_failover (M bytes)
# of the optime the old leader last published (DESIGN.md rule 2); after that
# publication the old leader may commit on until its lease ends: at most
# ttl + loop_wait seconds (2 x ttl for ttl_change, whose lease may be the
# raised one).  So the WAL lost is at most M bytes plus what the writer
# committed in that tail.  One writer commit writes at least
# CHAOS_WAL_PER_WRITE bytes of WAL (heap insert + primary key insert +
# commit record: 224 bytes measured on PostgreSQL 15, the minimum and the
# median of 300 writes, 8136 with a full-page image; 200 taken, a margin),
# and the writer commits at most 100 times a
# second (--interval-ms 10, paced by send time), so:
#   lost <= M / CHAOS_WAL_PER_WRITE + 100 x (ttl' + loop_wait)
# (the probes' writes only use up part of M: they lower the writer's
# share, never raise it).  Patroni's default M = 1 MiB gives 5242 + 1200.
CHAOS_WAL_PER_WRITE=${CHAOS_WAL_PER_WRITE:-200}
async_loss_bound() {
	local ttl=$CLUSTER_TTL
	[ "${S_KIND[$1]}" = ttl_change ] && ttl=$((2 * CLUSTER_TTL))
	echo $((MAX_LAG_USED / CHAOS_WAL_PER_WRITE + 100 * (ttl + CLUSTER_LOOP_WAIT)))
}

# async_loss_verdict: the lost writes reported, and each fault's against
# its bound; a write lost but acknowledged after the last fault healed has
# no excuse at all
async_loss_verdict() {
	local i over="" after=0 b
	for i in $(seq "$FROM" "$FAULTS"); do
		[ -n "${F_T0[i]:-}" ] || continue
		b=$(async_loss_bound "$i")
		[ "${F_FLOST[i]:-0}" -le "$b" ] || over+=" fault $i ${S_KIND[i]}: ${F_FLOST[i]} > $b;"
	done
	[ -s "$TEST_TMP/final/lost" ] && after=$(awk '$4 == "after"' "$TEST_TMP/final/lost" | wc -l)
	if [ -z "$over" ] && [ "$after" -eq 0 ]; then
		tap_result OK "lost acknowledged writes: $FINAL_LOST, each fault within its async bound (maximum_lag_on_failover $MAX_LAG_USED B / $CHAOS_WAL_PER_WRITE B a write + 100 writes/s x (ttl + loop_wait) s: $((MAX_LAG_USED / CHAOS_WAL_PER_WRITE + 100 * (CLUSTER_TTL + CLUSTER_LOOP_WAIT))))"
		return 0
	fi
	tap_result NOTOK "lost acknowledged writes: $FINAL_LOST, each fault within its async bound:${over}${over:+ }$after lost after the last fault"
	return 1
}

# the sync key names a standby (sync/strict mode)
sync_key_named() { [ -n "$(sync_key | jq -r '.sync_standby // empty' 2>/dev/null)" ]; }

# the cluster after its start: healthy within 90 s
chaos_wait_cluster_start() {
	cluster_wait_healthy 90 >>"$CHAOS_LOG"
}
