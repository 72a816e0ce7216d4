# `rackvm bench dsm`: two DSM node processes over the real transport and
# userfaultfd. A smoke test: the run completes, every faulted page held the
# data its peer wrote (else exit 4), and the RESULT line is printed. The
# numbers are for people (docs/dsm.md); no timing goal here.
add_test(NAME integration/dsm-bench-tcp
         COMMAND ${RACKVM} bench dsm --nodes 2 --provider tcp --iters 200
                 --csv ${CMAKE_CURRENT_BINARY_DIR}/dsm-bench-tcp.csv)
set_tests_properties(integration/dsm-bench-tcp PROPERTIES
  LABELS integration TIMEOUT 180 RUN_SERIAL TRUE
  SKIP_REGULAR_EXPRESSION "userfaultfd needs root"
  PASS_REGULAR_EXPRESSION
    "RESULT bench=dsm provider=tcp read_p50_us=[0-9.]+ upgrade_p50_us=[0-9.]+")

# --nodes other than 2 is a usage error that says what is supported
add_test(NAME integration/dsm-bench-bad-nodes COMMAND ${RACKVM} bench dsm --nodes 3)
set_tests_properties(integration/dsm-bench-bad-nodes PROPERTIES LABELS integration
  PASS_REGULAR_EXPRESSION "--nodes wants 2[.][.]2, not '3'")
