#!/bin/bash
# bench/lib/patroni.sh: the same cluster as test/cluster.sh, run by Patroni
# (sourced after test/cluster.sh, never run).
#
# It replaces the node-level functions of test/cluster.sh, so that every
# other helper there (etcd, the per-node forwarders, faults, the workload,
# the checker, the waits) drives a Patroni cluster unchanged:
#   - cluster_write_conf writes $TEST_TMP/nI.yml: scope CLUSTER_SCOPE under
#     /service/, etcd3 through the node's own forwarder (use_proxies: no
#     member discovery, so the forwarder stays its only way to etcd), the
#     REST api on 127.0.0.1:PATRONI_REST_BASE+I, bootstrap.dcs with ttl,
#     loop_wait, retry_timeout, maximum_lag_on_failover 1 MB and (when
#     BENCH_SYNC=1) synchronous_mode, and the postgres settings pgha-watchdog
#     writes, without pgha in shared_preload_libraries;
#   - cluster_run_watchdog starts /usr/bin/patroni for the node (NODE_WD is
#     its pid: "stop" sends it SIGTERM, "kill" SIGKILLs it and the postmaster);
#   - node_status and the health checks use pg_is_in_recovery() and the
#     leader key instead of pgha_status().
# Patroni runs postgres itself (a postmaster in a session of its own); its
# log goes to $TEST_TMP/patroni-nI.log, postgres's to $TEST_TMP/pg-nI.log.

PATRONI_BIN=${PATRONI_BIN:-/usr/bin/patroni}
PATRONICTL_BIN=${PATRONICTL_BIN:-/usr/bin/patronictl}
PATRONI_REST_BASE=${PATRONI_REST_BASE:-28008}
BENCH_SYNC=${BENCH_SYNC:-0}

node_rest_port() { echo $((PATRONI_REST_BASE + $(node_index "$1"))); }

cluster_watchdog_bin() { echo "$PATRONI_BIN"; }

cluster_write_conf() {
	local name=$1 port rest sync=false l
	port=$(node_port "$name")
	rest=$(node_rest_port "$name")
	[ "$BENCH_SYNC" = 1 ] && sync=true
	cat >"$TEST_TMP/$name.yml" <<YAML
scope: $CLUSTER_SCOPE
namespace: /service/
name: $name
log:
  level: INFO
restapi:
  listen: 127.0.0.1:$rest
  connect_address: 127.0.0.1:$rest
etcd3:
  hosts: 127.0.0.1:$(node_fwd_port "$name")
  use_proxies: true
bootstrap:
  dcs:
    ttl: $CLUSTER_TTL
    loop_wait: $CLUSTER_LOOP_WAIT
    retry_timeout: $CLUSTER_RETRY_TIMEOUT
    maximum_lag_on_failover: 1048576
    synchronous_mode: $sync
    postgresql:
      use_pg_rewind: true
      use_slots: true
      parameters:
        wal_level: replica
        hot_standby: 'on'
        wal_log_hints: 'on'
        max_wal_senders: 10
        max_replication_slots: 10
        wal_keep_size: 128MB
  initdb:
  - encoding: UTF8
postgresql:
  listen: 127.0.0.1:$port
  connect_address: 127.0.0.1:$port
  data_dir: $(node_data "$name")
  bin_dir: $PGBIN
  pgpass: $TEST_TMP/pgpass-$name
  authentication:
    superuser:
      username: postgres
      password: bench
    replication:
      username: replicator
      password: bench
  pg_hba:
  - local all all trust
  - host all all 127.0.0.1/32 trust
  - host replication all 127.0.0.1/32 trust
  parameters:
    unix_socket_directories: '$TEST_TMP'
    shared_preload_libraries: ''
    wal_retrieve_retry_interval: 1s
    wal_receiver_status_interval: 1s
    logging_collector: 'on'
    log_directory: '$TEST_TMP'
    log_filename: 'pg-$name.log'
    log_line_prefix: '%m [%p] $name '
YAML
	for l in ${CLUSTER_EXTRA_CONF[@]+"${CLUSTER_EXTRA_CONF[@]}"}; do
		echo "# CLUSTER_EXTRA_CONF is not applied to Patroni: $l" >&2
	done
}

cluster_run_watchdog() {
	local name=$1
	setsid "$PATRONI_BIN" "$TEST_TMP/$name.yml" >>"$TEST_TMP/patroni-$name.log" 2>&1 </dev/null &
	NODE_WD[$name]=$!
	CLEANUP_PIDS+=("$!")
}

# no extension on a Patroni node
cluster_ensure_extension() { :; }

# node_status NAME: "primary LEADER f" or "replica LEADER t", as pgha_status()
# would say it (the leader from etcd)
node_status() {
	local r
	r=$(node_sql "$1" "SELECT pg_is_in_recovery()")
	case $r in
		f) echo "primary $(cluster_leader) f" ;;
		t) echo "replica $(cluster_leader) t" ;;
		*) return 1 ;;
	esac
}

patronictl_at() {
	local name=$1
	shift
	"$PATRONICTL_BIN" -c "$TEST_TMP/$name.yml" "$@"
}

# bench_switchover OLD CANDIDATE: a planned switchover, as an operator asks it
bench_switchover() {
	patronictl_at "$1" switchover --leader "$1" --candidate "$2" --force "$CLUSTER_SCOPE"
}

# bench_agent_pids NAME: the processes that make up the HA agent of a node
bench_agent_pids() { [ -n "${NODE_WD[$1]:-}" ] && echo "${NODE_WD[$1]}"; }

# bench_cycle_setup NAME / bench_cycles NAME: Patroni logs one line per
# HA loop ("no action. I am (nI), ...")
bench_cycle_setup() { :; }
bench_cycles() { grep -c ' INFO: no action\.' "$TEST_TMP/patroni-$1.log"; }

# bench_sync_on: synchronous_mode is in bootstrap.dcs already
bench_sync_on() { :; }
