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
# Namespace mode, `rackvm run --nodes N --netns` (root; skipped when no
# namespace can be made, the guest cases also without /dev/kvm).
cluster_case(run-netns-mesh runnetns ${RACKVM} --mesh-only --seconds 3)
cluster_case(run-netns-shaped-mesh runnetns ${RACKVM} --mesh-only --seconds 3
  --link-rate 100mbit --link-delay-us 20000)
# the guest cases: here, or in a QEMU host (kvm_exec.sh)
function(cluster_kvm_case name)
  add_test(NAME cluster/${name} COMMAND ${KVM_EXEC} ${CLUSTER_TEST} ${ARGN})
  set_tests_properties(cluster/${name} PROPERTIES LABELS integration TIMEOUT 400
    ENVIRONMENT "RACKVM_GUEST_DIR=${RACKVM_GUEST_DIR}")
endfunction()
cluster_kvm_case(run-netns-coherence runnetns ${RACKVM} --vcpus 4 --test coherence
  --seconds 2 --timeout 300)
cluster_kvm_case(run-netns-coherence-shaped runnetns ${RACKVM} --vcpus 4 --test coherence
  --seconds 2 --timeout 300 --link-rate 100mbit --link-delay-us 500)
cluster_case(run-netns-sigint netnsint ${RACKVM} INT)
cluster_case(run-netns-sigkill netnsint ${RACKVM} KILL)
cluster_case(run-netns-setup-fails netnsfail ${RACKVM})
cluster_case(run-netns-leftover netnsleftover ${RACKVM})
# Several nodes on 2 cores: keep the cluster cases off each other's toes.
set_tests_properties(cluster/mesh-2 cluster/mesh-3 cluster/mesh-4 cluster/node-killed
  cluster/malformed-message cluster/too-many-nodes cluster/join-timeout cluster/netns-veth
  cluster/run-netns-mesh cluster/run-netns-shaped-mesh cluster/run-netns-coherence
  cluster/run-netns-coherence-shaped cluster/run-netns-sigint cluster/run-netns-sigkill
  cluster/run-netns-setup-fails cluster/run-netns-leftover
  PROPERTIES RESOURCE_LOCK rackvm-cluster)
kvm_test(cluster/node-killed)
kvm_test(cluster/run-netns-coherence)
kvm_test(cluster/run-netns-coherence-shaped)
# (The nodes' end of their veth is rvnet: named eth0 it clashed with a QEMU
# host's own NIC, "File exists".)

# Namespace-mode bad input: one line naming the option and the fix, exit 2.
set(CLUSTER_EXPECT ${CMAKE_CURRENT_LIST_DIR}/expect.sh)
function(netns_usage name regex)
  add_test(NAME cluster/${name} COMMAND ${CLUSTER_EXPECT} 2 "${regex}" ${RACKVM} run ${ARGN})
  set_tests_properties(cluster/${name} PROPERTIES LABELS integration)
endfunction()
netns_usage(netns-shm "--netns needs --provider tcp" --nodes 2 --netns --provider shm)
netns_usage(netns-shared-memory "--netns cannot use --memory shared.*--memory dsm"
  --nodes 2 --netns --memory shared)
netns_usage(netns-without-nodes "--netns needs --nodes N" --netns)
netns_usage(netns-bad-rate "bad --link-rate 'fast': give bit/s like 100mbit"
  --nodes 2 --netns --link-rate fast)
netns_usage(netns-rate-too-low "bad --link-rate '10kbit'.*1mbit\\.\\.100gbit"
  --nodes 2 --netns --link-rate 10kbit)
netns_usage(netns-rate-without-netns "--link-rate needs --netns" --nodes 2 --link-rate 1gbit)
netns_usage(netns-delay-too-big "bad --link-delay-us '100001': give microseconds, 0\\.\\.100000"
  --nodes 2 --netns --link-delay-us 100001)
netns_usage(netns-delay-negative "bad --link-delay-us '-5'" --nodes 2 --link-delay-us -5)
netns_usage(netns-too-many-nodes "--netns takes at most 240 nodes" --nodes 250 --netns)
# Not root: one line, exit 3 (as root, the case drops to nobody first).
add_test(NAME cluster/netns-not-root COMMAND sh -c
  "if [ \"$(id -u)\" = 0 ]; then exec setpriv --reuid=nobody --regid=nogroup --clear-groups \"$@\"; else exec \"$@\"; fi"
  sh ${CLUSTER_EXPECT} 3 "--netns needs root .*: run as root, or drop --netns"
  ${RACKVM} run --nodes 2 --netns --mesh-only)
set_tests_properties(cluster/netns-not-root PROPERTIES LABELS integration)
