#!/bin/bash
# bin/pgha-vip-mirror against a real etcd (v2 API on), no cluster: it
# refuses bad arguments; it copies the v3 leader key into v2; a change of
# holder is a v2 DELETE and, --hold-off ms later, the PUT (never a PUT over
# another holder, which let two vip-managers hold the VIP at once); a
# deleted key is deleted at once; it follows across an etcd restart, and
# a watch that ends starts over; SIGTERM ends it with its etcdctl watch.
set -u
cd "$(dirname "$0")/../.."
. test/lib.sh

PORT=25070
E=http://127.0.0.1:$PORT
KEY=/service/mirror/leader
MIRROR=bin/pgha-vip-mirror
HOLD=600

v3_put() { ETCDCTL_API=3 etcdctl --endpoints="$E" put "$KEY" "$1" >/dev/null; }
v3_del() { ETCDCTL_API=3 etcdctl --endpoints="$E" del "$KEY" >/dev/null; }
# v2_value: the v2 key's value, "-" when absent
v2_value() {
	local out
	out=$(curl -s -m 2 "$E/v2/keys$KEY") || return 1
	jq -r 'if .errorCode == 100 then "-" else .node.value end' <<<"$out"
}
v2_is() { [ "$(v2_value)" = "$1" ]; }
# log_ms WHAT: the time (ms of the day) of the mirror's last log line
# starting with WHAT, e.g. 'PUT "n2"'
log_ms() {
	local t
	t=$(grep " $1" "$TEST_TMP/mirror.log" | tail -1 | cut -d' ' -f1) || return 1
	[ -n "$t" ] || return 1
	echo $((10#$(date -d "$t" +%s%3N)))
}

# 1. bad arguments
"$MIRROR" --endpoint "$E" >/dev/null 2>"$TEST_TMP/err"
is "$?" 2 "no --key: usage error (2)"
"$MIRROR" --endpoint "$E" --key service/x >/dev/null 2>"$TEST_TMP/err"
is "$?" 2 "a key without the leading /: 2"
check "... says so" grep -q -- "--key must start with /" "$TEST_TMP/err"
"$MIRROR" --endpoint "$E" --key "$KEY" --hold-off 3s >/dev/null 2>"$TEST_TMP/err"
is "$?" 2 "--hold-off 3s: 2"
check "... names the value" grep -q 'milliseconds (0 to 600000), not "3s"' "$TEST_TMP/err"
"$MIRROR" --endpoint "$E" --key "$KEY" --nonsense >/dev/null 2>"$TEST_TMP/err"
is "$?" 2 "an unknown argument: 2"

ETCD_ENABLE_V2=true start_etcd mirror "$PORT" $((PORT + 1)) || { echo "Bail out! etcd did not start"; exit 1; }
v3_put n1
setsid "$MIRROR" --endpoint "$E" --key "$KEY" --hold-off "$HOLD" >"$TEST_TMP/mirror.log" 2>&1 </dev/null &
MP=$!
cleanup_group "$MP"

# 2. the key now, then its changes
check "v2 holds the v3 key's value" poll_until 5 v2_is n1
v3_put n2
check "a change of holder: v2 is deleted first" poll_until 2 v2_is -
check "then holds the new holder" poll_until 5 v2_is n2
d=$(log_ms 'DELETE (was "n1")') p=$(log_ms 'PUT "n2"')
note "DELETE at $d, PUT $((p - d)) ms later (hold-off $HOLD ms)"
check "the PUT came at least --hold-off after the DELETE" test $((p - d)) -ge "$HOLD"
v3_del
check "a deleted key is deleted in v2 (no hold-off)" poll_until 5 v2_is -
v3_put n3
check "a new holder right after a delete: there after --hold-off" poll_until 5 v2_is n3
d=$(log_ms 'DELETE (was "n2")') p=$(log_ms 'PUT "n3"')
check "that PUT too came at least --hold-off after the DELETE" test $((p - d)) -ge "$HOLD"

# 3. etcd killed and started again with its data: etcdctl's watch
# reconnects; a watch that ends (its etcdctl killed here; a compacted
# revision ends it too) starts over from a fresh read
eval "ep=\$ETCD_PID_mirror"
kill -KILL "$ep"
wait "$ep" 2>/dev/null
sleep 1
ETCD_ENABLE_V2=true start_etcd mirror "$PORT" $((PORT + 1)) || { echo "Bail out! etcd did not restart"; exit 1; }
v3_put n1
check "after etcd came back, the mirror follows again" poll_until 10 v2_is n1
pkill -f "etcdctl --endpoints=$E watch"
check "a watch that ends is logged" poll_until 5 grep -q "the watch ended; starting over" "$TEST_TMP/mirror.log"
v3_put n2
check "and the mirror follows again" poll_until 10 v2_is n2

# 4. SIGTERM ends it and its watch
kill -TERM "$MP"
gone() { ! kill -0 "$MP" 2>/dev/null && ! pgrep -f "etcdctl --endpoints=$E watch" >/dev/null; }
check "SIGTERM: the mirror and its etcdctl watch are gone" poll_until 5 gone
sed 's/^/#   mirror: /' "$TEST_TMP/mirror.log"
done_testing
