#!/bin/sh
# kvm_host.sh start|stop RACKVM
#
# The ctest fixture behind kvm_exec.sh on a box without a usable /dev/kvm:
# `start` boots ONE QEMU host (rackvm sim, nested hardware-assisted KVM) with
# the source and build trees shared at the same paths, running kvm_serve.sh;
# every KVM test of the run then executes in it (a few seconds each instead
# of a host boot each). `stop` shuts it down. Where /dev/kvm opens, or a
# host cannot be booted, both do nothing: kvm_exec.sh then runs the test
# here or boots a host for it alone (or skips).
set -u
what=$1 rackvm=$2
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
build=$(cd "$(dirname "$rackvm")" && pwd)
spool=$build/kvm-host

sim_pid() {
	[ -s "$spool/sim.pid" ] && kill -0 "$(cat "$spool/sim.pid")" 2>/dev/null &&
		cat "$spool/sim.pid"
}

start() {
	if [ "${RACKVM_TEST_SIM:-auto}" != always ] && [ -c /dev/kvm ] &&
		(exec 3<>/dev/kvm) 2>/dev/null; then
		echo "kvm_host: /dev/kvm works here: no QEMU host needed"
		return 0
	fi
	if [ "${RACKVM_TEST_SIM:-auto}" = never ] || [ "$(id -u)" != 0 ] ||
		! command -v qemu-system-x86_64 >/dev/null || ! command -v vde_switch >/dev/null; then
		echo "kvm_host: cannot boot a QEMU host here (root, QEMU and vde2 needed): KVM tests skip"
		return 0
	fi
	stop >/dev/null
	rm -rf "$spool"
	mkdir -p "$spool"
	set -- --share "$src"
	case $build/ in
	"$src"/*) ;;
	*) set -- "$@" --share "$build" ;;
	esac
	# shadow paging: with NPT, QEMU's TCG makes the nested guest's page-table
	# walks writes, and over node processes the guest's page tables would
	# move between them on every TLB miss (docs/cluster-sim.md)
	setsid "$rackvm" sim --hosts 1 --host-cpus 2 --host-mem 4G --timeout 14400 \
		--host-paging shadow "$@" \
		--shell "sh $here/kvm_serve.sh $spool" >"$spool/sim.log" 2>&1 </dev/null &
	echo $! >"$spool/sim.pid"
	echo "kvm_host: no usable /dev/kvm: booting one QEMU host for the KVM tests" \
		"(log: $spool/sim.log)"
	t=0
	while [ ! -e "$spool/ready" ]; do
		if ! sim_pid >/dev/null; then
			echo "kvm_host: the QEMU host exited before it was ready:"
			tail -n 20 "$spool/sim.log"
			return 1
		fi
		t=$((t + 1))
		if [ "$t" -gt 3000 ]; then
			echo "kvm_host: the QEMU host was not ready within 300 s"
			stop
			return 1
		fi
		sleep 0.1
	done
	echo "kvm_host: ready after $((t / 10)) s"
}

stop() {
	pid=$(sim_pid) || return 0
	touch "$spool/stop"
	for _ in $(seq 1 300); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		echo "kvm_host: the QEMU host did not stop: ending it"
		kill -TERM "$pid"
		sleep 3
	fi
	echo "kvm_host: stopped"
}

case $what in
start) start ;;
stop) stop ;;
*)
	echo "usage: kvm_host.sh start|stop RACKVM" >&2
	exit 2
	;;
esac
