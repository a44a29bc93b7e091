#!/bin/bash
# make demo: etcd and three pgha nodes on loopback.  The first node bootstraps
# and takes the leader key, the other two are cloned with pg_basebackup and
# stream from it; pghactl and pgha_status() show the cluster; everything is
# stopped and removed at the end.  As root, the servers run as postgres.
set -u
cd "$(dirname "$0")/.."

if [ "$(id -u)" -eq 0 ]; then
	make -s install >/dev/null || exit 1
	work=$(mktemp -d /tmp/pgha-demo.XXXXXX)
	cp -a test "$work/"
	cp pghactl "$work/"
	chown -R postgres:postgres "$work"
	runuser -u postgres -- bash "$work/test/demo.sh"
	rc=$?
	rm -rf "$work"
	exit $rc
fi

. test/lib.sh
E=http://127.0.0.1:23601
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "starting etcd on 127.0.0.1:23601"
start_etcd demo 23601 23602 || exit 1

settings=("pgha.scope = 'demo'" "pgha.etcd_endpoints = '$E'"
	"pgha.ttl = 10" "pgha.loop_wait = 2" "pgha.retry_timeout = 3"
	"wal_level = replica" "max_wal_senders = 10" "hot_standby = on")

say "bootstrapping pg1 (initdb) on port 23611"
pg_node pg1 23611 "${settings[@]}" "pgha.node_name = 'pg1'" "pgha.connect_address = '127.0.0.1:23611'"
pg_start "$PGDATA_pg1" || exit 1
psql_at 23611 "CREATE EXTENSION pgha" >/dev/null
poll_until 10 bash -c "[ \"\$(\"$PGBIN/psql\" -X -h $TEST_TMP -p 23611 -U postgres -d postgres -Atqc 'SELECT leader FROM pgha_status()')\" = pg1 ]"

for n in 2 3; do
	say "cloning pg$n from the leader with pg_basebackup (port 2361$n)"
	d=$TEST_TMP/pg-pg$n
	"$PGBIN/pg_basebackup" -D "$d" -h 127.0.0.1 -p 23611 -U postgres -R -X stream || exit 1
	CLEANUP_DATADIRS+=("$d")
	sed -i -e "s/^port = 23611/port = 2361$n/" -e "s/^pgha.node_name = 'pg1'/pgha.node_name = 'pg$n'/" \
		-e "s/^pgha.connect_address = '127.0.0.1:23611'/pgha.connect_address = '127.0.0.1:2361$n'/" "$d/postgresql.conf"
	pg_start "$d" || exit 1
done

psql_at 23611 "CREATE TABLE demo(id int); INSERT INTO demo SELECT generate_series(1, 1000)" >/dev/null
sleep 5

say "pghactl list"
./pghactl --endpoints $E --scope demo list
say "SELECT * FROM pgha_status() on each node"
for p in 23611 23612 23613; do
	"$PGBIN/psql" -X -h "$TEST_TMP" -p $p -U postgres -d postgres -c \
		"SELECT node, role, state, leader, timeline, wal_lsn, lag_bytes FROM pgha_status()"
done
say "the keys in etcd"
for k in leader initialize config status members/pg1; do
	printf '%-28s %s\n' "/service/demo/$k" "$(etcd_get $E /service/demo/$k)"
done
say "stopping everything"
