# `rackvm bench transport`: a real 2-node libfabric mesh (tcp and shm over
# loopback) and fi_pingpong beside it. These check that the run completes and
# reports; the numbers themselves are for people (no timing goal here).
foreach(prov tcp shm)
  add_test(NAME integration/transport-bench-${prov}
           COMMAND ${RACKVM} bench transport --provider ${prov} --iters 300
                   --csv ${CMAKE_CURRENT_BINARY_DIR}/transport-${prov}.csv)
  set_tests_properties(integration/transport-bench-${prov} PROPERTIES
    LABELS integration TIMEOUT 180 RUN_SERIAL TRUE
    PASS_REGULAR_EXPRESSION
      "RESULT bench=transport provider=${prov} size=4096 p50_us=[0-9.]+ ratio=([0-9.]+|nan)")
endforeach()

add_test(NAME integration/transport-bench-help COMMAND ${RACKVM} bench transport --help)
set_tests_properties(integration/transport-bench-help PROPERTIES LABELS integration
  PASS_REGULAR_EXPRESSION "fi_pingpong.*--provider P")

# a bad provider is a usage error (exit 2) with a message naming the fix
add_test(NAME integration/transport-bench-bad-provider
         COMMAND ${RACKVM} bench transport --provider sockets)
set_tests_properties(integration/transport-bench-bad-provider PROPERTIES LABELS integration
  WILL_FAIL TRUE)
