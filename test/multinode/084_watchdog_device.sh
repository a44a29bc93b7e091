#!/bin/bash
# Item 6: the Linux watchdog device (pgha.watchdog_mode, as Patroni's
# watchdog.mode).  Without a usable device, "required" never leads and says
# why; "automatic" leads with a warning.  Where /dev/watchdog exists and is
# writable, the leader opens it with its timeout and disarms it at stop.
set -u
cd "$(dirname "$0")/../.."
CLUSTER_SCOPE=wdog CLUSTER_PG_BASE=27160 CLUSTER_ETCD_PORT=24760
CLUSTER_EXTRA_CONF=("pgha.watchdog_mode = required" "pgha.watchdog_device = '/nonexistent/watchdog'")
. test/cluster.sh

cluster_start 1 || bail_out "the cluster did not start"
log=$(node_data n1).log
says_required() { grep -q "pgha.watchdog_mode is required: the watchdog device /nonexistent/watchdog could not be activated" "$log"; }
expect "required, no device: the node says why it does not lead" poll_until 60 says_required
no_leader_for() {
	local i
	for i in $(seq "$1"); do [ -z "$(cluster_leader)" ] || return 1; sleep 1; done
}
check "required, no device: no leader key for 10 s" no_leader_for 10
check "required, no device: n1 does not accept writes" node_not_writable n1

# automatic: the same node leads, with a warning
sed -i "s/^pgha.watchdog_mode = .*/pgha.watchdog_mode = automatic/" "$TEST_TMP/n1.conf"
pm=$(node_postmaster_pid n1) && kill -HUP "$pm"
expect "automatic, no device: n1 leads" cluster_wait_leader 60
check "automatic: it warns that the device could not be activated" \
	grep -q "WARNING: .*the watchdog device /nonexistent/watchdog could not be activated" "$log"

if [ -w /dev/watchdog ]; then
	sed -i "s|^pgha.watchdog_device = .*|pgha.watchdog_device = '/dev/watchdog'|" "$TEST_TMP/n1.conf"
	kill -HUP "$(node_postmaster_pid n1)"
	expect "a real device: the leader activates it" poll_until 10 grep -q "watchdog device /dev/watchdog activated" "$log"
	kp=$(ps -o pid=,args= --ppid "$(node_postmaster_pid n1)" | awk '/pgha keeper/ { print $1 }')
	check "the keeper holds /dev/watchdog open" bash -c "ls -l /proc/$kp/fd | grep -q /dev/watchdog"
	sed -i "s/^pgha.watchdog_mode = .*/pgha.watchdog_mode = off/" "$TEST_TMP/n1.conf"
	kill -HUP "$(node_postmaster_pid n1)"
	expect "mode off: the device is disarmed (magic close)" poll_until 10 grep -q "watchdog device /dev/watchdog disarmed" "$log"
else
	ok "# SKIP no writable /dev/watchdog here (modprobe softdog needs the host's kernel)"
fi
done_testing
