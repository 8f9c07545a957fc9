#!/usr/bin/env bash
# A real one-node Slurm cluster on this machine, for tests: no systemd, no cgroups, no accounting.
#
#   scripts/local-slurm.sh start    install Debian's slurm + munge if absent, start munged, slurmctld,
#                                   slurmd; wait until the node is idle; print `export SLURM_CONF=...`
#   scripts/local-slurm.sh stop     stop the daemons by pid (the state directory is kept)
#   scripts/local-slurm.sh env      print `export SLURM_CONF=...`
#
# State lives in $TORCHX_SLURM_DIR (default /tmp/torchx-slurm). Needs root (apt, munge user).
set -euo pipefail

STATE=${TORCHX_SLURM_DIR:-/tmp/torchx-slurm}
CONF=$STATE/etc/slurm.conf
HOST=$(hostname -s)

log() { echo "local-slurm: $*" >&2; }

install_packages() {
  if command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v sbatch >/dev/null \
     && command -v munged >/dev/null; then
    return
  fi
  log "installing slurmctld slurmd slurm-client munge (Debian packages)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends slurmctld slurmd slurm-client munge >/dev/null
}

write_config() {
  mkdir -p "$STATE/etc" "$STATE/ctld" "$STATE/spool"
  local cpus mem
  cpus=$(nproc)
  mem=$(( $(awk '/MemTotal/ {print int($2 / 1024)}' /proc/meminfo) - 1024 ))
  cat > "$CONF" <<EOF
ClusterName=torchx
SlurmctldHost=$HOST
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=cred_expire=10
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/spool
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/slurmctld.log
SlurmdLogFile=$STATE/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
SchedulerParameters=batch_sched_delay=0
KillWait=5
MinJobAge=3600
MailProg=/bin/true
ReturnToService=2
NodeName=$HOST CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$HOST Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:4
EOF
}

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

start_munge() {
  mkdir -p /run/munge /var/log/munge /var/lib/munge
  chown munge:munge /run/munge /var/log/munge /var/lib/munge
  if [ ! -s /etc/munge/munge.key ]; then
    dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key status=none
    chown munge:munge /etc/munge/munge.key && chmod 400 /etc/munge/munge.key
  fi
  if ! alive /run/munge/munged.pid; then
    setpriv --reuid=munge --regid=munge --init-groups munged
  fi
}

start() {
  install_packages
  write_config
  start_munge
  alive "$STATE/slurmctld.pid" || slurmctld -f "$CONF"
  alive "$STATE/slurmd.pid" || slurmd -f "$CONF"
  for _ in $(seq 1 100); do
    state=$(SLURM_CONF=$CONF sinfo -h -n "$HOST" -o %T 2>/dev/null || true)
    if [ "$state" = "idle" ] || [ "$state" = "mixed" ] || [ "$state" = "allocated" ]; then
      log "node $HOST is $state"
      echo "export SLURM_CONF=$CONF"
      return 0
    fi
    sleep 0.2
  done
  log "node did not become idle (state: ${state:-none}); see $STATE/slurmctld.log and $STATE/slurmd.log"
  return 1
}

stop() {
  for pidfile in "$STATE/slurmd.pid" "$STATE/slurmctld.pid"; do
    if alive "$pidfile"; then
      kill "$(cat "$pidfile")"
      for _ in $(seq 1 50); do alive "$pidfile" || break; sleep 0.1; done
    fi
  done
  log "stopped slurmd and slurmctld (munged left running)"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  env) echo "export SLURM_CONF=$CONF" ;;
  *) echo "usage: $0 start|stop|env" >&2; exit 2 ;;
esac
