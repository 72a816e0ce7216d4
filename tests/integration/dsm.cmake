# DSM: the Promela model of the protocol (spin) and the multi-node torture
# test over the real transport and userfaultfd.
set(DSM_MODEL ${CMAKE_SOURCE_DIR}/tests/model/run.sh)
find_program(SPIN spin)
if(SPIN)
  add_test(NAME model/dsm COMMAND ${DSM_MODEL} safety)
  # The model must be able to catch a broken protocol: these must FAIL.
  add_test(NAME model/dsm-bug-no-inv-ack COMMAND ${DSM_MODEL} safety -DBUG_NO_INV_ACK)
  add_test(NAME model/dsm-bug-early-done COMMAND ${DSM_MODEL} safety -DBUG_EARLY_DONE)
  set_tests_properties(model/dsm-bug-no-inv-ack model/dsm-bug-early-done
    PROPERTIES WILL_FAIL TRUE LABELS model)
  set_tests_properties(model/dsm PROPERTIES LABELS model TIMEOUT 300)
  # The hold window (dsm/hold.c): any INV/DOWNGRADE may be held and served
  # at any later time (before the page's next message). ~2 min.
  add_test(NAME model/dsm-hold COMMAND ${DSM_MODEL} safety -DHOLD)
  set_tests_properties(model/dsm-hold PROPERTIES LABELS model TIMEOUT 600)
  # Bigger bounds and the liveness property: minutes, so `make check-long`.
  add_test(NAME model/dsm-ops3 COMMAND ${DSM_MODEL} safety -DOPS=3)
  add_test(NAME model/dsm-live COMMAND ${DSM_MODEL} live -DP=1)
  set_tests_properties(model/dsm-ops3 model/dsm-live PROPERTIES LABELS "model;long"
    TIMEOUT 3600 ENVIRONMENT "MEMLIM=12288")
else()
  message(STATUS "spin not found: the DSM model checks are not registered (make deps)")
endif()

add_executable(dsm_torture ${CMAKE_CURRENT_SOURCE_DIR}/dsm_torture.c)
target_link_libraries(dsm_torture PRIVATE rackvm_dsm rackvm_xport)
foreach(n 2 3 4)
  add_test(NAME dsm/torture-tcp-${n} COMMAND dsm_torture ${n} tcp)
  set_tests_properties(dsm/torture-tcp-${n} PROPERTIES LABELS integration TIMEOUT 180
    SKIP_RETURN_CODE 77)
endforeach()
# The same with the hold window on (rackvm sim's TCG hosts use it).
# Some INV/DOWNGRADE must actually have been held ("held N" > 0 somewhere).
add_test(NAME dsm/torture-tcp-3-hold COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/expect.sh 0
  "held [1-9]" $<TARGET_FILE:dsm_torture> 3 tcp)
set_tests_properties(dsm/torture-tcp-3-hold PROPERTIES LABELS integration TIMEOUT 180
  ENVIRONMENT "RACKVM_DSM_HOLD_US=300;RACKVM_TEST_VERBOSE=1")
add_test(NAME dsm/torture-shm-3 COMMAND dsm_torture 3 shm)
set_tests_properties(dsm/torture-shm-3 PROPERTIES LABELS integration TIMEOUT 180
  SKIP_RETURN_CODE 77)
