#!/usr/bin/env bash
# Integration test: results are a pure function of the sweep file and the grid point (SPEC §3).
#  1. sweeps/tiny.yaml run twice with mpirun -n 1, and with -n 2, 3 and 4 (oversubscribed):
#     /results, /problem, /prior and /schedule bitwise identical (h5diff).
#  1a. Sweeps with input files (a texture and a mask file; a spectrum .npy), which rank 0 alone
#     reads and broadcasts: bitwise identical on 1 and 3 ranks, same fingerprint and hashes.
#  1b. A sweep on all three law backends (Fourier-diagonal, Fourier-block, dense) whose seeds
#     are split into blocks of different sizes depending on the rank count (the test checks
#     that the unit counts differ), and with --seed-block 1: bitwise identical; 200 seeds in one
#     unit (the exact law evaluated in tiles of 71 seeds) vs one seed per unit; a vp_sde sweep
#     on the three backends with trajectories, -n 1 vs -n 3, and on a prior given by a 1-D
#     spectrum (trajectories in its coordinates).
#  2. A bigger sweep killed with SIGKILL (the whole MPI job) at a random moment, then resumed
#     with another rank count, equals an uninterrupted run.
#  3. The same sweep stopped by SIGTERM sent to the ranks (what srun/scancel do) exits 3 with a
#     readable, partial file; --resume completes it (exit 0) and it equals the reference.
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/lib.sh"
cd "$WORK" || exit 1

note "--- sweeps/tiny.yaml under 1, 1, 2, 3 and 4 ranks"
tiny="$GDS_SOURCE_DIR/sweeps/tiny.yaml"
for run in 1a:1 1b:1 2:2 3:3 4:4; do
  gds_mpi "${run#*:}" run "$tiny" -o "tiny-${run%:*}.h5" --quiet
  expect_rc 0 "tiny.yaml with mpirun -n ${run#*:}"
done
h5_same tiny-1a.h5 tiny-1b.h5 "tiny: two runs with -n 1"
h5_same tiny-1a.h5 tiny-2.h5 "tiny: -n 1 vs -n 2"
h5_same tiny-1a.h5 tiny-3.h5 "tiny: -n 1 vs -n 3"
h5_same tiny-1a.h5 tiny-4.h5 "tiny: -n 1 vs -n 4"

note "--- input files (texture, mask, spectrum) read by rank 0 only, their contents broadcast"
{ printf 'P2\n8 8\n255\n'; seq 0 3 189; } >tex.pgm
{ printf 'P2\n8 8\n255\n'; awk 'BEGIN { for (i = 0; i < 64; i++) print ((i % 7 == 2) ? 0 : 255) }'; } >mask.pgm
cat >files.yaml <<'EOF'
name: det-files
prior: {texture: tex.pgm, size: [8, 8]}
diffusion: {steps: 20, beta_start: 0.001, beta_end: 0.3}
grid:
  operator:
    - inpainting: {mask: file, path: mask.pgm}
    - gaussian_blur: {std: 1.0}
  sigma: [0.05]
  algorithm: [pigdm, cgdm]
  seed: [0, 1, 2, 3]
output: {samples: 0, w2_times: all}
EOF
cat >spectrum.yaml <<EOF
name: det-spectrum
prior: {spectrum: $GDS_SOURCE_DIR/tests/data/cifar10_spectrum.npy, mean: 0.25}
diffusion: {process: vp_sde}
grid: {operator: [identity: {}], sigma: [0.1], algorithm: [none, pigdm], sampler_steps: [10], seed: [0, 1, 2]}
output: {samples: 0}
EOF
# same_1_3 NAME LABEL: NAME.yaml run with 1 and with 3 ranks (NAME-1.h5, NAME-3.h5), bitwise equal.
same_1_3() {
  local n
  for n in 1 3; do
    gds_mpi "$n" run "$1.yaml" -o "$1-$n.h5" --quiet
    expect_rc 0 "$1.yaml with mpirun -n $n"
  done
  h5_same "$1-1.h5" "$1-3.h5" "$2: -n 1 vs -n 3"
}
for f in files spectrum; do
  same_1_3 "$f" "$f"
  a1=$(h5dump -a /fingerprint -a /inputs "$f-1.h5" 2>/dev/null | grep -v HDF5)
  a3=$(h5dump -a /fingerprint -a /inputs "$f-3.h5" 2>/dev/null | grep -v HDF5)
  if [ -n "$a1" ] && [ "$a1" = "$a3" ] && echo "$a1" | grep -qE '[0-9a-f]{64}'; then
    pass "$f: fingerprint and input hashes the same on 1 and 3 ranks"
  else fail "$f: fingerprint/inputs attributes differ between 1 and 3 ranks or lack hashes"; fi
