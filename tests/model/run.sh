#!/bin/sh
# tests/model/run.sh MODE [spin -D options...] - check tests/model/dsm.pml.
#   safety  assertions (SWMR, read-latest, protocol sanity) + invalid end
#           states (deadlock, a fault left waiting); exit 0 only when pan
#           explored the whole state space and found no error
#   live    the LTL property nolost under weak fairness (acceptance cycles)
# Extra arguments go to spin as preprocessor options (-DBUG_NO_INV_ACK ...).
set -eu
mode=$1
shift
model=$(cd "$(dirname "$0")" && pwd)/dsm.pml
work=$(mktemp -d "${TMPDIR:-/tmp}/rackvm-model.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"
command -v spin >/dev/null || { echo "spin not installed (make deps)"; exit 1; }
spin "$@" ${mode:+$([ "$mode" = live ] && echo -DLIVE)} -a "$model" >spin.log 2>&1 ||
	{ cat spin.log; exit 1; }
case $mode in
safety) cflags="-DSAFETY"; run="-m200000" ;;
live) cflags="-DNFAIR=3"; run="-m1000000 -a -f" ;;
*) echo "usage: $0 safety|live [-DNAME...]"; exit 2 ;;
esac
# COLLAPSE keeps memory near 0.5 GiB on the default bounds; MEMLIM (MiB, env)
# caps it: a search cut short by it fails.
gcc -O2 $cflags -DCOLLAPSE -DMEMLIM=${MEMLIM:-4096} -DVECTORSZ=2048 -o pan pan.c 2>cc.log ||
	{ cat cc.log; exit 1; }
./pan $run >pan.out 2>&1 || true
grep -E "errors:|states, stored|elapsed|assertion violated|acceptance cycle|invalid end" pan.out || true
if grep -q "Search not completed" pan.out || ! grep -q "errors: 0" pan.out; then
	[ -f dsm.pml.trail ] && cp "$model" . && spin "$@" -t -p dsm.pml 2>&1 | tail -40
	echo "model check FAILED ($mode $*)"
	exit 1
fi
echo "model check passed ($mode $*)"
