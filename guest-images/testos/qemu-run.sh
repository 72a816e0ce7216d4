#!/usr/bin/env bash
# A debugging aid: boot testos under QEMU (TCG) through its PVH entry, without
# rackvm. Exit status 0 when testos powered off with status 0.
#   qemu-run.sh [-smp N] [-m MEM] [-initrd PROG.elf] [-- extra qemu args] [KEY=VALUE ...]
# KEY=VALUE words form the PVH command line testos reads (cpus= is set from
# -smp): test=NAME seconds=S nodes=N mem=SIZE args=REST-OF-LINE.
# QEMU's TCG APIC does not fire TSC-deadline timers: use args=nodeadline for
# the timer test.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
elf=${TESTOS_ELF:-$here/../../build/guest/testos.elf}
smp=1 mem=64 initrd=() extra=() words=()
while [ $# -gt 0 ]; do
	case $1 in
	-smp) smp=$2; shift 2 ;;
	-m) mem=$2; shift 2 ;;
	-initrd) initrd=(-initrd "$2"); shift 2 ;;
	--) shift; extra=("$@"); break ;;
	*) words+=("$1"); shift ;;
	esac
done
# isa-debug-exit spans 2 ports only: 0x504 is rackvm's yield port.
set +e
timeout "${TESTOS_QEMU_TIMEOUT:-120}" qemu-system-x86_64 -accel tcg -cpu max \
	-smp "$smp" -m "$mem" -nographic -no-reboot -net none \
	-device isa-debug-exit,iobase=0x501,iosize=2 \
	-kernel "$elf" "${initrd[@]}" -append "cpus=$smp ${words[*]}" "${extra[@]}"
rc=$?
set -e
# isa-debug-exit: QEMU exits with (status << 1) | 1
[ "$rc" = 1 ] && exit 0
echo "qemu-run.sh: qemu exit status $rc (testos status $(((rc - 1) / 2)) if odd)" >&2
exit 1