done

note "--- three law backends, seed blocks that depend on the rank count"
cat >backends.yaml <<'EOF'
name: det-backends
prior: {texture: builtin:fabric, size: [8, 8], periodic: true}
diffusion: {steps: 40, beta_start: 0.001, beta_end: 0.2}
grid:
  operator:
    - gaussian_blur: {std: 1.2}
    - super_resolution: {factor: 2}
    - inpainting: {mask: random, keep: 0.6, mask_seed: 3}
  sigma: [0.05]
  alpha_dps: [0.5]
  algorithm: [dps, pigdm, cgdm]
  seed: [0, 1, 2, 3, 4]
output: {samples: 1, checkpoints: [40, 0], w2_times: all}
EOF
units=()
for n in 1 2 3 4; do
  gds_mpi "$n" run backends.yaml -o "backends-$n.h5"
  expect_rc 0 "backends.yaml with mpirun -n $n"
  units+=("$(sed -n 's/.* \([0-9]*\) work units on .*/\1/p' "$STDERR")")
done
gds run backends.yaml -o backends-b1.h5 --quiet --seed-block 1
expect_rc 0 "backends.yaml with --seed-block 1"
note "work units for 1..4 ranks: ${units[*]}"
if [ -n "${units[0]}" ] && [ "${units[0]}" != "${units[3]}" ]; then
  pass "seed blocks differ between 1 and 4 ranks (${units[0]} vs ${units[3]} units)"
else
  fail "1 and 4 ranks made the same units (${units[0]:-?}): the test would not see a dependence on the blocks"
fi
for n in 2 3 4 b1; do h5_same backends-1.h5 "backends-$n.h5" "backends: -n 1 vs $n"; done

note "--- law tiles: a unit of more seeds than a tile (8x8, T = 50: 71 seeds per tile) vs one seed per unit"
cat >tiles.yaml <<'EOF'
name: det-tiles
prior: {texture: builtin:fabric, size: [8, 8]}
diffusion: {steps: 50, beta_start: 0.001, beta_end: 0.2}
grid:
  operator: [gaussian_blur: {std: 1.5}, super_resolution: {factor: 2}]
  sigma: [0.05]
  algorithm: [cgdm]
  seed: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63, 64, 65, 66, 67, 68, 69, 70, 71, 72, 73, 74, 75, 76, 77, 78, 79, 80, 81, 82, 83, 84, 85, 86, 87, 88, 89, 90, 91, 92, 93, 94, 95, 96, 97, 98, 99, 100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111, 112, 113, 114, 115, 116, 117, 118, 119, 120, 121, 122, 123, 124, 125, 126, 127, 128, 129, 130, 131, 132, 133, 134, 135, 136, 137, 138, 139, 140, 141, 142, 143, 144, 145, 146, 147, 148, 149, 150, 151, 152, 153, 154, 155, 156, 157, 158, 159, 160, 161, 162, 163, 164, 165, 166, 167, 168, 169, 170, 171, 172, 173, 174, 175, 176, 177, 178, 179, 180, 181, 182, 183, 184, 185, 186, 187, 188, 189, 190, 191, 192, 193, 194, 195, 196, 197, 198, 199]
output: {samples: 0, w2_times: all}
EOF
gds run tiles.yaml -o tiles-200.h5 --quiet --seed-block 200
expect_rc 0 "tiles.yaml with 200 seeds per unit"
gds run tiles.yaml -o tiles-1.h5 --quiet --seed-block 1
expect_rc 0 "tiles.yaml with 1 seed per unit"
h5_same tiles-200.h5 tiles-1.h5 "tiles: 200 seeds per unit (3 law tiles) vs 1"

