# `rackvm bench migrate` briefly: a 2 s migrate storm and 30 passes of
# remote-walk with the policy off and auto. Checks the RESULT line's format,
# not its values (timing goals are for people: README's table). In the
# suite's QEMU TCG host it took 107 s, 225 s in the ASan build (pause p50 8.7 ms beside an 8.0 ms
# round trip, walk speed-up 3.75x with one policy move).
add_test(NAME integration/migrate-bench
  COMMAND ${KVM_EXEC} ${RACKVM} bench migrate --passes 30 --storm-seconds 2)
set_tests_properties(integration/migrate-bench PROPERTIES
  LABELS integration TIMEOUT 600 RUN_SERIAL TRUE RESOURCE_LOCK rackvm-cluster
  ENVIRONMENT "RACKVM_GUEST_DIR=${RACKVM_GUEST_DIR}"
  SKIP_REGULAR_EXPRESSION "cannot open /dev/kvm|SKIP: "
  PASS_REGULAR_EXPRESSION
    "RESULT bench=migrate pause_p50_us=[0-9.]+ pause_p99_us=[0-9.]+ rtt_us=[0-9.]+ speedup=[0-9.]+ wall_speedup=[0-9.]+ policy_migrations=[0-9]+")
kvm_test(integration/migrate-bench)
add_test(NAME integration/migrate-bench-bad COMMAND ${RACKVM} bench migrate --passes 0)
set_tests_properties(integration/migrate-bench-bad PROPERTIES LABELS integration
  PASS_REGULAR_EXPRESSION "bad --passes '0': give 1..1000000")
