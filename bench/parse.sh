#!/usr/bin/env bash
# Sweep-file parsing at scale (issue 12): `gdsweep check` of a sweep with a 10^6-value axis
# against PyYAML's C loader (libyaml + Python objects) parsing the same file, in one invocation.
#   bench/parse.sh [BUILD_DIR] [-n VALUES] [-r REPS]
# Two files: a sigma axis of N reals (%.17g-like reprs) and a seed axis of N integers. For each,
# REPS runs (default 3) of: `gdsweep check` (parse + prior/operators + cost estimate + printing),
# gds_bench_parse (gds_sweep_load + fingerprint only), and
# /usr/bin/python3 -c 'yaml.load(open(f), Loader=yaml.CLoader)'. Prints medians of wall and CPU
# (user + sys) seconds and the ratio check / PyYAML (target <= 1). WAIT_IDLE=S: see idle.sh.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build}
[ $# -gt 0 ] && shift
n=1000000
reps=3
while [ $# -gt 0 ]; do
  case $1 in
    -n) n=$2; shift 2 ;;
    -r) reps=$2; shift 2 ;;
    *) echo "usage: $0 [BUILD_DIR] [-n VALUES] [-r REPS]" >&2; exit 1 ;;
  esac
done
gdsweep=$build/gdsweep
parse=$build/bench/gds_bench_parse
for exe in "$gdsweep" "$parse"; do [ -x "$exe" ] || { echo "missing $exe (build first)" >&2; exit 1; }; done
# shellcheck source=bench/idle.sh
source "$here/idle.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

/usr/bin/python3 - "$tmp" "$n" <<'PY'
import sys
tmp, n = sys.argv[1], int(sys.argv[2])
head = "name: bench\nprior: {texture: builtin:fabric, size: [8, 8]}\ndiffusion: {steps: 100}\ngrid:\n  operator: [identity: {}]\n"
with open(f"{tmp}/sigma.yaml", "w") as f:
    f.write(head + "  sigma: [" + ", ".join(repr(1e-3 + i * 1e-9) for i in range(n)) + "]\n")
    f.write("  algorithm: [pigdm]\noutput: {samples: 0}\n")
with open(f"{tmp}/seed.yaml", "w") as f:
    f.write(head + "  sigma: [0.1]\n  seed: [" + ", ".join(str(i * 7919 % 2**40) for i in range(n)) + "]\n")
    f.write("  algorithm: [pigdm]\noutput: {samples: 0}\n")
PY

# timed LABEL CMD...: REPS runs; prints "label wall_median cpu_median"
timed() {
  local label=$1 i
  shift
  local walls=() cpus=()
  for i in $(seq "$reps"); do
    /usr/bin/time -f '%e %U %S' -o "$tmp/t" "$@" >/dev/null 2>"$tmp/err" || { cat "$tmp/err" >&2; exit 1; }
    read -r w u s <"$tmp/t"
    walls+=("$w")
    cpus+=("$(awk -v u="$u" -v s="$s" 'BEGIN {printf "%.2f", u + s}')")
  done
  local wm cm
  wm=$(printf '%s\n' "${walls[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  cm=$(printf '%s\n' "${cpus[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  echo "$label $wm $cm"
}

echo "machine:  $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(nproc) cores"
echo "date:     $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "revision: $(git -C "$here/.." rev-parse --short=12 HEAD 2>/dev/null || echo unknown)"
echo "load:     $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-8s %-10s %-22s %10s %10s\n' axis bytes program wall_med_s cpu_med_s
for axis in sigma seed; do
  f=$tmp/$axis.yaml
  wait_idle "$axis"
  c=$(timed check "$gdsweep" check "$f")
  p=$(timed parse "$parse" "$f")
  y=$(timed pyyaml /usr/bin/python3 -c 'import sys, yaml; yaml.load(open(sys.argv[1]), Loader=yaml.CLoader)' "$f")
  bytes=$(stat -c %s "$f")
  for line in "$c" "$p" "$y"; do
    read -r l w cpu <<<"$line"
    name=$l
    case $l in check) name="gdsweep check" ;; parse) name="gds_bench_parse" ;; pyyaml) name="PyYAML CLoader" ;; esac
    printf '%-8s %-10s %-22s %10s %10s\n' "$axis" "$bytes" "$name" "$w" "$cpu"
  done
  read -r _ cw ccpu <<<"$c"
  read -r _ yw ycpu <<<"$y"
  awk -v a="$axis" -v cw="$cw" -v yw="$yw" -v cc="$ccpu" -v yc="$ycpu" \
    'BEGIN {printf "RATIO %s check/pyyaml wall %.3f cpu %.3f (target <= 1)\n", a, cw / yw, cc / yc}'
done