note "--- vp_sde on the three backends (trajectories by step index, +inf laws and samples)"
cat >vp.yaml <<'EOF'
name: det-vp
prior: {texture: builtin:fabric, size: [8, 6], periodic: true}
diffusion: {process: vp_sde, beta_min: 0.1, beta_max: 20}
grid:
  operator:
    - gaussian_blur: {std: 1.2}
    - super_resolution: {factor: 2}
    - inpainting: {mask: random, keep: 0.6, mask_seed: 3}
  sigma: [0.05]
  algorithm: [none, dps, cgdm]
  scheme: [em, ddpm, heun]
  sampler_steps: [8, 25]
  eps: [0, 1.0e-3]
  init: [normal, exact]
  seed: [0, 1, 2, 3, 4]
output: {samples: 1, checkpoints: [0, 4, 8], w2_times: all}
EOF
same_1_3 vp vp_sde

note "--- vp_sde trajectories of a prior given by a 1-D spectrum (its coordinates, images 1 x n)"
/usr/bin/python3 -c "import numpy as np; np.save('eig.npy', np.array([0, 0.02, 0.1, 0.35, 0.8, 1.6, 3.0, 0.5]))"
cat >eig.yaml <<'EOF'
name: det-eigen
prior: {spectrum: eig.npy, mean: 0.3}
diffusion: {process: vp_sde, beta_min: 0.1, beta_max: 20}
grid:
  operator: [identity: {}]
  sigma: [0.05]
  algorithm: [none, dps, cgdm]
  scheme: [em, ei, ddpm, euler, heun, rk4]
  sampler_steps: [8, 25]
  eps: [0, 1.0e-3]
  init: [normal, exact]
  seed: [0, 1, 2]
output: {samples: 2, checkpoints: [0, 4, 8], w2_times: all}
EOF
same_1_3 eig "eigenbasis prior, vp_sde trajectories"
# [op, sigma, alpha, alg, scheme, steps, eps, init, seed, sample, checkpoint, 1, 8]: em finite
# everywhere; a normal start is block 0 of (seed, sample), the same for every algorithm and scheme.
if /usr/bin/python3 - eig-1.h5 <<'EOF'
import sys, h5py, numpy as np
t = h5py.File(sys.argv[1], "r")["/results/trajectories"][...]
assert t.shape == (1, 1, 1, 3, 6, 2, 2, 2, 3, 2, 3, 1, 8), t.shape
assert np.isfinite(t[:, :, :, :, 0]).all()
start = t[:, :, :, :, :, :, :, 0, :, :, 0]  # normal init, checkpoint 0
assert (start == start[:, :, :, :1, :1, :1, :1]).all() and np.ptp(start) > 0
EOF
then pass "eigenbasis prior: trajectories 1 x 8 in /results/trajectories, common start noise"
else fail "eigenbasis prior: /results/trajectories wrong (shape, values or start noise)"; fi

# 2 operators x 3 sigmas x 3 alphas x 3 algorithms x 4 seeds = 216 points in about 30 work
# units, 32x32, T = 400, 2 sampled trajectories per point, W2 at every t. The interrupted runs
# below make every unit last at least UNIT_S seconds (test-only GDSWEEP_TEST_UNIT_SECONDS;
# results unaffected), so they last >= 30 * UNIT_S / 2 s on 2 ranks however fast the machine
# is, and the signals land mid-run. (Done flags reach the file in batches, at most 1 s late.)
UNIT_S=0.5
cat >long.yaml <<'EOF'
name: kill-test
prior: {texture: builtin:fabric, size: [32, 32]}
diffusion: {steps: 400}
grid:
  operator:
    - gaussian_blur: {std: 1.5}
    - motion_blur: {length: 5, angle: 45}
  sigma: [0.02, 0.05, 0.1]
  alpha_dps: [0.05, 0.1, 0.2]
  algorithm: [dps, pigdm, cgdm]
  seed: [0, 1, 2, 3]
