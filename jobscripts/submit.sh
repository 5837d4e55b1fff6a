#!/usr/bin/env bash
# submit.sh: check a sweep, then submit it to Slurm with jobscripts/gdsweep.sbatch (docs/cluster.md).
#
#   jobscripts/submit.sh SWEEP.yaml OUT.h5 [options] [-- more sbatch options]
#
#   -n, --ntasks N         MPI ranks (default: the script's #SBATCH --ntasks, 4)
#   -t, --time T           time limit per job, sbatch syntax (default 01:00:00)
#   -p, --partition P      partition
#   -J, --job-name NAME    job name (default gdsweep)
#   -w, --warn S           USR1 to the batch shell S seconds before the time limit
#                          (default 120; Slurm may send it up to ~30-60 s earlier)
#   -g, --group-size G     gdsweep run --group-size G (dense backend: G consecutive ranks share
#                          a point); must divide --ntasks
#       --chain K          also submit K follow-up jobs, each --dependency=afterany:<previous>,
#                          each resuming the sweep; the jobs then never requeue themselves
#       --dry-run          print the sbatch commands instead of running them
#   -h, --help
#
# Before anything is submitted: `gdsweep check SWEEP.yaml` must pass, and an existing OUT.h5 must
# be a gdsweep file of the same sweep (fingerprint, when h5dump is there); a complete OUT.h5 is
# not submitted again. Prints the job ids, one per line, on stdout (the rest goes to stderr).
# gdsweep is $GDSWEEP, else `gdsweep` on PATH, else build/gdsweep next to this directory.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
die() { echo "submit.sh: error: $*" >&2; exit 1; }
say() { echo "submit.sh: $*" >&2; }
usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; }

sweep="" out="" ntasks="" time_limit="" partition="" name="" warn="" group="" chain=0 dry=0
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    -n|--ntasks) ntasks="${2:?$1 needs a value}"; shift 2 ;;
    --ntasks=*) ntasks="${1#*=}"; shift ;;
    -t|--time) time_limit="${2:?$1 needs a value}"; shift 2 ;;
    --time=*) time_limit="${1#*=}"; shift ;;
    -p|--partition) partition="${2:?$1 needs a value}"; shift 2 ;;
    --partition=*) partition="${1#*=}"; shift ;;
    -J|--job-name) name="${2:?$1 needs a value}"; shift 2 ;;
    --job-name=*) name="${1#*=}"; shift ;;
    -w|--warn) warn="${2:?$1 needs a value}"; shift 2 ;;
    --warn=*) warn="${1#*=}"; shift ;;
    -g|--group-size) group="${2:?$1 needs a value}"; shift 2 ;;
    --group-size=*) group="${1#*=}"; shift ;;
    --chain) chain="${2:?$1 needs a value}"; shift 2 ;;
    --chain=*) chain="${1#*=}"; shift ;;
    --dry-run) dry=1; shift ;;
    -h|--help) usage; exit 0 ;;
    --) shift; extra=("$@"); break ;;
    -*) die "unknown option $1 (sbatch options go after --)" ;;
    *)
      if [ -z "$sweep" ]; then sweep="$1"
      elif [ -z "$out" ]; then out="$1"
      else die "unexpected argument $1"; fi
      shift ;;
  esac
done
if [ -z "$sweep" ] || [ -z "$out" ]; then usage >&2; exit 1; fi
[[ "$chain" =~ ^[0-9]+$ ]] || die "--chain needs a number (got '$chain')"
[ -z "$ntasks" ] || [[ "$ntasks" =~ ^[1-9][0-9]*$ ]] || die "--ntasks needs a positive number (got '$ntasks')"
[ -z "$warn" ] || [[ "$warn" =~ ^[0-9]+$ ]] || die "--warn needs seconds (got '$warn')"
[ -z "$group" ] || [[ "$group" =~ ^[1-9][0-9]*$ ]] || die "--group-size needs a positive number (got '$group')"
if [ -n "$group" ]; then
  n="${ntasks:-$(sed -n 's/^#SBATCH --ntasks=\([0-9]*\).*/\1/p' "$here/gdsweep.sbatch")}"
  [ $((n % group)) = 0 ] || die "--group-size $group does not divide the $n tasks (--ntasks)"
fi

# gdsweep: as given, on PATH, or the build next to this checkout. Absolute, for the job.
gdsweep="${GDSWEEP:-$(command -v gdsweep || true)}"
[ -n "$gdsweep" ] || gdsweep="$here/../build/gdsweep"
[ -x "$gdsweep" ] || die "gdsweep not found (set GDSWEEP=/path/to/gdsweep or put it on PATH)"
gdsweep="$(cd "$(dirname "$gdsweep")" && pwd)/$(basename "$gdsweep")"
[ -f "$sweep" ] || die "no such sweep file: $sweep"
sweep="$(cd "$(dirname "$sweep")" && pwd)/$(basename "$sweep")"
[ -d "$(dirname "$out")" ] || die "output directory $(dirname "$out") does not exist"
out="$(cd "$(dirname "$out")" && pwd)/$(basename "$out")"

