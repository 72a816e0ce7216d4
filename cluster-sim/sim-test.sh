#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# sim-test.sh STATUS RACKVM [-e REGEX]... -- SIM-ARGS...
#
# One tests/integration/sim.cmake case: runs `RACKVM sim SIM-ARGS`, shows
# its output, and passes only when it exits with STATUS and its combined
# output matches every extended REGEX. Exits 77 (ctest's skip code there)
# with a line naming what is missing when this box cannot run QEMU hosts at
# all: no network namespaces (not root, no CAP_SYS_ADMIN), no QEMU, no VDE;
# or when the command inside the host exits 77 (it lacks what it needs).
set -u
want=$1 rackvm=$2
shift 2
regexes=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do
	[ "$1" = -e ] && [ $# -ge 2 ] || { echo "sim-test.sh: expected -e REGEX or --" >&2; exit 2; }
	regexes+=("$2")
	shift 2
done
shift

skip() {
	echo "SKIP: $*"
	exit 77
}

for tool in qemu-system-x86_64 vde_switch ip; do
	command -v "$tool" >/dev/null || skip "$tool is not installed (make deps)"
done
probe=rackvm-sim-probe-$$
if ! err=$(ip netns add "$probe" 2>&1); then
	skip "cannot create a network namespace here: $err"
fi
ip netns delete "$probe"

out=$(mktemp)
trap 'rm -f "$out"' EXIT
start=$(date +%s.%N)
"$rackvm" sim "$@" >"$out" 2>&1
st=$?
cat "$out"
echo "sim-test.sh: exit $st after $(awk "BEGIN { printf \"%.1f\", $(date +%s.%N) - $start }") s"
# the command inside the host says it cannot run here
if [ "$st" -eq 77 ] && [ "$want" -ne 77 ]; then
	skip "the command in the QEMU host exited 77 (a missing piece, see above)"
fi
if [ "$st" -gt 128 ] && [ "$st" -ne "$want" ]; then
	echo "sim-test.sh: killed by signal $((st - 128))" >&2
	exit 1
fi
if [ "$st" -ne "$want" ]; then
	echo "sim-test.sh: exit $st, wanted $want" >&2
	exit 1
fi
for re in "${regexes[@]}"; do
	grep -Eq -- "$re" "$out" || { echo "sim-test.sh: output lacks /$re/" >&2; exit 1; }
done
# nothing of the run may outlive it
ns=$(sed -n 's/.* booting in \(rackvm-sim-[0-9]*\);.*/\1/p' "$out")
if [ -n "$ns" ] && ip netns list | grep -qw "$ns"; then
	echo "sim-test.sh: network namespace $ns was left behind" >&2
	exit 1
fi
exit 0