output: {samples: 2, checkpoints: [400, 200, 100, 0]}
EOF

note "--- reference run of long.yaml (mpirun -n 2)"
t0=$(date +%s%N)
gds_mpi 2 run long.yaml -o ref.h5 --quiet
t_ref=$(awk -v a="$t0" -v b="$(date +%s%N)" 'BEGIN {printf "%.2f", (b - a) / 1e9}')
expect_rc 0 "long.yaml reference run"
note "reference run took ${t_ref} s"
total=$(total_points ref.h5)

note "--- SIGKILL of the whole job at a random moment, then --resume with 3 ranks"
GDSWEEP_TEST_UNIT_SECONDS=$UNIT_S gds_start_bg kill.log mpirun -n 2 --oversubscribe "$GDSWEEP" run long.yaml -o killed.h5 --quiet
pid=$BG_PID
# Once the first points are done (>= 1 s into a run of >= 7 s), kill at a random moment in
# the next 2 s.
if wait_for_progress killed.h5 "$pid" 1; then
  delay=$(awk -v r="$RANDOM" 'BEGIN {printf "%.2f", 2.0 * r / 32767}')
  sleep "$delay"
  kill_job KILL "$pid" # mpirun and every rank, as a node failure would
fi
gds_wait_bg "$pid"
n_done=$(done_points killed.h5 || true)
note "SIGKILL after ${delay:-?} s: ${n_done:-?}/$total points done (exit $RC)"
if [ -z "$n_done" ]; then
  fail "the killed run left no readable file (see $WORK/kill.log)"
elif [ "$n_done" -ge "$total" ]; then
  note "the sweep finished before the kill: resume has nothing to do (still checked)"
else
  gds status killed.h5
  expect_rc 3 "status of the killed file (points missing: resumable)"
  expect_text "$STDOUT" "status of the killed file" "$((total - n_done)) missing"
fi
gds_mpi 3 run long.yaml -o killed.h5 --resume --quiet
expect_rc 0 "--resume of the killed run (-n 3)"
gds status killed.h5
expect_text "$STDOUT" "status after resume" "$total/$total points done, 0 missing" "(complete)"
h5_same ref.h5 killed.h5 "SIGKILL + resume vs uninterrupted"

note "--- SIGTERM to the ranks: exit 3, then --resume (-n 1) completes"
GDSWEEP_TEST_UNIT_SECONDS=$UNIT_S gds_start_bg term.log mpirun -n 2 --oversubscribe "$GDSWEEP" run long.yaml -o term.h5
pid=$BG_PID
# Stop it once about a quarter of the points are done.
if wait_for_progress term.h5 "$pid" $((total / 4)); then
  kill_job TERM "$pid" gdsweep
else
  fail "the SIGTERM run ended before any point was done (see $WORK/term.log)"
fi
gds_wait_bg "$pid"
if [ "$RC" -eq 3 ]; then pass "SIGTERM: exit code 3"
else fail "SIGTERM: exit code $RC, expected 3 (log: $(tail -n 3 term.log | tr '\n' ' '))"; fi
if grep -qF -- "--resume" term.log; then pass "SIGTERM: the message says how to resume"
else fail "SIGTERM: no resume hint in term.log"; fi
n_done=$(done_points term.h5 || true)
note "SIGTERM: ${n_done:-?}/$total points done"
if [ -n "$n_done" ] && [ "$n_done" -lt "$total" ]; then
  pass "SIGTERM: the file is readable and partial"
  expect_attr term.h5 complete 0 "SIGTERM"
else
  fail "SIGTERM: expected a readable partial file, got ${n_done:-nothing} done"
fi
gds_mpi 1 run long.yaml -o term.h5 --resume --quiet
expect_rc 0 "--resume of the SIGTERM'ed run (-n 1)"
h5_same ref.h5 term.h5 "SIGTERM + resume vs uninterrupted"
expect_attr term.h5 resume_count 1 "after one resume"
expect_attr term.h5 complete 1 "after the resume"

gds_finish
