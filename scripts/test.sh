#!/usr/bin/env bash
# One command to build and test gdsweep on Debian 12 (as root): what CI runs (.ci/run).
#   1. install missing Debian packages (scripts/install-deps.sh)
#   2. Release build in build/, then the whole ctest suite: cmocka unit tests (tests/test_*.c)
#      and integration tests (tests/it_*.sh, which run the binary under mpirun)
#   3. AddressSanitizer + UBSan Debug build in build-asan/ (-O1, as the ASan documentation
#      advises: about 3x faster than -O0, same checks), running the unit tests under it.
#      LeakSanitizer is off (ASAN_OPTIONS=detect_leaks=0): Open MPI and its plugins leak at
#      MPI_Finalize by design, which would fail every MPI program; memory errors and
#      undefined behaviour still abort the test.
# Stops at the first failure with a non-zero exit code; the output ends with ctest's summary.
# Environment: JOBS (build parallelism, default: number of cores), CTEST_JOBS (default 2).
set -euo pipefail
cd "$(dirname "$0")/.."

JOBS=${JOBS:-$(nproc)}
CTEST_JOBS=${CTEST_JOBS:-2}
T_START=$SECONDS
timings=()
step() { printf '\n==== test.sh: %s\n' "$*"; }
took() { timings+=("$1 $((SECONDS - $2)) s"); }

step "installing dependencies"
t=$SECONDS
bash scripts/install-deps.sh
took install $t

step "Release build (build/)"
t=$SECONDS
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j "$JOBS"
took "release build" $t

step "ctest: whole suite, Release"
t=$SECONDS
(cd build && ctest --output-on-failure -j "$CTEST_JOBS")
took "release tests" $t

step "AddressSanitizer/UBSan build (build-asan/)"
t=$SECONDS
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DGDS_SANITIZE=ON -DCMAKE_C_FLAGS_DEBUG="-g -O1"
cmake --build build-asan -j "$JOBS"
took "asan build" $t

step "timings so far: $(IFS=,; echo "${timings[*]}"); total $((SECONDS - T_START)) s"
step "ctest: unit tests under ASan/UBSan (leak detection off: Open MPI leaks at exit)"
cd build-asan
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=0:halt_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest -R '^test_' --output-on-failure -j "$CTEST_JOBS"
