#!/bin/bash
# Install what building, testing and the demo need, from Debian's packages.
# Idempotent: only missing packages are installed.  Needs root.
set -euo pipefail

PKGS=(
	build-essential pkg-config
	postgresql-15 postgresql-client-15 postgresql-server-dev-15
	libcurl4-openssl-dev libjansson-dev libkrb5-dev libcmocka-dev libipc-run-perl libpq-dev
	libmicrohttpd-dev libgnutls28-dev	# the REST api (api_worker.c)
	openssl		# test/multinode/140 makes its TLS certificates
	etcd-server etcd-client patroni socat curl jq valgrind iproute2 procps faketime
	gdb		# test/multinode/063 makes a keeper exit as after an ERROR
	clang libclang-rt-14-dev
	strace		# test/multinode/073 counts the forks of an idle watchdog
	vip-manager	# test/multinode/143 moves a VIP between network namespaces
	haproxy		# test/multinode/141 routes through it as Patroni's docs configure it
)

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "pgha: missing packages: ${missing[*]}; run as root: apt-get install -y ${missing[*]}" >&2
	exit 1
fi
echo "pgha: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
# the packages must not leave servers running that would hold our ports
for svc in etcd postgresql patroni vip-manager haproxy; do
	service "$svc" stop >/dev/null 2>&1 || true
done
