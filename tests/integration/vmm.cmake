# The node VMM with testos: every built-in test on 1, 2, 4 and 8 vCPUs, the
# user-program path, and bad input.
set(EXPECT ${CMAKE_CURRENT_SOURCE_DIR}/expect.sh)
set(VMM_ENV "RACKVM_GUEST_DIR=${RACKVM_GUEST_DIR}")

function(vmm_case name status regex)
  add_test(NAME vmm/${name} COMMAND ${EXPECT} ${status} "${regex}" ${RACKVM} ${ARGN})
  set_tests_properties(vmm/${name} PROPERTIES LABELS integration TIMEOUT 300
    ENVIRONMENT "${VMM_ENV}")
endfunction()
# ... and one that runs a guest (kvm_exec.sh: here or in a QEMU host)
function(vmm_kvm_case name status regex)
  add_test(NAME vmm/${name} COMMAND ${KVM_EXEC} ${EXPECT} ${status} "${regex}" ${RACKVM}
    ${ARGN})
  set_tests_properties(vmm/${name} PROPERTIES LABELS integration TIMEOUT 300
    ENVIRONMENT "${VMM_ENV}")
  kvm_test(vmm/${name})
endfunction()

foreach(n 1 2 4 8)
  vmm_kvm_case(testos-smp-${n} 0 "RACKVM-RESULT test=smp status=pass cpus=${n}"
    run --guest testos --vcpus ${n} --mem 64M --test smp --timeout 120)
  # --timeout: a guest that hangs is stopped by rackvm, which shows where
  # every vCPU was, well before ctest's own timeout kills it silently
  foreach(t ipi timer mem coherence compute)
    vmm_kvm_case(testos-${t}-${n} 0 "RACKVM-RESULT test=${t} status=pass"
      run --guest testos --vcpus ${n} --mem 64M --test ${t} --seconds 1 --timeout 120)
  endforeach()
endforeach()

vmm_kvm_case(testos-exits-2 0 "RACKVM-RESULT test=exits status=pass"
  run --guest testos --vcpus 2 --mem 64M --test exits)
vmm_kvm_case(testos-user-elf 0 "RACKVM-RESULT test=hello status=pass"
  run --guest testos --vcpus 2 --mem 64M --initrd ${RACKVM_GUEST_DIR}/hello.elf)
vmm_kvm_case(testos-unknown-test 1 "status=fail"
  run --guest testos --vcpus 1 --mem 64M --test no-such-test)

# Bad input: one clear line, exit 2, no core dump.
vmm_case(bad-vcpus-zero 2 "--vcpus '0'" run --vcpus 0)
vmm_case(bad-vcpus-too-many 2 "--vcpus '999'.*1\\.\\.255" run --vcpus 999)
vmm_case(bad-mem 2 "--mem 'lots'.*not a size" run --mem lots)
vmm_case(bad-mem-small 2 "--mem '1M'" run --mem 1M)
vmm_case(bad-guest 2 "--guest 'dos'" run --guest dos)
vmm_case(missing-kernel 2 "--kernel /nonexistent/testos.elf: No such file"
  run --kernel /nonexistent/testos.elf)
add_test(NAME vmm/corrupt-kernel COMMAND ${KVM_EXEC} sh -c
  "head -c 4096 /dev/urandom > corrupt.elf && ${EXPECT} 2 'cannot load testos image' ${RACKVM} run --kernel corrupt.elf")
set_tests_properties(vmm/corrupt-kernel PROPERTIES LABELS integration)
add_test(NAME vmm/corrupt-initrd COMMAND ${KVM_EXEC} sh -c
  "printf 'not an elf' > bad-prog.elf && ${EXPECT} 1 'status=fail' ${RACKVM} run --mem 64M --initrd bad-prog.elf")
set_tests_properties(vmm/corrupt-initrd PROPERTIES LABELS integration ENVIRONMENT "${VMM_ENV}")
kvm_test(vmm/corrupt-kernel)
kvm_test(vmm/corrupt-initrd)
# No usable /dev/kvm: hide it in a private mount namespace.
add_test(NAME vmm/no-kvm COMMAND unshare -m sh -c
  "mount -t tmpfs none /dev && ${EXPECT} 3 'cannot open /dev/kvm' ${RACKVM} run --test smp")
set_tests_properties(vmm/no-kvm PROPERTIES LABELS integration ENVIRONMENT "${VMM_ENV}")
vmm_case(help 0 "usage: rackvm run" run --help)
vmm_case(bench-help 0 "usage: rackvm bench" bench --help)
