# Live vCPU migration (docs/migration.md): testos's exact-count tests under a
# storm of moves on 2 and 4 node processes, moves by hand against a running
# cluster, and bad input. migrate_test.sh has the cases; kvm_exec.sh runs
# them here, or in a QEMU host where this box has no /dev/kvm.
set(MIGRATE_TEST ${CMAKE_CURRENT_LIST_DIR}/migrate_test.sh)

function(migrate_case name)
  add_test(NAME migrate/${name} COMMAND ${KVM_EXEC} ${MIGRATE_TEST} ${ARGN})
  set_tests_properties(migrate/${name} PROPERTIES LABELS integration TIMEOUT 300
    SKIP_RETURN_CODE 77 RESOURCE_LOCK rackvm-cluster
    ENVIRONMENT "RACKVM_GUEST_DIR=${RACKVM_GUEST_DIR}")
  kvm_test(migrate/${name})
endfunction()

foreach(t coherence ipi timer)
  foreach(n 2 4)
    migrate_case(storm-${t}-${n}nodes storm ${RACKVM} ${n} ${t})
  endforeach()
  migrate_case(storm-${t}-shared storm ${RACKVM} 2 ${t} --memory shared)
endforeach()
migrate_case(by-hand manual ${RACKVM})
migrate_case(bad-input badinput ${RACKVM})
# All of them run in the suite's QEMU TCG host too (kvm_host.sh: shadow
# paging), the storms with --time-dilation auto (migrate_test.sh): there the
# guest's clocks and the storm's 20 ms run 10x slower, as its vCPUs do
# (docs/migration.md).
