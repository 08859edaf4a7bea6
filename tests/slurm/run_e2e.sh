#!/usr/bin/env bash
# Runs one slurm e2e program against a fresh test cluster:
#   run_e2e.sh PROGRAM [ARGS...]
# The program gets SLURM_CONF (the cluster), DSX_SLURM_E2E_DIR (a folder for job folders, with a
# space in its name on purpose: sbatch directives must quote it) and the slurm clients in PATH.
# Exit 77 (skip) when the cluster cannot be started here (not root, packages missing).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
state=$(mktemp -d /tmp/dsx-slurm-e2e.XXXXXX)
cleanup() {
  "$here/stop_slurm.sh" "$state/cluster"
  rm -rf "$state"
}
trap cleanup EXIT
"$here/start_slurm.sh" "$state/cluster" || exit $?
export SLURM_CONF=$state/cluster/slurm.conf
export DSX_SLURM_E2E_DIR="$state/jobs dir"
mkdir -p "$DSX_SLURM_E2E_DIR"
# In the background and waited for, so that a SIGTERM/SIGINT (ctest's timeout, Ctrl-C) is handled
# at once: the program is stopped and the EXIT trap stops the daemons, which would otherwise
# outlive us (they daemonize into their own sessions).
"$@" &
child=$!
trap 'kill -TERM "$child" 2>/dev/null; exit 143' TERM INT HUP
wait "$child"
rc=$?
if [ $rc -ne 0 ]; then
  echo "--- slurmctld.log (last 30 lines)" >&2
  tail -30 "$state/cluster/log/slurmctld.log" >&2 || true
  echo "--- slurmd.log (last 30 lines)" >&2
  tail -30 "$state/cluster/log/slurmd.log" >&2 || true
fi
exit $rc
