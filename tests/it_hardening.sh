#!/usr/bin/env bash
# Integration test (issue 8, the driver's and the output file's parts): nothing a user does loses
# or corrupts results, and every fault ends a run cleanly. No case depends on timing: runs are
# stopped or disturbed after a message they print (test-only knobs GDSWEEP_TEST_TRACE, _PAUSE,
# _UNIT_SECONDS, _FAIL; see gds_run_options).
#  1. --force while another process (h5py) has the old file open: that reader keeps the old,
#     complete results; the new file replaces the old one only once it is complete.
#  2. One writer per file: while a run writes OUT, runs on OUT, on a symbolic link and on a hard
#     link to it (plain, --resume, --force) are refused naming the cause; the first run is then
#     stopped and resumed, through the link, to completion.
#  3. SIGKILL during creation: OUT does not exist, `status` and `--resume` say what happened and
#     what to do, a new run succeeds and removes the leftover.
#  4. SIGTERM inside a long unit — in its trajectories, and in the exact law of a dense unit on
#     1 rank and on a group of 2 — ends the run with exit 3 promptly, before the unit's
#     computation finishes; the file stays readable and resumable.
#  5. An error on one rank (an injected allocation failure) inside a dense unit computed by a
#     group of 2, and in a worker's Fourier unit: exit 2, a message naming the rank and the
#     cause, no hang; --resume completes the sweep.
#  6. `check` and `run` refuse a unit that cannot fit in memory (naming the memory per rank);
#     `check --ranks --group-size` plans for that run; `check -o` refuses an output larger than
#     the free space.
#  7. No space left on the device during the run (a small tmpfs filled while a unit computes):
#     exit 2 and the message says so. Skipped where a tmpfs cannot be mounted.
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/lib.sh"
cd "$WORK" || exit 1
trap 'umount "$WORK/full" 2>/dev/null || true; gds_cleanup' EXIT
PY=/usr/bin/python3

# wait_log FILE PATTERN PID: until FILE contains PATTERN (fixed string) or PID exits (returns 1).
wait_log() {
  while kill -0 "$3" 2>/dev/null; do
    grep -qF -- "$2" "$1" 2>/dev/null && return 0
    sleep 0.05
  done
  grep -qF -- "$2" "$1" 2>/dev/null
}
# seconds since T0 (date +%s.%N)
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}'; }

# 4 units (2 sigmas x 2 algorithms), 8 points, a fraction of a second of work.
cat >small.yaml <<'EOF'
name: hardening
prior: {texture: builtin:fabric, size: [12, 10]}
diffusion: {steps: 40, beta_start: 0.001, beta_end: 0.2}
grid:
  operator: [gaussian_blur: {std: 1.5}]
  sigma: [0.05, 0.1]
  algorithm: [pigdm, cgdm]
  seed: [0, 1]
output: {samples: 1, checkpoints: [40, 0]}
EOF

note "--- 1. --force while a reader has the old file open"
gds run small.yaml -o forced.h5 --quiet
expect_rc 0 "first run of small.yaml"
cat >reader.py <<'EOF'
import os, sys, time, h5py
f = h5py.File(sys.argv[1], "r")           # HDF5's own file locking on: a shared lock
start = f.attrs["start_time"]
print("open", flush=True)
while not os.path.exists(sys.argv[2]):
    time.sleep(0.05)
d = f["results/done"][()]
print(f"reader: {int(d.sum())}/{d.size} done, start_time {start}", flush=True)
EOF
start_old=$(h5dump -a /start_time forced.h5 | sed -n 's/.*(0): "\(.*\)".*/\1/p')
gds_start_bg reader.log "$PY" reader.py forced.h5 go
reader=$BG_PID
if wait_log reader.log open "$reader"; then
  gds run small.yaml -o forced.h5 --force --quiet
  expect_rc 0 "--force while a reader holds the old file"
  touch go
  gds_wait_bg "$reader"
  expect_text reader.log "the reader of the old file" "reader: 8/8 done"
  gds status forced.h5
  expect_rc 0 "status of the forced file"
  expect_text "$STDOUT" "the new file" "8/8 points done, 0 missing (complete)"
  [ -e .forced.h5.gdsweep-tmp ] && fail "--force left its temporary file" || pass "--force left no temporary file"
else
  fail "the reader did not open the file: $(cat reader.log)"
fi

