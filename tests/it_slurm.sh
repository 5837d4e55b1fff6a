#!/usr/bin/env bash
# it_slurm: gdsweep under a real single-node Slurm 22.05 whose daemons (munged, slurmctld,
# slurmd) this test starts by hand in a temporary directory (tests/slurm/cluster.sh) and stops by
# their pid files on exit. Exercises jobscripts/submit.sh and jobscripts/gdsweep.sbatch:
#   A  tiny sweep, submit.sh --chain 1: both jobs COMPLETED, the follower finds the file complete;
#      submit.sh refuses a bad sweep, a file of another sweep, and resubmitting a complete file.
#   C  requeue: USR1 to the batch shell (what --signal=B:USR1 does) mid-sweep -> gdsweep exits 3,
#      the job requeues itself (scontrol requeue) and the next attempt completes the sweep.
#   B  a real time limit: --time=1 --signal=B:USR1@10, the job stops cleanly before the limit
#      (exit 3, 0 < done < total), the afterany follow-up resumes and completes; the file equals
#      an uninterrupted `mpirun -n 2` run (h5diff of /results and /problem).
# The sweeps of C and B outlast the signals whatever the machine's speed or load: every work unit
# lasts at least UNIT_S seconds (test-only knob GDSWEEP_TEST_UNIT_SECONDS).
# Skips (exit 77) without Slurm/munge or root. About 3-4 minutes on 2 cores.
# Environment: GDSWEEP (binary, default ./gdsweep), GDS_SOURCE_DIR, GDS_KEEP_TMP=1 (keep the
# temporary directory), GDS_SLURM_VERBOSE=1 (daemon log tails at the end).
set -euo pipefail

t_start=$(date +%s)
log() { echo "it_slurm [$(( $(date +%s) - t_start ))s]: $*" >&2; }
skip() { echo "it_slurm: SKIP: $*" >&2; exit 77; }
fail() {
  echo "it_slurm: FAIL: $*" >&2
  exit 1
}

src="${GDS_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
gdsweep="${GDSWEEP:-$PWD/gdsweep}"
[ "$(id -u)" = 0 ] || skip "needs root (starts munged, slurmctld and slurmd)"
for c in slurmctld slurmd munged sbatch scontrol squeue sinfo scancel runuser h5diff mpirun; do
  command -v "$c" >/dev/null || skip "$c is not installed (scripts/install-deps.sh installs slurm-wlm munge hdf5-tools)"
done
id munge >/dev/null 2>&1 || skip "no munge user"
[ -x "$gdsweep" ] || fail "no gdsweep binary at $gdsweep (set GDSWEEP)"
gdsweep="$(cd "$(dirname "$gdsweep")" && pwd)/$(basename "$gdsweep")"

# Not inside someone else's Slurm job or configuration.
for v in $(compgen -e); do
  case "$v" in SLURM_* | SBATCH_* | SRUN_* | SALLOC_*) unset "$v" ;; esac
done
export OMPI_ALLOW_RUN_AS_ROOT="${OMPI_ALLOW_RUN_AS_ROOT:-1}" OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="${OMPI_ALLOW_RUN_AS_ROOT_CONFIRM:-1}"
export OMPI_MCA_rmaps_base_oversubscribe="${OMPI_MCA_rmaps_base_oversubscribe:-1}"
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
export GDSWEEP="$gdsweep"

