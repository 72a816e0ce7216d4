#!/bin/sh
# kvm_exec.sh RACKVM CMD [ARGS...]
#
# Runs CMD where there is a KVM to run guests on:
# - here, when /dev/kvm opens (this box's KVM: PVM or hardware);
# - otherwise inside a QEMU host with nested, hardware-assisted KVM: the one
#   this ctest run booted (kvm_host.sh, served by kvm_serve.sh), or one of
#   its own (`RACKVM sim --hosts 1 --share ...`). The source and build trees
#   are mounted at the same paths there, CMD runs in the same directory with
#   the same RACKVM_*, ASAN_* and UBSAN_* variables, its exit status is ours.
# Exit 77 (a skip for ctest) when neither is possible, with the reason.
# RACKVM_TEST_SIM=always forces the QEMU host, =never forbids it (a case
# whose timing cannot hold at TCG speed sets it: RACKVM_TEST_SIM_WHY says why).
set -u
rackvm=$1
shift
mode=${RACKVM_TEST_SIM:-auto}

if [ "$mode" != always ] && [ -c /dev/kvm ] && (exec 3<>/dev/kvm) 2>/dev/null; then
	exec "$@"
fi
skip() {
	echo "SKIP: no usable /dev/kvm here, and $*"
	exit 77
}
[ "$mode" != never ] || skip "${RACKVM_TEST_SIM_WHY:-RACKVM_TEST_SIM=never forbids a QEMU host}"
[ "$(id -u)" = 0 ] || skip "a QEMU host needs root (rackvm sim)"
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 is missing (make deps)"
command -v vde_switch >/dev/null || skip "vde_switch is missing (make deps)"

# One word per argument, single-quoted for the host's shell.
quote() {
	printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"
}

src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "$(dirname "$rackvm")" && pwd)
cmd="cd $(quote "$PWD") &&"
for var in $(env | sed -n 's/^\(RACKVM_[A-Z0-9_]*\|ASAN_OPTIONS\|UBSAN_OPTIONS\)=.*/\1/p'); do
	eval "val=\${$var}"
	cmd="$cmd export $var=$(quote "$val") &&"
done
for arg in "$@"; do
	cmd="$cmd $(quote "$arg")"
done
# The QEMU host of this ctest run (kvm_host.sh), if one is up: a job for it.
spool=$build/kvm-host
if [ -e "$spool/ready" ] && [ -s "$spool/sim.pid" ] && kill -0 "$(cat "$spool/sim.pid")" 2>/dev/null; then
	sim=$(cat "$spool/sim.pid")
	id=$spool/job.$$.$(date +%s%N)
	# ended early (ctest's time-out): the host kills the job; else clean up
	trap 'if [ -e "$id.status" ]; then rm -f "$id".*; else touch "$id.cancel"; fi' EXIT
	trap 'exit 143' TERM INT
	printf '%s\n' "$cmd" >"$id.tmp" && mv "$id.tmp" "$id.job"
	echo "kvm_exec: no usable /dev/kvm here: running in the QEMU host of this test run"
	while [ ! -e "$id.status" ]; do
		if ! kill -0 "$sim" 2>/dev/null; then
			echo "kvm_exec: the QEMU host died (log: $spool/sim.log)"
			exit 1
		fi
		sleep 0.1
	done
	cat "$id.out"
	exit "$(cat "$id.status")"
fi

set -- --share "$src"
case $build/ in
"$src"/*) ;;
*) set -- "$@" --share "$build" ;;
esac
case $PWD/ in
"$src"/* | "$build"/*) ;;
*) set -- "$@" --share "$PWD" ;;
esac
echo "kvm_exec: no usable /dev/kvm here: running in a QEMU host (rackvm sim)"
exec "$rackvm" sim --hosts 1 --host-cpus 2 --host-mem 3G --timeout 3000 --host-paging shadow \
	"$@" --shell "$cmd"
