#!/bin/bash
# The workload's writer logs "ack" only for a commit the server confirmed.
# With the extended protocol an autocommit INSERT commits at Sync, after
# its CommandComplete; a commit waiting for a synchronous standby that
# never comes is confirmed by nothing.  Here the writer's backend is
# terminated while it waits (the server says "The transaction has already
# committed locally, but might not have been replicated"): the writer must
# log that write as an error of unknown outcome, not as acknowledged, or
# every failover test would count it as a lost acknowledged write.
set -u
cd "$(dirname "$0")/../.."
. test/lib.sh

PORT=25460
W=test/tools/pgha_workload
make -s "$W" >/dev/null 2>&1 || { not_ok "pgha_workload builds"; done_testing; exit 1; }
pg_node w "$PORT" || { not_ok "initdb"; done_testing; exit 1; }
pg_start "$PGDATA_w" || { not_ok "postgres starts"; done_testing; exit 1; }
# the writer's table first (its DDL is a no-op then), then commits wait
"$W" writer --dsn "host=127.0.0.1 port=$PORT user=postgres dbname=postgres" --seconds 1 \
	--out "$TEST_TMP/setup.log" 2>/dev/null
psql_at "$PORT" "TRUNCATE pgha_writes" >/dev/null
psql_at "$PORT" "ALTER SYSTEM SET synchronous_standby_names = 'nobody'" >/dev/null
psql_at "$PORT" "SELECT pg_reload_conf()" >/dev/null
ssn_set() { [ "$(psql_at "$PORT" "SHOW synchronous_standby_names")" = nobody ]; }
check "synchronous_standby_names is 'nobody' after the reload" poll_until 10 ssn_set

"$W" writer --dsn "host=127.0.0.1 port=$PORT user=postgres dbname=postgres" --seconds 6 \
	--out "$TEST_TMP/writer.log" 2>"$TEST_TMP/writer.err" &
writer=$!
CLEANUP_PIDS+=("$writer")
waiting() { [ "$(psql_at "$PORT" "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'SyncRep'")" = 1 ]; }
check "the writer's first commit waits for the synchronous standby" poll_until 10 waiting
psql_at "$PORT" "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE wait_event = 'SyncRep'" >/dev/null
wait "$writer"
sed 's/^/#   /' "$TEST_TMP/writer.log" | head -8
is "$(grep -c '^ack ' "$TEST_TMP/writer.log")" 0 "no write is logged as acknowledged"
check "the terminated commit is logged as an error" grep -q '^err 1 ' "$TEST_TMP/writer.log"
is "$(psql_at "$PORT" "SELECT count(*) FROM pgha_writes WHERE id = 1")" 1 \
	"...although it committed locally: its outcome was unknown to the writer"
done_testing
