#!/bin/bash
# bench/lib/plain.sh: the same 3 servers with no HA agent at all (sourced
# after test/cluster.sh, never run): n1 a primary made by initdb, n2 and n3
# streaming replicas cloned with pg_basebackup, each on its own slot, with
# the postgres settings pgha-watchdog and bench/lib/patroni.sh use.  With
# BENCH_SYNC=1 the primary waits for one synchronous standby (n2, else n3).
# No etcd process is needed; started and stopped with pg_ctl by data dir.

plain_conf() {
	local name=$1 port
	port=$(node_port "$name")
	cat <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$TEST_TMP'
wal_level = replica
hot_standby = on
wal_log_hints = on
max_wal_senders = 10
max_replication_slots = 10
wal_keep_size = 128MB
wal_retrieve_retry_interval = 1s
wal_receiver_status_interval = 1s
logging_collector = off
log_line_prefix = '%m [%p] $name '
CONF
	[ "${BENCH_SYNC:-0}" = 1 ] && [ "$name" = n1 ] && echo "synchronous_standby_names = 'FIRST 1 (n2, n3)'"
}

plain_start() {
	local d n
	d=$(node_data n1)
	"$PGBIN/initdb" -D "$d" -A trust -U postgres --no-sync >"$TEST_TMP/initdb-n1.log" 2>&1 || return 1
	CLEANUP_DATADIRS+=("$d")
	plain_conf n1 >>"$d/postgresql.conf"
	echo "host replication all 127.0.0.1/32 trust" >>"$d/pg_hba.conf"
	"$PGBIN/pg_ctl" -D "$d" -l "$d.log" -w -t 60 start >/dev/null || return 1
	CLUSTER_NODES=(n1)
	for n in n2 n3; do
		d=$(node_data "$n")
		"$PGBIN/pg_basebackup" -h 127.0.0.1 -p "$(node_port n1)" -U postgres -D "$d" \
			-X stream -C -S "$n" >"$TEST_TMP/basebackup-$n.log" 2>&1 || return 1
		CLEANUP_DATADIRS+=("$d")
		# the primary's settings came along; this node's own win
		plain_conf "$n" >>"$d/postgresql.conf"
		{
			echo "primary_conninfo = 'host=127.0.0.1 port=$(node_port n1) user=postgres application_name=$n'"
			echo "primary_slot_name = '$n'"
		} >>"$d/postgresql.auto.conf"
		touch "$d/standby.signal"
		"$PGBIN/pg_ctl" -D "$d" -l "$d.log" -w -t 60 start >/dev/null || return 1
		CLUSTER_NODES+=("$n")
	done
}

# both replicas stream from n1
plain_healthy() {
	[ "$(node_sql n1 "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'")" = 2 ]
}
