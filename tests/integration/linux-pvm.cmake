# Linux on PVM (docs/pvm.md, "Linux on PVM"): the stock Debian kernel under
# rackvm on a PVM host, where guest ring 0 is emulated and a boot takes tens
# of minutes: label "long" (`make check-long`). Each case asserts the furthest
# milestone reached on the development box, so a regression shows; raise the
# milestone when the boot gets further. Skipped (77) where /dev/kvm is not PVM
# (hardware KVM boots Linux in seconds) or the images are not built.
set(LINUX_PVM_CHECK "
  [ -c /dev/kvm ] && [ -e /sys/module/kvm_pvm ] || { echo 'skip: no /dev/kvm, or it is not PVM'; exit 77; }
  [ -r \"$RACKVM_GUEST_DIR/linux/vmlinux\" ] || { echo 'skip: no Linux image (make guest)'; exit 77; }")

# $1: milestone regex; the rest: rackvm arguments. Passes once the console
# shows the milestone, whatever rackvm's exit status (--timeout stops it).
set(LINUX_PVM_RUN "
  run() { want=$1; shift; log=linux-pvm-$$.log;
    ${RACKVM} run --guest linux --mem 512M --test smp \"$@\" > $log 2>&1;
    st=$?; grep -E 'smp: Brought up|Switched to clocksource|unpack rootfs|Run /init|RACKVM-RESULT' $log;
    tail -3 $log; echo \"rackvm exit $st\";
    grep -Eq \"$want\" $log || { echo \"milestone not reached: $want\"; exit 1; }; }")

# Two vCPUs: the AP comes up (later the timer ticks swamp both vCPUs here).
add_test(NAME linux-pvm/smp-2-bringup COMMAND sh -c "${LINUX_PVM_CHECK} ${LINUX_PVM_RUN}
  run 'smp: Brought up 1 node, 2 CPUs' --vcpus 2 --timeout 480")
# One vCPU, the initramfs uncompressed (gunzip in emulated ring 0 takes
# minutes): the kernel gets through its initcalls to the initramfs.
add_test(NAME linux-pvm/boot-1 COMMAND sh -c "${LINUX_PVM_CHECK} ${LINUX_PVM_RUN}
  zcat \"$RACKVM_GUEST_DIR/linux/initramfs.cpio.gz\" > initramfs.cpio || exit 1
  run 'Trying to unpack rootfs image as initramfs' --vcpus 1 --initrd initramfs.cpio --timeout 1500")
set_tests_properties(linux-pvm/smp-2-bringup linux-pvm/boot-1 PROPERTIES LABELS long
  TIMEOUT 1800 SKIP_RETURN_CODE 77 ENVIRONMENT "RACKVM_GUEST_DIR=${RACKVM_GUEST_DIR}")
