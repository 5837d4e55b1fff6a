# shellcheck shell=bash
# Single-node Slurm 22.05 test cluster, started by hand (no systemd), for tests/it_slurm.sh.
# Source this file, then:
#   slurm_cluster_start DIR   # DIR: an empty temporary directory (made traversable for munge)
#   ...                       # sbatch/squeue/scontrol work: SLURM_CONF is exported
#   slurm_cluster_stop DIR    # stops slurmd, slurmctld and munged by the PIDs in their pid files
# Knobs (environment): GDS_SLURM_KILL_WAIT (KillWait seconds, default 30),
# GDS_SLURM_CRED_EXPIRE (AuthInfo cred_expire: also the delay before a requeued job restarts,
# default 120),
# GDS_SLURM_SCHED_PARAMS (SchedulerParameters), GDS_SLURM_CTLD_DEBUG (SlurmctldDebug, default
# info; debug2 logs "Testing job time limits" at every 30 s time-limit pass),
# GDS_SLURM_VERBOSE=1 (dump daemon logs on stop).
# Nothing outside DIR is written, except a munge key under DIR if /etc/munge/munge.key is missing.

slurm_cluster_here_="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

slurm_log_() { echo "it_slurm: $*" >&2; }

# A free TCP port in [lo, hi): not listened on (IPv4 or IPv6) according to /proc/net/tcp*.
slurm_free_port_() {
  local lo=$1 hi=$2 p hex used
  used="$(awk 'NR > 1 { split($2, a, ":"); print a[2] }' /proc/net/tcp /proc/net/tcp6 2>/dev/null | sort -u)"
  for _ in $(seq 1 200); do
    p=$((lo + RANDOM % (hi - lo)))
    hex="$(printf '%04X' "$p")"
    grep -qx "$hex" <<<"$used" || { echo "$p"; return 0; }
  done
  return 1
}

slurm_pid_alive_() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null; }

# Stop the daemon whose pid file is $1 (TERM, then KILL after $2 seconds), never by name.
slurm_stop_pidfile_() {
  local pidfile=$1 grace=${2:-10} pid
  [ -s "$pidfile" ] || return 0
  pid="$(tr -dc '0-9' <"$pidfile")"
  slurm_pid_alive_ "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null
  for _ in $(seq 1 $((grace * 10))); do
    slurm_pid_alive_ "$pid" || return 0
    sleep 0.1
  done
  slurm_log_ "pid $pid ($pidfile) did not stop on TERM: KILL"
  kill -KILL "$pid" 2>/dev/null
  return 0
}

slurm_cluster_start() {
  local dir=$1 host key
  host="$(hostname -s)"
  chmod 755 "$dir" # munged (user munge) must reach its socket and key below DIR
  mkdir -p "$dir/state" "$dir/spool" "$dir/munge"
  chown munge:munge "$dir/munge"
  chmod 755 "$dir/munge" # munged: the socket directory must be executable by all

  # munge key: the machine's, or a fresh one of our own.
  key=/etc/munge/munge.key
  if [ ! -r "$key" ]; then
    key="$dir/munge/munge.key"
    command -v mungekey >/dev/null && mungekey --create --keyfile="$key" >/dev/null 2>&1
    [ -s "$key" ] || dd if=/dev/urandom of="$key" bs=1 count=1024 status=none
    chown munge:munge "$key"
    chmod 400 "$key"
    slurm_log_ "no /etc/munge/munge.key: using a fresh key $key"
  fi
  runuser -u munge -- munged --socket="$dir/munge/munge.socket" --pid-file="$dir/munge/munged.pid" \
    --key-file="$key" --log-file="$dir/munge/munged.log" --seed-file="$dir/munge/munged.seed" ||
    { slurm_log_ "munged failed to start"; cat "$dir/munge/munged.log" >&2 2>/dev/null; return 1; }
  for _ in $(seq 1 50); do [ -S "$dir/munge/munge.socket" ] && break; sleep 0.1; done

  local ctld_port slurmd_port
  if ! ctld_port="$(slurm_free_port_ 20000 25000)" || ! slurmd_port="$(slurm_free_port_ 25000 30000)"; then
    slurm_log_ "no free TCP port"
    return 1
  fi
  sed -e "s|@HOST@|$host|g" -e "s|@DIR@|$dir|g" -e "s|@MUNGE_SOCKET@|$dir/munge/munge.socket|g" \
    -e "s|@CTLD_PORT@|$ctld_port|g" -e "s|@SLURMD_PORT@|$slurmd_port|g" \
    -e "s|@KILL_WAIT@|${GDS_SLURM_KILL_WAIT:-30}|g" -e "s|@CRED_EXPIRE@|${GDS_SLURM_CRED_EXPIRE:-120}|g" \
    -e "s|@CTLD_DEBUG@|${GDS_SLURM_CTLD_DEBUG:-info}|g" -e "s|@SCHED_PARAMS@|${GDS_SLURM_SCHED_PARAMS:-sched_interval=5}|g" \
    "$slurm_cluster_here_/slurm.conf.in" >"$dir/slurm.conf"
  export SLURM_CONF="$dir/slurm.conf"

  slurmctld -c -f "$SLURM_CONF" || { slurm_log_ "slurmctld failed to start"; return 1; }
  slurmd -f "$SLURM_CONF" || { slurm_log_ "slurmd failed to start"; return 1; }

  # Wait until the node is idle (typically ~1 s).
  local state=""
  for _ in $(seq 1 300); do
    state="$(sinfo -h -N -n "$host" -o '%T' 2>/dev/null | head -n1)"
    [ "$state" = idle ] && { slurm_log_ "node $host idle (ports $ctld_port/$slurmd_port)"; return 0; }
    sleep 0.1
  done
  slurm_log_ "node $host did not become idle (state '$state')"
  return 1
}

slurm_cluster_stop() {
  local dir=$1
  [ -n "$dir" ] && [ -d "$dir" ] || return 0
  if [ -n "${SLURM_CONF:-}" ] && [ -f "$dir/slurmctld.pid" ]; then
    local ids
    ids="$(squeue -h -o %i 2>/dev/null)"
    # shellcheck disable=SC2086
    if [ -n "$ids" ]; then
      scancel --quiet $ids >/dev/null 2>&1 || true
      # Let slurmstepd end the job processes before slurmd goes (KillWait + a little).
      for _ in $(seq 1 $(( (${GDS_SLURM_KILL_WAIT:-30} + 5) * 5 ))); do
        [ -z "$(squeue -h -o %i 2>/dev/null)" ] && break
        sleep 0.2
      done
    fi
  fi
  slurm_stop_pidfile_ "$dir/slurmd.pid" 15
  slurm_stop_pidfile_ "$dir/slurmctld.pid" 15
  slurm_stop_pidfile_ "$dir/munge/munged.pid" 10
  if [ "${GDS_SLURM_VERBOSE:-0}" = 1 ]; then
    for f in "$dir/slurmctld.log" "$dir/slurmd.log"; do
      [ -f "$f" ] && { echo "---- $f" >&2; tail -n 60 "$f" >&2; }
    done
  fi
  return 0
}
