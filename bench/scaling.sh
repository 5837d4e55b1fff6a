#!/usr/bin/env bash
# Scaling of `gdsweep run` (issue 12), simulating many ranks on this machine with oversubscribed
# mpirun and tiny problems, plus one real-work sweep. Builds nothing. Three parts:
#
#  tiny    sweeps of 10^3, 10^4, 10^5 points (8x8 image, T = 20, samples 0: almost no compute per
#          point, so the driver, the coordinator and the writes are what is measured) at 1, 2, 4,
#          8, 16 ranks: points/s and per-phase times (gdsweep --timing: create, dispatch, compute,
#          write, done-write, close; max and sum over ranks), and, in the same invocation, the
#          time h5py needs to write the same result arrays (w2, w2_mean, w2_cov, done; one call
#          each). Acceptance: the 10^5-point sweep on 1 rank takes <= 10x the h5py time, and
#          points/s does not drop as ranks are added up to 16.
#  create  the creation of a 10^6-point output file (the run is stopped by SIGTERM right after
#          creating it; its --timing line has the create time). Acceptance: seconds.
#  real    1 sigma x 1000 seeds, 64x64, T = 1000, 1 sample, gaussian_blur (one point
#          combination, many seeds: the seed split must use every rank) on 1 and 2 ranks.
#          Acceptance: >= 1.8x.
#
# usage: bench/scaling.sh [BUILD_DIR] [--parts "tiny create real"] [--np "1 2 4 8 16"]
#                         [--points "1000 10000 100000"] [--reps R] [--real-seeds N] [--keep DIR]
# env: WAIT_IDLE=S waits up to S s for an idle machine before each timed run (bench/idle.sh).
# Times: "run" is gdsweep's own wall time (gds_run, from the moment every rank has entered it to
# the close; "start" is the wait at entry for ranks still in MPI start-up); "mpirun" is
# the wall time of the whole command including MPI start-up (measured separately as "startup":
# mpirun of `gdsweep --version`). Medians of R runs.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
. "$here/idle.sh"
build=$root/build
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then build=$1; shift; fi
parts="tiny create real" nps="1 2 4 8 16" pointss="1000 10000 100000" reps=3 real_seeds=1000 keep=
while [ $# -gt 0 ]; do
  case $1 in
    --parts) parts=$2; shift 2 ;;
    --np) nps=$2; shift 2 ;;
    --points) pointss=$2; shift 2 ;;
    --reps) reps=$2; shift 2 ;;
    --real-seeds) real_seeds=$2; shift 2 ;;
    --keep) keep=$2; shift 2 ;;
    -h|--help) sed -n '2,27p' "$0"; exit 0 ;;
    *) echo "scaling.sh: unknown option $1" >&2; exit 1 ;;
  esac
