# Sourced by run.sh and scaling.sh. The development machines are shared: a timing taken while
# another job runs measures the other job too. wait_idle waits (at most $WAIT_IDLE seconds,
# default 0 = do not wait) until the whole machine has been >= ${IDLE_PCT:-90}% idle over one
# second, and says how long it waited, so a reader knows the conditions of each measurement.

# Percentage of CPU time idle over the next second, all cores (from /proc/stat).
idle_pct() {
  local a b
  read -r -a a < <(grep '^cpu ' /proc/stat)
  sleep 1
  read -r -a b < <(grep '^cpu ' /proc/stat)
  local tot=0 i
  for i in 1 2 3 4 5 6 7 8; do tot=$((tot + b[i] - a[i])); done
  local idle=$((b[4] - a[4] + b[5] - a[5])) # idle + iowait
  echo $((tot > 0 ? 100 * idle / tot : 100))
}

wait_idle() { # [label]
  local max=${WAIT_IDLE:-0} want=${IDLE_PCT:-90} waited=0 p
  [ "$max" -gt 0 ] || return 0
  while p=$(idle_pct); [ "$p" -lt "$want" ] && [ "$waited" -lt "$max" ]; do waited=$((waited + 1)); done
  if [ "$p" -ge "$want" ]; then
    echo "idle:     ${p}% idle after waiting ${waited} s${1:+ ($1)}"
  else
    echo "idle:     machine still busy (${p}% idle) after ${waited} s${1:+ ($1)}: timings include other jobs"
  fi
}
