#!/usr/bin/env bash
# Stops the test cluster that start_slurm.sh started in STATE_DIR: cancels its jobs, then ends
# slurmd, slurmctld and munged by the pids in their pid files (SIGTERM, SIGKILL after 10 s).
# Safe to call twice or when start_slurm.sh failed half way (trap EXIT); touches nothing else.
set -uo pipefail
state=${1:?usage: stop_slurm.sh STATE_DIR}
[ -d "$state" ] || exit 0
PATH=$PATH:/usr/sbin

# Jobs first, while slurmd is alive to kill their steps (proctrack/linuxproc knows their pids).
if [ -f "$state/slurm.conf" ] && [ -f "$state/slurmctld.pid" ]; then
  export SLURM_CONF=$state/slurm.conf
  if timeout 10 scancel --full --user="$(id -un)" >/dev/null 2>&1; then
    for _ in $(seq 1 40); do
      [ -z "$(timeout 5 squeue -h -t PD,R,CG,S -o %i 2>/dev/null)" ] && break
      sleep 0.25
    done
  fi
fi

stop_pid_file() {
  local file=$1 pid
  [ -f "$file" ] || return 0
  pid=$(cat "$file" 2>/dev/null)
  [[ "$pid" =~ ^[0-9]+$ ]] || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 40); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.25
  done
  kill -KILL "$pid" 2>/dev/null || true
}
stop_pid_file "$state/slurmd.pid"
stop_pid_file "$state/slurmctld.pid"
stop_pid_file "$state/munge/munged.pid"
exit 0