note "--- 2. one writer per file, whatever the path"
# Units last at least 10 minutes: the writer is busy until the SIGTERM below, however slow the
# checks are.
GDSWEEP_TEST_TRACE=1 GDSWEEP_TEST_UNIT_SECONDS=600 gds_start_bg writer.log "$GDSWEEP" run small.yaml -o writing.h5
writer=$BG_PID
if wait_log writer.log "unit 0 started" "$writer"; then
  ln -s writing.h5 link.h5
  ln writing.h5 hard.h5
  for target in writing.h5 link.h5 hard.h5; do
    gds run small.yaml -o "$target" --resume
    expect_rc 1 "--resume of $target while another run writes it"
    expect_text "$STDERR" "--resume of $target" "held by another gdsweep run"
    gds run small.yaml -o "$target" --force
    expect_rc 1 "--force of $target while another run writes it"
    expect_text "$STDERR" "--force of $target" "held by another gdsweep run"
  done
  gds run small.yaml -o link.h5
  expect_rc 1 "a plain run onto the link"
  expect_text "$STDERR" "a plain run onto the link" "already exists"
  kill_job TERM "$writer" gdsweep
  gds_wait_bg "$writer"
  expect_rc 3 "the writer, stopped by SIGTERM"
  gds run small.yaml -o link.h5 --resume --quiet
  expect_rc 0 "--resume through the symbolic link"
  gds status hard.h5
  expect_text "$STDOUT" "status through the hard link" "8/8 points done, 0 missing (complete)"
  [ -L link.h5 ] && pass "the symbolic link is still a link" || fail "the symbolic link was replaced"
else
  fail "the writer did not start: $(cat writer.log)"
fi

note "--- 3. SIGKILL while the output is being created"
GDSWEEP_TEST_PAUSE=create gds_start_bg create.log "$GDSWEEP" run small.yaml -o half.h5
creator=$BG_PID
if wait_log create.log "paused while creating" "$creator"; then
  kill_job KILL "$creator"
  gds_wait_bg "$creator"
  expect_no_file half.h5 "SIGKILL during creation"
  [ -e .half.h5.gdsweep-tmp ] && pass "the partial file is the hidden temporary" || fail "no temporary left (was the file created elsewhere?)"
  gds status half.h5
  expect_rc 1 "status of a file whose creation was killed"
  expect_text "$STDERR" "status after a killed creation" "half.h5" "interrupted" "without --resume"
  gds run small.yaml -o half.h5 --resume
  expect_rc 1 "--resume of a file whose creation was killed"
  expect_text "$STDERR" "--resume after a killed creation" "half.h5" "interrupted" "without --resume"
  gds run small.yaml -o half.h5 --quiet
  expect_rc 0 "a new run after the killed creation"
  [ -e .half.h5.gdsweep-tmp ] && fail "the leftover temporary is still there" || pass "the leftover temporary was removed"
else
  fail "the run did not pause while creating: $(cat create.log)"
fi

note "--- 4. SIGTERM inside a long unit"
# One unit of minutes: 3000 trajectories of 64x64 with T = 1000 (the exact law takes ~0.1 s).
cat >longtraj.yaml <<'EOF'
name: long-trajectories
prior: {texture: builtin:fabric, size: [64, 64]}
diffusion: {steps: 1000}
grid:
  operator: [gaussian_blur: {std: 1.0}]
  sigma: [0.05]
  algorithm: [cgdm]
  seed: [0]
output: {samples: 3000, checkpoints: [1000, 0], w2_times: [1000, 0]}
EOF
# One unit of minutes in the dense backend's exact law (32x32 inpainting, T = 3000).
cat >longlaw.yaml <<'EOF'
name: long-law
prior: {texture: builtin:fabric, size: [32, 32]}
diffusion: {steps: 3000}
grid:
  operator: [inpainting: {mask: random, keep: 0.5}]
  sigma: [0.05]
  algorithm: [pigdm]
  seed: [0]
output: {samples: 0, w2_times: [3000, 1500, 0]}
EOF
stop_inside() { # NAME NP SWEEP [run args]
  local name=$1 np=$2 sweep=$3 pid t0 el
  shift 3
  GDSWEEP_TEST_TRACE=1 gds_start_bg "$name.log" mpirun -n "$np" --oversubscribe "$GDSWEEP" run "$sweep" -o "$name.h5" "$@"
  pid=$BG_PID
  if ! wait_log "$name.log" "unit 0 started" "$pid"; then
    fail "$name: the run did not start its unit: $(tail -n 5 "$name.log" | tr '\n' ' ')"
    return 0
  fi
  t0=$(date +%s.%N)
  kill_job TERM "$pid" gdsweep
  gds_wait_bg "$pid"
  el=$(since "$t0")
  if [ "$RC" -eq 3 ]; then pass "$name: SIGTERM inside the unit: exit code 3 after ${el} s"
  else fail "$name: exit code $RC after SIGTERM, expected 3 (log: $(tail -n 3 "$name.log" | tr '\n' ' '))"; fi
  if grep -q "unit 0 computed" "$name.log"; then fail "$name: the unit finished its computation before stopping"
  else pass "$name: stopped inside the computation"; fi
  if awk -v e="$el" 'BEGIN {exit !(e <= 60)}'; then pass "$name: stopped within 60 s of the signal (${el} s; the unit alone takes minutes)"
  else fail "$name: took ${el} s to stop"; fi
  gds status "$name.h5"
  expect_rc 3 "$name: status after the stop (resumable)"
}
stop_inside stop-traj 1 longtraj.yaml
stop_inside stop-law 1 longlaw.yaml
stop_inside stop-law-group 2 longlaw.yaml --group-size 2

