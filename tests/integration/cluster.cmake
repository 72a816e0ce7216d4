# Control plane: `rackvm run --nodes N`, `rackvm coordinator` and `rackvm node`
# as real processes over real ZeroMQ and libfabric (cluster_test.sh has the
# cases). ctl_rawsend sends raw bytes to a coordinator from a DEALER.
add_executable(ctl_rawsend ${CMAKE_CURRENT_LIST_DIR}/ctl_rawsend.c)
target_link_libraries(ctl_rawsend PRIVATE PkgConfig::ZMQ)

set(CLUSTER_TEST ${CMAKE_CURRENT_LIST_DIR}/cluster_test.sh)

function(cluster_case name)
  add_test(NAME cluster/${name} COMMAND ${CLUSTER_TEST} ${ARGN})
  set_tests_properties(cluster/${name} PROPERTIES LABELS integration TIMEOUT 180
    SKIP_RETURN_CODE 77 ENVIRONMENT "RACKVM_GUEST_DIR=${RACKVM_GUEST_DIR}")
endfunction()

foreach(n 2 3 4)
  cluster_case(mesh-${n} mesh ${RACKVM} ${n})
endforeach()
# it runs a guest: here, or in a QEMU host (kvm_exec.sh)
add_test(NAME cluster/node-killed COMMAND ${KVM_EXEC} ${CLUSTER_TEST} kill ${RACKVM})
set_tests_properties(cluster/node-killed PROPERTIES LABELS integration TIMEOUT 180
  ENVIRONMENT "RACKVM_GUEST_DIR=${RACKVM_GUEST_DIR}")
cluster_case(coordinator-unreachable unreachable ${RACKVM})
cluster_case(protocol-version-mismatch version ${RACKVM})
cluster_case(malformed-message malformed ${RACKVM} $<TARGET_FILE:ctl_rawsend>)
cluster_case(too-many-nodes overfull ${RACKVM})
cluster_case(join-timeout jointimeout ${RACKVM})
cluster_case(netns-veth netns ${RACKVM})
# Several nodes on 2 cores: keep the cluster cases off each other's toes.
set_tests_properties(cluster/mesh-2 cluster/mesh-3 cluster/mesh-4 cluster/node-killed
  cluster/malformed-message cluster/too-many-nodes cluster/join-timeout cluster/netns-veth
  PROPERTIES RESOURCE_LOCK rackvm-cluster)
kvm_test(cluster/node-killed)