# shellcheck source=tests/slurm/cluster.sh
source "$src/tests/slurm/cluster.sh"
work="$(mktemp -d "${TMPDIR:-/tmp}/gds_it_slurm.XXXXXX")"
chmod 755 "$work"
mkdir -p "$work/slurm" "$work/run"
ref_pid=""
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ -n "$ref_pid" ] && kill -0 "$ref_pid" 2>/dev/null; then
    kill -TERM "$ref_pid" 2>/dev/null || true
    wait "$ref_pid" 2>/dev/null || true
  fi
  if [ "$rc" != 0 ] && [ "$rc" != 77 ]; then
    for f in "$work"/run/*.out; do
      [ -f "$f" ] && { echo "---- $f" >&2; tail -n 40 "$f" >&2; }
    done
    [ -f "$work/slurm/slurmctld.log" ] && { echo "---- slurmctld.log" >&2; grep -v debug2 "$work/slurm/slurmctld.log" | tail -n 30 >&2; }
  fi
  slurm_cluster_stop "$work/slurm"
  if [ "${GDS_KEEP_TMP:-0}" = 1 ]; then echo "it_slurm: kept $work" >&2; else rm -rf "$work"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ------------------------------------------------------------------------------------------
# Cluster: cred_expire=10 so a requeued job restarts after ~10 s instead of 120 s; KillWait=10;
# debug2 so slurmctld logs its 30 s time-limit passes (B aligns its submission on them).
export GDS_SLURM_CRED_EXPIRE=10 GDS_SLURM_KILL_WAIT=10 GDS_SLURM_CTLD_DEBUG=debug2
slurm_cluster_start "$work/slurm" || fail "could not start the Slurm test cluster"

final_states="COMPLETED FAILED CANCELLED TIMEOUT NODE_FAIL PREEMPTED BOOT_FAIL DEADLINE OUT_OF_MEMORY"
job_field() { scontrol -o show job "$1" 2>/dev/null | tr ' ' '\n' | grep "^$2=" | head -n1 | cut -d= -f2-; }
# The whole test stays below ctest's TIMEOUT (900 s), so that the EXIT trap always stops the
# daemons (a test killed by ctest could not).
budget=$(( t_start + ${GDS_IT_SLURM_BUDGET:-780} ))
wait_job() { # id seconds -> prints the final state
  local id=$1 limit=$2 s="" end=$(( $(date +%s) + $2 ))
  [ "$end" -le "$budget" ] || end=$budget
  while [ "$(date +%s)" -lt "$end" ]; do
    s="$(job_field "$id" JobState)"
    case " $final_states " in *" $s "*) echo "$s"; return 0 ;; esac
    sleep 0.5
  done
  fail "job $id not finished after ${limit}s or the test's time budget (state '$s')"
}
expect_job() { # id state exitcode
  local s e
  s="$(wait_job "$1" "${4:-120}")"
  e="$(job_field "$1" ExitCode)"
  if [ "$s" != "$2" ] || [ "$e" != "$3" ]; then fail "job $1: $s exit $e, expected $2 exit $3 (log: $(joblog "$1"))"; fi
}
joblog() { # the job's log (gdsweep.sbatch's default --output=gdsweep-%x-%j.out in the submit dir)
  local f
  for f in "$work"/run/gdsweep-*-"$1".out; do [ -f "$f" ] && echo "$f"; done
  return 0
}
submit() { "$src/jobscripts/submit.sh" "$@" 2>>"$work/run/submit.log"; }
submit_slow() { GDSWEEP_TEST_UNIT_SECONDS="$UNIT_S" submit "$@"; } # jobs of C and B (see UNIT_S)

# A sweep of NOPS (1 or 2) operators x NSIGMA sigmas x 3 alphas x 3 algorithms x SEEDS on 64x64
# with T = STEPS; W2 and trajectories stored at few times only (small files, same cost).
make_sweep() { # name nsigma file nops seeds steps
  local sig ops="    - gaussian_blur: {std: 1.5}"
  sig="$(awk -v n="$2" 'BEGIN { for (i = 0; i < n; i++) printf "%s%.4g", (i ? ", " : ""), 0.01 * (1 + 0.5 * i) }')"
  [ "$4" = 2 ] && ops="$ops
    - motion_blur: {length: 5, angle: 30}"
  cat >"$3" <<EOF
name: $1
prior: {texture: builtin:fabric, size: [64, 64], periodic: true}
diffusion: {steps: $6, variance: beta}
grid:
  operator:
$ops
  sigma: [$sig]
  alpha_dps: [0.3, 1.0, 3.0]
  algorithm: [dps, pigdm, cgdm]
  seed: [$5]
output: {samples: 4, checkpoints: [0], w2_times: [$6, 0]}
EOF
}

cd "$work/run"
# ------------------------------------------------------------------------------------------
# Sweep lengths do not depend on how fast or busy this machine is: the jobs run with the test-only
# knob GDSWEEP_TEST_UNIT_SECONDS (gds_run_options.test_unit_seconds), so every work unit lasts at
# least UNIT_S seconds (slept, interruptibly). A sweep of U units on 2 ranks therefore lasts at
# least U*UNIT_S/2 seconds on any machine, and a busy machine only makes it longer.
#   time-limit sweep: 2 operators x 12 sigmas x (3 dps alphas + pigdm + cgdm) = 120 units >= 90 s,
#     longer than the job's 60 s limit, so the USR1 (20..50 s in) always finds work left;
#   requeue sweep: 1 operator x 2 sigmas x 5 = 10 units >= 7.5 s, longer than the ~1 s it runs
#     before the USR1.
UNIT_S=1.5
make_sweep slurm-timelimit 12 long.yaml 2 "0, 1" 200
make_sweep slurm-requeue 2 medium.yaml 1 "0, 1" 200
log "sweeps: every unit lasts >= ${UNIT_S}s (GDSWEEP_TEST_UNIT_SECONDS): time-limit sweep >= 90 s, requeue sweep >= 7.5 s on 2 ranks"

# The uninterrupted reference for B (no slow-down knob: it finishes in seconds), at nice 19.
nice -n 19 mpirun -n 2 "$gdsweep" run long.yaml -o ref.h5 --quiet >ref.log 2>&1 &
ref_pid=$!

# ------------------------------------------------------------------------------------------
log "A: tiny sweep, submit.sh --chain 1"
t_a=$(date +%s)
printf 'name: bad\n' >bad.yaml
if submit bad.yaml bad.h5 -n 2 -t 5 >/dev/null; then fail "submit.sh accepted an invalid sweep"; fi
[ -z "$(squeue -h -o %i)" ] || fail "submit.sh submitted a job for an invalid sweep"
mapfile -t ids < <(submit "$src/sweeps/tiny.yaml" tiny.h5 -n 2 -t 5 -J tiny --chain 1)
[ "${#ids[@]}" = 2 ] || fail "submit.sh --chain 1 printed ${#ids[@]} job ids, expected 2"
expect_job "${ids[0]}" COMPLETED 0:0 60
expect_job "${ids[1]}" COMPLETED 0:0 60
"$gdsweep" status tiny.h5 | head -n1 | grep -q '8/8 points done, 0 missing (complete)' || fail "tiny.h5 is not complete"
grep -q 'sweep complete' "$(joblog "${ids[1]}")" || fail "the chained job did not report the complete sweep"
sed 's/sigma: \[0.05\]/sigma: [0.06]/' "$src/sweeps/tiny.yaml" >tiny_other.yaml
if submit tiny_other.yaml tiny.h5 -n 2 -t 5 >/dev/null; then fail "submit.sh accepted a file of another sweep"; fi
[ -z "$(submit "$src/sweeps/tiny.yaml" tiny.h5 -n 2 -t 5)" ] || fail "submit.sh resubmitted a complete sweep"
log "A: ok ($(( $(date +%s) - t_a ))s)"

# ------------------------------------------------------------------------------------------
log "C: requeue after a USR1 to the batch shell"
t_c=$(date +%s)
id_c="$(submit_slow medium.yaml medium.h5 -n 2 -t 5 -J requeue)"
end=$(( $(date +%s) + 60 ))
until grep -q 'work units on 2 ranks' "$(joblog "$id_c")" 2>/dev/null; do
  [ "$(date +%s)" -lt "$end" ] || fail "job $id_c did not start gdsweep"
  sleep 0.2
done
sleep 1
scancel --batch --signal=USR1 "$id_c"
expect_job "$id_c" COMPLETED 0:0 120
log_c="$(joblog "$id_c")"
[ "$(job_field "$id_c" Restarts)" -ge 1 ] || fail "job $id_c was not requeued (log $log_c)"
grep -q 'requeueing job' "$log_c" || fail "job $id_c did not requeue itself"
grep -q 'gdsweep exited with 3' "$log_c" || fail "gdsweep did not exit with 3 on USR1"
"$gdsweep" status medium.h5 | head -n1 | grep -q '(complete)' || fail "medium.h5 is not complete"
log "C: ok ($(( $(date +%s) - t_c ))s; $(grep -c 'attempt [0-9]* on' "$log_c") attempts)"

# ------------------------------------------------------------------------------------------
log "B: time limit 1 min, USR1 10 s before it, afterany follow-up"
t_b=$(date +%s)
# slurmctld checks time limits every 30 s (its "Testing job time limits" passes); the USR1 comes
# at the first pass with <= 10 + 30 s left. Submitting just after a pass makes that ~28 s into the
# job (unaligned: 20..50 s).
last_pass="$(grep 'Testing job time limits' "$work/slurm/slurmctld.log" | tail -n1 | sed 's/^\[\([^]]*\)\].*/\1/')"
if [ -n "$last_pass" ]; then
  p=$(date -d "${last_pass/T/ }" +%s.%N)
  w=$(awk -v p="$p" -v n="$(date +%s.%N)" 'BEGIN { x = (n - p) % 30; w = 1.5 - x; if (w < 0) w += 30; if (x >= 1 && x < 4) w = 0; printf "%.2f", w }')
  log "B: waiting ${w}s for a time-limit pass"
  sleep "$w"