done
exe=$build/gdsweep
[ -x "$exe" ] || { echo "scaling.sh: $exe not found: build first" >&2; exit 1; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
py=/usr/bin/python3

work=${keep:-$(mktemp -d)}
mkdir -p "$work"
[ -n "$keep" ] || trap 'rm -rf "$work"' EXIT

median() { sort -g | awk '{a[NR] = $1} END {if (NR) print (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2)}'; }
now() { date +%s.%N; }
# timing_field LOG NAME → "max sum" of a --timing phase
timing_field() { sed -n "s/.* $2 \([0-9.]*\)\/\([0-9.]*\).*/\1 \2/p" "$1" | tail -1; }

echo "# gdsweep scaling (bench/scaling.sh)"
echo "date:     $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "revision: $(git -C "$root" describe --always --dirty --abbrev=12 2>/dev/null || echo unknown)"
echo "machine:  $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(getconf _NPROCESSORS_ONLN) cores, $(free -g | awk '/^Mem:/ {print $2}') GiB RAM"
echo "mpirun:   $(mpirun --version 2>&1 | head -1)"
echo "load:     $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min) before"
echo

# A tiny sweep of P points: 1 operator x 10 sigmas x 2 algorithms x P/20 seeds.
tiny_sweep() { # points file
  local seeds=$(($1 / 20))
  {
    echo "name: tiny-scaling-$1"
    echo "prior: {texture: builtin:fabric, size: [8, 8]}"
    echo "diffusion: {steps: 20, beta_start: 0.01, beta_end: 0.3}"
    echo "grid:"
    echo "  operator: [gaussian_blur: {std: 1.0}]"
    echo "  sigma: [0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08, 0.09, 0.1]"
    echo "  algorithm: [pigdm, cgdm]"
    echo "  seed: [$(seq -s, 0 $((seeds - 1)))]"
    echo "output: {samples: 0}"
  } >"$2"
}

# run_once NP SWEEP OUT LOG [extra args] → "mpirun_wall" ; the --timing line is in LOG
run_once() {
  local np=$1 sweep=$2 out=$3 log=$4 t0 t1
  shift 4
  rm -f "$out"
  t0=$(now)
  mpirun -n "$np" "$exe" run "$sweep" -o "$out" --timing --quiet "$@" >"$log" 2>&1 || { cat "$log" >&2; return 1; }
  t1=$(now)
  "$exe" status "$out" | head -1 | grep -q "(complete)" || { echo "scaling.sh: $out incomplete" >&2; return 1; }
  awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f\n", b - a}'
}
startup() { # np → wall of mpirun of gdsweep --version
  local t0 t1
  t0=$(now)
  mpirun -n "$1" "$exe" --version >/dev/null 2>&1
  t1=$(now)
  awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f\n", b - a}'
}

h5py_ref() { # points → median seconds of h5py writing w2, w2_mean, w2_cov, done (one call each)
  $py - "$1" "$reps" "$work/h5py.h5" <<'PY'
import sys, time, h5py, numpy as np
n, reps, path = int(sys.argv[1]), max(7, int(sys.argv[2])), sys.argv[3]  # cheap: >= 7 for a stable median
shape = (1, 10, 1, 2, 1, 1, 1, 1, n // 20)   # the gdsweep file's grid shape
w2 = np.random.default_rng(0).random(shape + (21,)); wm = 0.5 * w2; wc = 0.25 * w2
done = np.ones(shape, np.uint8)
ts = []
for r in range(reps):
    t0 = time.perf_counter()
    with h5py.File(path, "w") as f:
        f.create_dataset("w2", data=w2); f.create_dataset("w2_mean", data=wm)
        f.create_dataset("w2_cov", data=wc); f.create_dataset("done", data=done)
    ts.append(time.perf_counter() - t0)
print(f"{sorted(ts)[len(ts) // 2]:.4f}")
PY
}

# h5py_all OUT.h5 → "median_s median_with_fsync_s" of h5py writing EVERY dataset gdsweep's output
# holds (/results, /problem, /provenance, ...: the same shapes, dtypes and bytes, read from OUT.h5
# beforehand, not timed), one call each; the second number adds os.fsync before the close, as
# gdsweep makes its `complete = 1` durable. Not the issue's reference: the floor of the same I/O.
h5py_all() {
  $py - "$1" "$reps" "$work/h5py-all.h5" <<'PY'
import os, sys, time, h5py, numpy as np
src, reps, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
arrs = []
with h5py.File(src, "r") as f:
    f.visititems(lambda name, o: arrs.append((name, o[()])) if isinstance(o, h5py.Dataset) else None)
res = {0: [], 1: []}
for r in range(reps):
    for sync in (0, 1):
        t0 = time.perf_counter()
        with h5py.File(path, "w") as g:
            for name, a in arrs:
                g.create_dataset(name, data=a)
            if sync:
                g.flush(); os.fsync(g.id.get_vfd_handle())
        res[sync].append(time.perf_counter() - t0)
med = lambda x: sorted(x)[len(x) // 2]
print(f"{med(res[0]):.4f} {med(res[1]):.4f} {sum(a.nbytes for _, a in arrs) / 1e6:.0f}")
PY
}

fail=0
if [[ " $parts " == *" tiny "* ]]; then
  echo "## tiny sweeps: 8x8, T = 20, samples 0 (1 operator x 10 sigma x 2 algorithms x seeds)"
  echo
  echo "| points | ranks | run s | points/s | vs 1 rank | h5py s | run / h5py | start | create | dispatch (sum) | compute (sum) | write (sum) | done-write | close | CPU (sum) | CPU/rank | mpirun s | startup s |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
  for P in $pointss; do
    tiny_sweep "$P" "$work/tiny$P.yaml"
    wait_idle "h5py P=$P" >/dev/null
    href=$(h5py_ref "$P")
    base=
    for np in $nps; do
      runs=() walls=()
      for r in $(seq "$reps"); do
        wait_idle "tiny P=$P np=$np #$r" >/dev/null
        w=$(run_once "$np" "$work/tiny$P.yaml" "$work/tiny$P-$np.h5" "$work/tiny$P-$np-$r.log") || { echo "run failed" >&2; exit 2; }
        walls+=("$w")
        runs+=("$(timing_field "$work/tiny$P-$np-$r.log" run | cut -d' ' -f1)")
      done
      run=$(printf '%s\n' "${runs[@]}" | median)
      wall=$(printf '%s\n' "${walls[@]}" | median)
      # phases of the median run
      mid=1
      for r in $(seq "$reps"); do [ "$(timing_field "$work/tiny$P-$np-$r.log" run | cut -d' ' -f1)" = "$run" ] && mid=$r; done
      log=$work/tiny$P-$np-$mid.log
      st=$(startup "$np")
      pps=$(awk -v p="$P" -v t="$run" 'BEGIN {printf "%.0f", p / t}')
      [ -n "$base" ] || base=$pps
      rel=$(awk -v a="$pps" -v b="$base" 'BEGIN {printf "%.2f", a / b}')
      ratio=$(awk -v a="$run" -v b="$href" 'BEGIN {printf "%.1f", a / b}')
      cpu=$(timing_field "$log" cpu | cut -d' ' -f2)
      printf '| %s | %s | %.3f | %s | %sx | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %.3f | %s | %s |\n' "$P" "$np" "$run" "$pps" "$rel" \
        "$href" "$ratio" "$(timing_field "$log" start | cut -d' ' -f1)" "$(timing_field "$log" create | cut -d' ' -f1)" "$(timing_field "$log" dispatch | cut -d' ' -f2)" \
        "$(timing_field "$log" compute | cut -d' ' -f2)" "$(timing_field "$log" write | cut -d' ' -f2)" \
        "$(timing_field "$log" done-write | cut -d' ' -f1)" "$(timing_field "$log" close | cut -d' ' -f1)" \
        "$cpu" "$(awk -v a="$cpu" -v n="$np" 'BEGIN {print a / n}')" "$wall" "$st"
      io=$(awk -v a="$(timing_field "$log" create | cut -d' ' -f1)" -v b="$(timing_field "$log" write | cut -d' ' -f2)" \
               -v c="$(timing_field "$log" done-write | cut -d' ' -f1)" -v d="$(timing_field "$log" close | cut -d' ' -f1)" \
               'BEGIN {printf "%.3f", a + b + c + d}')
      echo "$P $np $run $pps $rel $href $ratio $io" >>"$work/tiny.txt"
    done
    read -r hall hsync mb < <(h5py_all "$work/tiny$P-$(echo $nps | cut -d' ' -f1).h5")
    echo "$P $hall $hsync $mb" >>"$work/tiny-all.txt"
  done
  echo
  echo "h5py writing every dataset of gdsweep's output (same bytes, one call each; not the issue's reference):"
  awk '{printf "  %s points: %s MB, %.4f s, with fsync %.4f s\n", $1, $4, $2, $3}' "$work/tiny-all.txt"
  echo
  awk '$1 == 100000 && $2 == 1 {printf "acceptance: 10^5 points on 1 rank: %.3f s, h5py %.4f s: %.1fx (<= 10x %s)\n", $3, $6, $7, ($7 <= 10 ? "PASS" : "FAIL")
    printf "  of which the file (create + writes + done batches + close, with its one fsync): %.3f s = %.1fx h5py; the rest is computing the points\n", $8, $8 / $6}' "$work/tiny.txt"
  awk 'NR == FNR {if ($1 == 100000) {a = $2; b = $3; mb = $4}; next} $1 == 100000 && $2 == 1 && b {printf "  against h5py writing the same %s MB (all datasets): %.2fx, with fsync %.2fx\n", mb, $3 / a, $3 / b}' "$work/tiny-all.txt" "$work/tiny.txt"
  awk '$1 == 100000 {if ($5 < min || min == "") {min = $5; at = $2}} END {if (min != "") printf "acceptance: 10^5 points, slowest points/s relative to 1 rank: %.2fx at %d ranks (no slower per point up to 16 ranks: %s)\n", min, at, (min >= 0.9 ? "PASS" : "FAIL")}' "$work/tiny.txt"
  echo
fi

if [[ " $parts " == *" create "* ]]; then
  echo "## creation of a 10^6-point file (8x8, T = 20: 1 operator x 100 sigma x 2 algorithms x 5000 seeds)"
  {
    echo "name: create-1e6"
    echo "prior: {texture: builtin:fabric, size: [8, 8]}"
    echo "diffusion: {steps: 20, beta_start: 0.01, beta_end: 0.3}"
    echo "grid:"
    echo "  operator: [gaussian_blur: {std: 1.0}]"
    echo "  sigma: [$(seq -s, -f %.3f 0.001 0.001 0.100)]"
    echo "  algorithm: [pigdm, cgdm]"
    echo "  seed: [$(seq -s, 0 4999)]"
    echo "output: {samples: 0}"
  } >"$work/create.yaml"
  "$exe" check "$work/create.yaml" | grep -E "grid|file size"
  rm -f "$work/create.h5"
  log=$work/create.log
  setsid "$exe" run "$work/create.yaml" -o "$work/create.h5" --timing >"$log" 2>&1 &
  pid=$!
  for _ in $(seq 600); do grep -q "work units on" "$log" && break; sleep 0.1; done
  kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" || true
  c=$(timing_field "$log" create | cut -d' ' -f1)
  s=$(timing_field "$log" setup | cut -d' ' -f1)
  echo "setup (parse, plan) ${s:-?} s, create ${c:-?} s; file: $(du -h --apparent-size "$work/create.h5" | cut -f1) apparent, $(du -h "$work/create.h5" | cut -f1) on disk"
  echo "acceptance: creating a 10^6-point file: ${c:-?} s (seconds, not minutes: $(awk -v c="${c:-999}" 'BEGIN {print c < 10 ? "PASS" : "FAIL"}'))"
  rm -f "$work/create.h5"
  echo
fi

if [[ " $parts " == *" real "* ]]; then
  echo "## real work: 1 sigma x $real_seeds seeds, 64x64, T = 1000, 1 sample, gaussian_blur std 2, cgdm"
  {
    echo "name: real-scaling"
    echo "prior: {texture: builtin:fabric, size: [64, 64]}"
    echo "diffusion: {steps: 1000}"
    echo "grid:"
    echo "  operator: [gaussian_blur: {std: 2.0}]"
    echo "  sigma: [0.05]"
    echo "  algorithm: [cgdm]"
    echo "  seed: [$(seq -s, 0 $((real_seeds - 1)))]"
    echo "output: {samples: 1, checkpoints: [1000, 500, 0]}"
  } >"$work/real.yaml"
  echo
  echo "| ranks | run s (median) | min-max s | points/s | speed-up | units | CPU (sum) s |"
  echo "|---|---|---|---|---|---|---|"
  base=
  for np in 1 2; do
    runs=()
    for r in $(seq "$reps"); do
      wait_idle "real np=$np #$r" >/dev/null
      run_once "$np" "$work/real.yaml" "$work/real-$np.h5" "$work/real-$np-$r.log" >/dev/null || exit 2
      runs+=("$(timing_field "$work/real-$np-$r.log" run | cut -d' ' -f1)")
    done
    run=$(printf '%s\n' "${runs[@]}" | median)
    lo=$(printf '%s\n' "${runs[@]}" | sort -g | head -1)
    hi=$(printf '%s\n' "${runs[@]}" | sort -g | tail -1)
    [ -n "$base" ] || base=$run
    units=$(sed -n 's/.*; \([0-9]*\) units.*/\1/p' "$work/real-$np-1.log")
    printf '| %s | %.2f | %.2f-%.2f | %.1f | %.2fx | %s | %s |\n' "$np" "$run" "$lo" "$hi" \
      "$(awk -v p="$real_seeds" -v t="$run" 'BEGIN {print p / t}')" "$(awk -v a="$base" -v b="$run" 'BEGIN {print a / b}')" \
      "$units" "$(timing_field "$work/real-$np-1.log" cpu | cut -d' ' -f2)"
    echo "$np $run" >>"$work/real.txt"
  done
  h5diff -q "$work/real-1.h5" "$work/real-2.h5" /results /results >/dev/null && echo "results of 1 and 2 ranks: bitwise identical" ||
    { echo "results of 1 and 2 ranks DIFFER"; fail=1; }
  awk 'NR == 1 {a = $2} NR == 2 {b = $2} END {printf "acceptance: 2 ranks vs 1: %.2fx (>= 1.8x %s)\n", a / b, (a / b >= 1.8 ? "PASS" : "FAIL")}' "$work/real.txt"
  echo
fi
echo "load:     $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min) after"
[ -z "$keep" ] || echo "sweeps, outputs and logs kept in $work"
exit $fail
