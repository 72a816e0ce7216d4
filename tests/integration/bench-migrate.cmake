# `rackvm bench migrate` briefly: a short migrate storm and 300 passes of
# remote-walk with the policy off and auto. Checks the RESULT line's format,
# not its values (timing goals are for people: README's table).
add_test(NAME integration/migrate-bench
  COMMAND ${KVM_EXEC} ${RACKVM} bench migrate --passes 300 --storm-seconds 1)
set_tests_properties(integration/migrate-bench PROPERTIES
  LABELS integration TIMEOUT 600 RUN_SERIAL TRUE RESOURCE_LOCK rackvm-cluster
  ENVIRONMENT "RACKVM_GUEST_DIR=${RACKVM_GUEST_DIR}"
  SKIP_REGULAR_EXPRESSION "cannot open /dev/kvm|SKIP: "
  PASS_REGULAR_EXPRESSION
    "RESULT bench=migrate pause_p50_us=[0-9.]+ pause_p99_us=[0-9.]+ rtt_us=[0-9.]+ speedup=[0-9.]+ wall_speedup=[0-9.]+ policy_migrations=[0-9]+")
kvm_test(integration/migrate-bench)
# a benchmark: its policy-off walk crawls at TCG speed
kvm_test_needs_speed(integration/migrate-bench "a benchmark: no timing means anything in a QEMU TCG host")
add_test(NAME integration/migrate-bench-bad COMMAND ${RACKVM} bench migrate --passes 0)
set_tests_properties(integration/migrate-bench-bad PROPERTIES LABELS integration
  PASS_REGULAR_EXPRESSION "bad --passes '0': give 1..1000000")