note "--- 5. an error on one rank ends the run (exit 2) without hanging"
cat >dense.yaml <<'EOF'
name: dense-fault
prior: {texture: builtin:fabric, size: [12, 10]}
diffusion: {steps: 60, beta_start: 0.001, beta_end: 0.2}
grid:
  operator: [inpainting: {mask: random, keep: 0.5}]
  sigma: [0.05]
  algorithm: [pigdm, cgdm]
  seed: [0, 1]
output: {samples: 1, checkpoints: [60, 0]}
EOF
GDSWEEP_TEST_FAIL=1:0 gds_mpi 2 run dense.yaml -o fault-group.h5 --group-size 2
expect_rc 2 "allocation failure on rank 1 inside a dense unit of a group of 2"
expect_text "$STDERR" "the group failure" "rank 1: out of memory" "injected" "error on rank 1" "--resume"
gds_mpi 2 run dense.yaml -o fault-group.h5 --group-size 2 --resume --quiet
expect_rc 0 "--resume after the group failure"
# Units of >= 1 s (test knob): rank 1 asks for its first unit right after the collective start,
# long before the other ranks could have taken all of them, however loaded the machine is.
GDSWEEP_TEST_FAIL='1:*' GDSWEEP_TEST_UNIT_SECONDS=1 gds_mpi 3 run small.yaml -o fault-worker.h5
expect_rc 2 "allocation failure on worker rank 1"
expect_text "$STDERR" "the worker failure" "rank 1: out of memory" "error on rank 1"
gds status fault-worker.h5
expect_rc 3 "status after the worker failure (resumable)"
gds_mpi 3 run small.yaml -o fault-worker.h5 --resume --quiet
expect_rc 0 "--resume after the worker failure"

note "--- 6. memory and disk limits are checked before anything is written"
cat >bigmem.yaml <<'EOF'
name: big-dense
prior: {texture: builtin:fabric, size: [256, 256]}
diffusion: {steps: 100}
grid:
  operator: [inpainting: {mask: random, keep: 0.5}]
  sigma: [0.05]
  algorithm: [pigdm]
  seed: [0]
output: {samples: 0}
EOF
gds check bigmem.yaml
expect_rc 1 "check of a unit that cannot fit in memory"
expect_text "$STDERR" "check bigmem" "bigmem.yaml" "GB of memory per rank" "--group-size"
expect_text "$STDOUT" "check bigmem prints the memory" "memory     about"
gds run bigmem.yaml -o bigmem.h5
expect_rc 1 "run of a unit that cannot fit in memory"
expect_text "$STDERR" "run bigmem" "GB of memory per rank"
expect_no_file bigmem.h5 "run of a unit that cannot fit in memory"
gds check bigmem.yaml --ranks 256 --group-size 256
expect_rc 0 "check of the same sweep planned for groups of 256 ranks"
{
  printf 'name: huge\nprior: {texture: builtin:noise, size: [32, 32]}\ndiffusion: {steps: 100}\n'
  printf 'grid:\n  operator: [identity: {}]\n  sigma: [0.1]\n  algorithm: [cgdm]\n  seed: ['
  seq -s, 0 99 | tr -d '\n'
  printf ']\noutput: {samples: 100000, checkpoints: [100, 75, 50, 25, 0]}\n'
} >huge.yaml
gds check huge.yaml -o huge.h5
expect_rc 1 "check -o of an output larger than the free space"
expect_text "$STDERR" "check -o huge" "huge.h5" "the output needs about" "no space left"
gds check huge.yaml
expect_rc 0 "check of the same sweep without -o"
mkdir -p outdir
gds check small.yaml -o outdir
expect_rc 1 "check -o of a directory"
expect_text "$STDERR" "check -o of a directory" "outdir" "is a directory"
gds check small.yaml -o nodir/x.h5
expect_rc 1 "check -o in a missing directory"
expect_text "$STDERR" "check -o in a missing directory" "nodir" "does not exist"

note "--- 7. no space left on the device during the run"
mkdir -p full
if mount -t tmpfs -o size=3m tmpfs full 2>/dev/null; then
  GDSWEEP_TEST_TRACE=1 GDSWEEP_TEST_UNIT_SECONDS=3 gds_start_bg space.log "$GDSWEEP" run small.yaml -o full/space.h5
  pid=$BG_PID
  if wait_log space.log "unit 0 started" "$pid"; then
    dd if=/dev/zero of=full/filler bs=64k >/dev/null 2>&1 || true # until the device is full
    gds_wait_bg "$pid"
    if [ "$RC" -eq 2 ]; then pass "a full device: exit code 2"; else fail "a full device: exit code $RC, expected 2"; fi
    expect_text space.log "a full device" "cannot write" "no space left on the device"
  else
    fail "the run on the tmpfs did not start: $(cat space.log)"
  fi
  umount full
else
  note "skipped: cannot mount a tmpfs here (needs root)"
fi

gds_finish
