#!/bin/bash
# pgha.quick_exit: every server process of a node with pgha preloaded ends
# with _exit() once PostgreSQL's own exit callbacks have run, so that the
# libraries' teardown (OpenSSL's tables, freed page by page, each page a
# copy-on-write fault in a child of the postmaster) is skipped.  Counted,
# not timed: the page faults of the postmaster's reaped children per
# connection, on a node with the setting on and one with it off.  Exits keep
# their meaning: a terminated backend is a normal exit, not a crash.
set -u
cd "$(dirname "$0")/../.."
. test/lib.sh

# no etcd settings: the keeper idles, which is all this test needs; q1
# also serves TLS, as PostgreSQL does itself: pgha initialized OpenSSL in
# the postmaster before it (quick_exit.c)
pg_node q1 25461 "pgha.quick_exit = on" "ssl = on"
(cd "$PGDATA_q1" && openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
	-keyout server.key -out server.crt >/dev/null 2>&1 && chmod 600 server.key)
pg_node q2 25462 "pgha.quick_exit = off"
pg_start "$PGDATA_q1" && pg_start "$PGDATA_q2" && ok "both nodes start" || not_ok "both nodes start"
is "$(psql_at 25461 "SHOW pgha.quick_exit")|$(psql_at 25462 "SHOW pgha.quick_exit")" "on|off" \
	"SHOW gives each node's value"
err=$(psql_at 25461 "SET pgha.quick_exit = off" 2>&1)
check "it cannot be changed in a session (restart only)" \
	grep -q 'parameter "pgha.quick_exit" cannot be changed without restarting the server' <<<"$err"

is "$("$PGBIN/psql" -X "host=127.0.0.1 port=25461 user=postgres dbname=postgres sslmode=require" \
	-Atqc "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()" 2>&1)" t \
	"PostgreSQL's own TLS works beside it (sslmode=require)"

# minor faults of the reaped children of a postmaster (field 11 of its stat)
child_faults() { awk '{ print $11 }' "/proc/$(head -1 "$1/postmaster.pid")/stat"; }
faults_per_connection() {
	local port=$1 dir=$2 f0 f1 i
	# the keeper's idle retries are children too, but they do not exit
	f0=$(child_faults "$dir")
	for i in $(seq 20); do psql_at "$port" "SELECT 1" >/dev/null; done
	# the last backend is reaped shortly after its client left
	sleep 0.5
	f1=$(child_faults "$dir")
	echo $(((f1 - f0) / 20))
}
on=$(faults_per_connection 25461 "$PGDATA_q1")
off=$(faults_per_connection 25462 "$PGDATA_q2")
note "page faults per connection: quick_exit on $on, off $off"
# measured: ~460 against ~770 (OpenSSL's cleanup alone is ~300)
check "a connection costs at least 100 fewer page faults with quick_exit on" test "$on" -le $((off - 100))

# a backend ended by pg_terminate_backend exits as a normal backend does
started=$(psql_at 25461 "SELECT pg_postmaster_start_time()")
"$PGBIN/psql" -X -h "$TEST_TMP" -p 25461 -U postgres -d postgres -Atq -c "SELECT pg_sleep(30)" \
	>/dev/null 2>&1 &
sleeper=$!
cleanup_pid "$sleeper"
sleeping() { [ "$(psql_at 25461 "SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(30)'")" = 1 ]; }
poll_until 10 sleeping
is "$(psql_at 25461 "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(30)'")" \
	t "a backend is terminated"
wait "$sleeper" 2>/dev/null
is "$(psql_at 25461 "SELECT pg_postmaster_start_time()")" "$started" "the postmaster did not restart"
check "no child exit is taken for a crash" \
	bash -c "! grep -E 'terminating any other active server processes|was terminated by signal|exited with exit code [2-9]' '$PGDATA_q1/server.log'"
# the keeper, a background worker, exits with its status too: a clean
# stop does not wait for it beyond the normal shutdown
pg_stop "$PGDATA_q1" && ok "a fast shutdown of the quick_exit node ends cleanly" || not_ok "fast shutdown"
check "the log says the database system is shut down" grep -q "database system is shut down" "$PGDATA_q1/server.log"
pg_stop "$PGDATA_q2"

done_testing