# Fail fast, before queueing anything.
check="$("$gdsweep" check "$sweep" 2>&1)" || { echo "$check" >&2; die "gdsweep check failed on $sweep: not submitting"; }
echo "$check" >&2
if [ -e "$out" ]; then
  # status exits 0 when complete, 3 when points are missing (resumable), else unreadable.
  rc=0; status="$("$gdsweep" status "$out" 2>&1)" || rc=$?
  [ "$rc" -eq 0 ] || [ "$rc" -eq 3 ] || { echo "$status" >&2; die "$out exists but is not a readable gdsweep file (move it away or delete it)"; }
  say "$(head -n1 <<<"$status")"
  if command -v h5dump >/dev/null; then
    want="$(sed -n 's/^ *fingerprint //p' <<<"$check")"
    have="$(h5dump -a /fingerprint "$out" 2>/dev/null | grep -o '"[0-9a-f]\{64\}"' | tr -d '"' || true)"
    [ -z "$have" ] || [ -z "$want" ] || [ "$have" = "$want" ] ||
      die "$out holds a different sweep (fingerprint $have, $sweep has $want): it cannot be resumed"
  fi
  if head -n1 <<<"$status" | grep -q '(complete)'; then
    say "$out is already complete: nothing to submit"
    exit 0
  fi
  say "the job will resume $out"
fi
command -v sbatch >/dev/null || [ "$dry" = 1 ] || die "sbatch not found (is this a Slurm login node?)"

# sbatch time syntax -> seconds: M, M:S, H:M:S, D-H, D-H:M, D-H:M:S (empty if not understood).
to_seconds() {
  local t=$1 d=0 a b c
  if [[ "$t" == *-* ]]; then d="${t%%-*}"; t="${t#*-}"; IFS=: read -r a b c <<<"$t"
    echo $(( ((d * 24 + 10#${a:-0}) * 60 + 10#${b:-0}) * 60 + 10#${c:-0} )); return; fi
  IFS=: read -r a b c <<<"$t"
  if [ -n "$c" ]; then echo $(( (10#$a * 60 + 10#$b) * 60 + 10#$c ))
  elif [ -n "$b" ]; then echo $(( 10#$a * 60 + 10#$b ))
  else echo $(( 10#$a * 60 )); fi
}
# The warning must leave the job some time to work: Slurm sends it at its first time-limit pass
# (every 30 s) with less than warn + 30 s left.
if [ -n "$time_limit" ] && [[ "$time_limit" =~ ^[0-9:-]+$ ]]; then
  limit_s="$(to_seconds "$time_limit")"
  warn_s="${warn:-$(sed -n 's/^#SBATCH --signal=B:USR1@\([0-9]*\).*/\1/p' "$here/gdsweep.sbatch")}"
  if [ -n "$limit_s" ] && [ -n "$warn_s" ] && [ "$limit_s" -le $((warn_s + 30)) ]; then
    die "--time $time_limit leaves no time before the USR1 warning ${warn_s} s (+ up to 30 s) before the end: use a longer --time or a shorter --warn"
  fi
fi

opts=()
[ -n "$ntasks" ] && opts+=(--ntasks="$ntasks")
[ -n "$time_limit" ] && opts+=(--time="$time_limit")
[ -n "$partition" ] && opts+=(--partition="$partition")
[ -n "$name" ] && opts+=(--job-name="$name")
[ -n "$warn" ] && opts+=(--signal="B:USR1@$warn")
opts+=("${extra[@]}")
on_interrupt=requeue
[ "$chain" -gt 0 ] && on_interrupt=none
# The job gets these (and the rest of this environment: --export=ALL).
export GDSWEEP="$gdsweep" GDS_ON_INTERRUPT="$on_interrupt" GDS_SBATCH_ARGS="${opts[*]}"
[ -z "$group" ] || export GDS_RUN_ARGS="${GDS_RUN_ARGS:+$GDS_RUN_ARGS }--group-size $group"

submit() { # submit.sh's job number $1, then sbatch options; prints the job id
  local k=$1 id
  shift
  if [ "$dry" = 1 ]; then
    echo "GDSWEEP=$GDSWEEP GDS_ON_INTERRUPT=$GDS_ON_INTERRUPT${GDS_RUN_ARGS:+ GDS_RUN_ARGS=\"$GDS_RUN_ARGS\"} sbatch --parsable --export=ALL $* $here/gdsweep.sbatch $sweep $out" >&2
    echo "dry-run-$k"
    return 0
  fi
  id="$(sbatch --parsable --export=ALL "$@" "$here/gdsweep.sbatch" "$sweep" "$out")" || die "sbatch failed"
  echo "${id%%;*}"
}
first="$(submit 0 "${opts[@]}")"
say "submitted job $first: $sweep -> $out"
echo "$first"
prev="$first"
for ((k = 1; k <= chain; k++)); do
  next="$(submit "$k" "${opts[@]}" --dependency="afterany:$prev")"
  say "submitted follow-up job $next (afterany:$prev, resumes)"
  echo "$next"
  prev="$next"
done
