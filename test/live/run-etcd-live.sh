#!/bin/bash
# test/live/run-etcd-live.sh: the etcd client (src/common/etcd/etcd_client.c)
# against real etcd servers on 127.0.0.1.
#
# Starts, in a fresh temporary directory:
#   - etcd on 23791 (client) / 23792 (peer), auth token TTL 2 s;
#   - socat on 23795 forwarding to it (the test SIGSTOPs it: a "slow" etcd);
#   - etcd with TLS and client-certificate auth on 23793 / 23794, with a
#     throw-away CA, server and client certificates made by openssl;
# then builds test/live/test_etcd_live.c (cmocka) and runs it.  Everything
# started here is stopped by PID on exit, whatever happens, and the
# directory is removed.  The exit status is nonzero on any failure.
# PGHA_LIVE_WRAPPER runs the test binary under a tool, e.g.
#   PGHA_LIVE_WRAPPER="valgrind --leak-check=full --error-exitcode=99"
set -u
cd "$(dirname "$0")/../.."

ETCD=${ETCD:-etcd}
HOST=127.0.0.1
# PGHA_LIVE_PORT_BASE moves all five ports, should something else use them
BASE=${PGHA_LIVE_PORT_BASE:-23791}
PORT=$BASE
PEER=$((BASE + 1))
TLS_PORT=$((BASE + 2))
TLS_PEER=$((BASE + 3))
SLOW_PORT=$((BASE + 4))

WORK=$(mktemp -d "${TMPDIR:-/tmp}/pgha-etcd-live.XXXXXX")
PIDS=()

cleanup() {
	local p
	# a second signal must not cut the cleanup short
	trap '' INT TERM HUP
	for p in "${PIDS[@]}"; do
		kill -CONT "$p" 2>/dev/null
		kill -TERM "$p" 2>/dev/null
	done
	for p in "${PIDS[@]}"; do
		for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

die() {
	echo "run-etcd-live: $*" >&2
	for f in "$WORK"/*.log; do
		[ -f "$f" ] && { echo "--- $f" >&2; tail -20 "$f" >&2; }
	done
	exit 1
}

for tool in "$ETCD" socat openssl curl gcc pkg-config; do
	command -v "$tool" >/dev/null || die "$tool is not installed"
done
for port in $PORT $PEER $TLS_PORT $TLS_PEER $SLOW_PORT; do
	if (exec 3<>"/dev/tcp/$HOST/$port") 2>/dev/null; then
		die "port $port on $HOST is already in use"
	fi
done

# wait_health URL [curl options]: until /health says true (10 s at most)
wait_health() {
	local url=$1
	shift
	for _ in $(seq 100); do
		curl -s --max-time 1 "$@" "$url/health" 2>/dev/null | grep -q '"health":"true"' && return 0
		sleep 0.1
	done
	return 1
}

# --- plain etcd and its forwarder
"$ETCD" --name live --data-dir "$WORK/etcd" \
	--listen-client-urls "http://$HOST:$PORT" --advertise-client-urls "http://$HOST:$PORT" \
	--listen-peer-urls "http://$HOST:$PEER" --initial-advertise-peer-urls "http://$HOST:$PEER" \
	--initial-cluster "live=http://$HOST:$PEER" --initial-cluster-token pgha-live \
	--auth-token-ttl 2 --logger zap --log-outputs "$WORK/etcd.log" >"$WORK/etcd.out.log" 2>&1 &
ETCD_PID=$!
PIDS+=("$ETCD_PID")

socat "TCP-LISTEN:$SLOW_PORT,bind=$HOST,reuseaddr,fork" "TCP:$HOST:$PORT" >"$WORK/socat.log" 2>&1 &
SOCAT_PID=$!
PIDS+=("$SOCAT_PID")

# --- certificates (ETCD-V3-HTTP.md §7; the server needs clientAuth too)
CERTS=$WORK/certs
mkdir -p "$CERTS"
(
	cd "$CERTS" || exit 1
	openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 -subj "/CN=pgha-live-ca" &&
	openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj "/CN=etcd-server" &&
	printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n' >server.ext &&
	openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 2 -extfile server.ext &&
	openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr -subj "/CN=pgha" &&
	printf 'extendedKeyUsage=clientAuth\n' >client.ext &&
	openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out client.crt -days 2 -extfile client.ext
) >"$WORK/openssl.log" 2>&1 || die "could not make certificates"

# --- TLS etcd
"$ETCD" --name tls --data-dir "$WORK/etcd-tls" \
	--listen-client-urls "https://$HOST:$TLS_PORT" --advertise-client-urls "https://$HOST:$TLS_PORT" \
	--listen-peer-urls "http://$HOST:$TLS_PEER" --initial-advertise-peer-urls "http://$HOST:$TLS_PEER" \
	--initial-cluster "tls=http://$HOST:$TLS_PEER" --initial-cluster-token pgha-live-tls \
	--cert-file "$CERTS/server.crt" --key-file "$CERTS/server.key" \
	--trusted-ca-file "$CERTS/ca.crt" --client-cert-auth \
	--logger zap --log-outputs "$WORK/etcd-tls.log" >"$WORK/etcd-tls.out.log" 2>&1 &
PIDS+=("$!")

wait_health "http://$HOST:$PORT" || die "etcd on port $PORT did not become healthy"
wait_health "http://$HOST:$SLOW_PORT" || die "socat on port $SLOW_PORT does not forward"
wait_health "https://$HOST:$TLS_PORT" --cacert "$CERTS/ca.crt" \
	--cert "$CERTS/client.crt" --key "$CERTS/client.key" ||
	die "TLS etcd on port $TLS_PORT did not become healthy"

# --- build and run
BIN=$WORK/test_etcd_live
# shellcheck disable=SC2046
gcc -g -O1 -Wall -Werror -Isrc/common/etcd -Isrc/common/model -o "$BIN" test/live/test_etcd_live.c \
	src/common/etcd/etcd_client.c src/common/etcd/etcd_proto.c src/common/model/errbuf.c \
	$(pkg-config --cflags --libs libcurl jansson) -lcmocka || die "build failed"

PGHA_LIVE_ETCD="http://$HOST:$PORT" \
PGHA_LIVE_ETCD_PID=$ETCD_PID \
PGHA_LIVE_SLOW="http://$HOST:$SLOW_PORT" \
PGHA_LIVE_SOCAT_PID=$SOCAT_PID \
PGHA_LIVE_TLS="https://$HOST:$TLS_PORT" \
PGHA_LIVE_CERTS=$CERTS \
	${PGHA_LIVE_WRAPPER:-} "$BIN" &
# in the background so that a signal to this script is handled at once
TEST_PID=$!
PIDS+=("$TEST_PID")
wait "$TEST_PID"
rc=$?
[ $rc -eq 0 ] || echo "run-etcd-live: $rc test(s) failed" >&2
exit $rc