fi
mapfile -t ids < <(submit_slow long.yaml long.h5 -n 2 -t 1 -w 10 -J timelimit --chain 1)
[ "${#ids[@]}" = 2 ] || fail "submit.sh --chain 1 printed ${#ids[@]} job ids, expected 2"
# The follow-up gets time to finish whatever is left even on a slow or busy machine.
scontrol update JobId="${ids[1]}" TimeLimit=5 || fail "cannot change the time limit of job ${ids[1]}"
expect_job "${ids[0]}" FAILED 3:0 150
log_b1="$(joblog "${ids[0]}")"
grep -q 'got SIGUSR1' "$log_b1" || fail "job ${ids[0]} got no USR1 before its time limit (log $log_b1)"
n1="$(grep -o '[0-9]*/[0-9]* points done, [0-9]* missing' "$log_b1" | tail -n1 | cut -d' ' -f1)"
total="${n1#*/}" n1="${n1%/*}"
if [ -z "$n1" ] || [ "$n1" -le 0 ] || [ "$n1" -ge "$total" ]; then
  fail "job ${ids[0]} was not stopped mid-sweep ($n1 of $total points done): sweep size vs machine speed"
fi
run1="$(job_field "${ids[0]}" RunTime)"
log "B: job ${ids[0]} stopped after $run1 with $n1/$total points done"
expect_job "${ids[1]}" COMPLETED 0:0 330
"$gdsweep" status long.h5 | head -n1 | grep -q '(complete)' || fail "long.h5 is not complete"
grep -q "($n1 already done)" "$(joblog "${ids[1]}")" || fail "job ${ids[1]} did not resume from $n1 points"
log "B: follow-up ${ids[1]} completed ($(( $(date +%s) - t_b ))s); waiting for the reference run"
while kill -0 "$ref_pid" 2>/dev/null; do
  [ "$(date +%s)" -lt "$budget" ] || fail "the reference run did not finish within the test's time budget"
  sleep 0.5
done
rc=0
wait "$ref_pid" || rc=$?
ref_pid=""
[ "$rc" = 0 ] || { cat ref.log >&2; fail "reference run failed ($rc)"; }
h5diff -q ref.h5 long.h5 /results /results ||
  fail "/results of the interrupted+resumed sweep differ from the uninterrupted run"
h5diff -q ref.h5 long.h5 /problem || fail "/problem differs from the uninterrupted run"
log "B: ok: resumed file equals the uninterrupted run"
log "PASS ($(( $(date +%s) - t_start ))s)"
