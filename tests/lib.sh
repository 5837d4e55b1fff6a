# Shared helpers for the integration tests tests/it_*.sh (sourced, not run).
#
# ctest runs each it_*.sh from the build directory with GDSWEEP (the binary) and
# GDS_SOURCE_DIR (the source tree) set, plus the Open MPI root variables (tests/CMakeLists.txt).
# By hand:  GDSWEEP=build/gdsweep GDS_SOURCE_DIR=$PWD bash tests/it_cli.sh
# Every test works in its own temporary directory ($WORK), removed at exit unless a check
# failed or KEEP_WORK=1. Assertions record failures and carry on; gds_finish reports them
# and sets the exit status.
set -euo pipefail

: "${GDSWEEP:?set GDSWEEP to the gdsweep binary (ctest does)}"
: "${GDS_SOURCE_DIR:?set GDS_SOURCE_DIR to the source tree (ctest does)}"
GDSWEEP=$(readlink -f "$GDSWEEP")
GDS_SOURCE_DIR=$(readlink -f "$GDS_SOURCE_DIR")
[ -x "$GDSWEEP" ] || { echo "not executable: $GDSWEEP" >&2; exit 1; }

# Open MPI as root, more ranks than cores, ranks not bound to cores (a busy machine: see
# tests/CMakeLists.txt), no hidden threading (also set by ctest).
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1 OMPI_MCA_hwloc_base_binding_policy=none
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1

TEST_NAME=$(basename "$0" .sh)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/$TEST_NAME.XXXXXX")
N_PASS=0
N_FAIL=0
BG_SIDS=()    # sessions started by gds_start_bg, killed at exit if still alive
RC=0          # exit code of the last gds_capture
STDOUT="$WORK/last.stdout"
STDERR="$WORK/last.stderr"
GDS_T0=$SECONDS

gds_cleanup() {
  local g
  for g in "${BG_SIDS[@]+"${BG_SIDS[@]}"}"; do kill_job KILL "$g"; done
  if [ "$N_FAIL" -eq 0 ] && [ "${KEEP_WORK:-0}" != 1 ]; then rm -rf "$WORK"
  else echo "$TEST_NAME: work files kept in $WORK" >&2; fi
}
trap gds_cleanup EXIT

note() { printf '%s: %s\n' "$TEST_NAME" "$*"; }
pass() { N_PASS=$((N_PASS + 1)); printf 'ok   %s\n' "$*"; }
fail() {
  N_FAIL=$((N_FAIL + 1))
  printf 'FAIL %s\n' "$*"
  if [ -s "$STDERR" ]; then sed 's/^/     | /' "$STDERR" | head -n 20; fi
}
# Print the summary and exit: 0 if every check passed.
gds_finish() {
  note "$N_PASS passed, $N_FAIL failed ($((SECONDS - GDS_T0)) s)"
  [ "$N_FAIL" -eq 0 ]
  exit
}

# gds_capture CMD...: run CMD (2 min limit), keep stdout/stderr in $STDOUT/$STDERR and the
# exit code in $RC. Never aborts the test.
gds_capture() {
  set +e
  timeout -k 5 120 "$@" >"$STDOUT" 2>"$STDERR"
  RC=$?
  set -e
}

# gds CMD...: the binary, as a singleton MPI process (no mpirun).
gds() { gds_capture "$GDSWEEP" "$@"; }
# gds_mpi N CMD...: the binary under mpirun with N ranks.
gds_mpi() {
  local n=$1
  shift
  gds_capture mpirun -n "$n" --oversubscribe "$GDSWEEP" "$@"
}

