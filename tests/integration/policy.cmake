# The placement policy (issue 7) end to end: testos remote-walk keeps vCPU 1
# (node 1) walking a buffer homed on node 0 that vCPU 0 keeps rewriting.
# With --policy auto the coordinator must move vCPU 1 at least once (and the
# walk still checks every word); with --policy off it must never move.
# The guest cases run here, or in a QEMU host where this box has no /dev/kvm.
set(POLICY_EXPECT ${CMAKE_CURRENT_SOURCE_DIR}/expect.sh)

function(policy_case name passes regex)
  add_test(NAME policy/${name} COMMAND ${KVM_EXEC} ${POLICY_EXPECT} 0 "${regex}"
    ${RACKVM} run --nodes 2 --guest testos --vcpus 2 --mem 128M --test remote-walk
    --append "passes=${passes}" --timeout 300 ${ARGN})
  set_tests_properties(policy/${name} PROPERTIES LABELS integration TIMEOUT 400
    SKIP_RETURN_CODE 77 RESOURCE_LOCK rackvm-cluster
    ENVIRONMENT "RACKVM_GUEST_DIR=${RACKVM_GUEST_DIR}")
  kvm_test(policy/${name})
endfunction()

# the policy needs a few heartbeats of faults before it moves: a long walk
# ... and once there, the walker's faults are local: the move avoided some
policy_case(remote-walk-auto 1500
  "policy auto: [1-9][0-9]* migrations.*, about [1-9][0-9]* remote faults avoided"
  --policy auto)
# without the move the walk crawls at TCG speed (docs/policy.md): in the
# suite's shadow-paging host ~0.55 s a pass (300 passes: 166 s on a loaded
# box), so a shorter walk
policy_case(remote-walk-off 100 "policy off: 0 migrations" --policy off)

# one node: the test itself (exact counts), no DSM
add_test(NAME policy/remote-walk-1node COMMAND ${KVM_EXEC} ${POLICY_EXPECT} 0
  "RACKVM-RESULT test=remote-walk status=pass passes=300 pages=16"
  ${RACKVM} run --guest testos --vcpus 2 --mem 64M --test remote-walk
  --append "passes=300" --timeout 120)
set_tests_properties(policy/remote-walk-1node PROPERTIES LABELS integration
  SKIP_RETURN_CODE 77 ENVIRONMENT "RACKVM_GUEST_DIR=${RACKVM_GUEST_DIR}")
# one CPU cannot walk another's memory: a failing result, not a hang
add_test(NAME policy/remote-walk-1cpu COMMAND ${KVM_EXEC} ${POLICY_EXPECT} 1
  "test=remote-walk status=fail reason=needs-2-cpus"
  ${RACKVM} run --guest testos --vcpus 1 --mem 64M --test remote-walk --timeout 120)
set_tests_properties(policy/remote-walk-1cpu PROPERTIES LABELS integration
  SKIP_RETURN_CODE 77 ENVIRONMENT "RACKVM_GUEST_DIR=${RACKVM_GUEST_DIR}")

# bad settings: one line naming the option, exit 2
add_test(NAME policy/bad-policy COMMAND ${POLICY_EXPECT} 2 "--policy 'sometimes': give off or auto"
  ${RACKVM} run --nodes 2 --policy sometimes)
add_test(NAME policy/bad-share COMMAND ${POLICY_EXPECT} 2
  "--policy-min-share '101' is not a number in 1..100"
  ${RACKVM} coordinator --listen tcp://127.0.0.1:0 --nodes 2 --policy-min-share 101)
add_test(NAME policy/auto-needs-nodes COMMAND ${POLICY_EXPECT} 2 "add --nodes N"
  ${RACKVM} run --policy auto)
kvm_test(policy/remote-walk-1node)
kvm_test(policy/remote-walk-1cpu)
set_tests_properties(policy/bad-policy policy/bad-share policy/auto-needs-nodes
  PROPERTIES LABELS integration)
