# run.cmake: fuzzing as seen from an ordinary build (included by
# tests/CMakeLists.txt).
#
# MARKETSIM_FUZZ builds the libFuzzer targets (tests/fuzz/CMakeLists.txt);
# it needs clang, so it is only for a build folder of its own, build-fuzz/.
# Every other build gets the ctest `fuzz.run` (label fuzz): run-fuzz.sh
# --runs 40000 configures and builds build-fuzz/ and gives each target the
# same 40000 inputs every time (fixed seed, fresh corpus). It is
# skipped (status 77) only when clang or libFuzzer is missing, which
# scripts/install-deps.sh installs.
option(MARKETSIM_FUZZ "Build the libFuzzer targets of tests/fuzz (clang only)" OFF)
if(NOT MARKETSIM_FUZZ)
  add_test(NAME fuzz.run COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/run-fuzz.sh --runs 40000)
  set_tests_properties(fuzz.run PROPERTIES LABELS fuzz SKIP_RETURN_CODE 77
    TIMEOUT 900)
endif()