# Assertions (on the last gds_capture): each records ok/FAIL and returns 0, so a test goes on.
# expect_rc WANT WHAT
expect_rc() {
  if [ "$RC" -eq "$1" ]; then pass "$2: exit code $1"
  else fail "$2: exit code $RC, expected $1"; fi
}
# expect_text FILE WHAT STRING...: FILE ($STDOUT/$STDERR) contains every STRING (fixed strings).
expect_text() {
  local file=$1 what=$2 s ok=0
  shift 2
  for s in "$@"; do
    if ! grep -qF -- "$s" "$file"; then fail "$what: output lacks '$s'"; ok=1; fi
  done
  if [ $ok -eq 0 ]; then pass "$what: message names $(printf "'%s' " "$@")"; fi
}
expect_no_file() {
  if [ -e "$1" ]; then fail "$2: '$1' was created"; else pass "$2: no output file"; fi
}
expect_same_sum() { # FILE SUM WHAT
  local now
  now=$(sha256sum "$1" | cut -d' ' -f1)
  if [ "$now" = "$2" ]; then pass "$3: '$1' untouched"
  else fail "$3: '$1' was modified"; fi
}
sum_of() { sha256sum "$1" | cut -d' ' -f1; }
# expect_attr FILE ATTR VALUE WHAT: the root attribute ATTR of FILE is the integer VALUE.
expect_attr() {
  local got
  got=$(h5dump -a "/$2" "$1" 2>/dev/null | sed -n 's/^ *(0): \(-\{0,1\}[0-9]*\)$/\1/p')
  if [ "$got" = "$3" ]; then pass "$4: root attribute $2 = $3"
  else fail "$4: root attribute $2 = '${got}', expected $3"; fi
}

# Count of done points in an output file, from `gdsweep status` ("F: n/N points done, ...").
done_points() { "$GDSWEEP" status "$1" 2>/dev/null | sed -n '1s/.*: \([0-9]*\)\/[0-9]* points done.*/\1/p'; }
total_points() { "$GDSWEEP" status "$1" 2>/dev/null | sed -n '1s/.*: [0-9]*\/\([0-9]*\) points done.*/\1/p'; }

# h5_same A B WHAT: every dataset of /results (timings live in /provenance), /problem, /prior and
# /schedule is bitwise identical in A and B (h5diff without tolerances compares exactly;
# NaN equals NaN), and both files have the same datasets there.
h5_same() {
  local a=$1 b=$2 what=$3 g d bad=0 la lb
  for g in /results /problem /prior /schedule; do
    la=$(h5ls -r "$a$g" | awk '$2 == "Dataset" {print $1}' | sort)
    lb=$(h5ls -r "$b$g" | awk '$2 == "Dataset" {print $1}' | sort)
    # /schedule of a vp_sde sweep has attributes only; /results always has datasets
    if { [ -z "$la" ] && [ "$g" = /results ]; } || [ "$la" != "$lb" ]; then
      fail "$what: datasets of $g differ between $(basename "$a") and $(basename "$b")"
      bad=1
      continue
    fi
    for d in $la; do
      if ! h5diff -q "$a" "$b" "$g$d" "$g$d" >/dev/null 2>&1; then
        fail "$what: $g$d differs: h5diff $a $b $g$d"
        bad=1
      fi
    done
  done
  if [ $bad -eq 0 ]; then pass "$what: /results /problem /prior /schedule bitwise identical"; fi
}

# gds_start_bg LOG CMD...: start CMD (e.g. mpirun) in the background in a new session, so
# that the whole MPI job can be found and signalled (Open MPI puts every rank in a process
# group of its own, but they stay in mpirun's session). Its pid (= session id) is in $BG_PID.
gds_start_bg() {
  local log=$1
  shift
  setsid "$@" >"$log" 2>&1 &
  BG_PID=$!
  BG_SIDS+=("$BG_PID")
}
# job_pids SID [NAME]: the processes of a session started by gds_start_bg (only NAME).
job_pids() { pgrep -s "$1" ${2:+-x "$2"} || true; }
# kill_job SIG SID [NAME]: send SIG to every process of the session (only NAME), by pid.
kill_job() {
  local p
  for p in $(job_pids "$2" "${3:-}"); do kill "-$1" "$p" 2>/dev/null || true; done
}
# gds_wait_bg PID: wait for it, exit code in $RC, then until the rest of its session is gone.
gds_wait_bg() {
  set +e
  wait "$1" 2>/dev/null # no "Killed" job notice
  RC=$?
  set -e
  local _
  for _ in $(seq 100); do [ -z "$(job_pids "$1")" ] && return 0; sleep 0.1; done
  kill_job KILL "$1"
}
# wait_for_progress FILE PID MIN: until FILE has at least MIN points done (status readable)
# or PID has exited. Returns 1 if the process exited first.
wait_for_progress() {
  local f=$1 pid=$2 min=$3 n
  while kill -0 "$pid" 2>/dev/null; do
    n=$(done_points "$f" || true)
    if [ -n "$n" ] && [ "$n" -ge "$min" ]; then return 0; fi
    sleep 0.05
  done
  return 1
}
