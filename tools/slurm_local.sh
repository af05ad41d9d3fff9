#!/usr/bin/env bash
# A real one-node Slurm on this machine, from Debian's packages (slurm-wlm, munge), for
# testing assignscope's sharded runs (tools/slurm_shard_test.sh):
#   tools/slurm_local.sh start DIR   # munged (unless one already runs), slurmctld, slurmd; waits for the node idle
#   tools/slurm_local.sh stop DIR    # stops what `start DIR` started, nothing else
#   tools/slurm_local.sh env DIR     # prints `export SLURM_CONF=DIR/slurm.conf` (eval it to use sbatch, sinfo...)
# Everything lives in DIR (a scratch directory): slurm.conf, the munge key and socket, pid files,
# logs, Slurm's state and spool. No systemd needed (the daemons run in the foreground, detached,
# as root). It never touches /etc/munge or /etc/slurm: if a system munged already answers on its
# default socket it is used, otherwise a munged of our own runs with a key created in DIR.
# One node (this machine, its CPUs and memory from `slurmd -C`), one partition, cons_tres with
# CR_Core (one core a task: as many array tasks at once as cores), proctrack/linuxproc,
# task/none (no cgroups), no accounting. Ports: the first free pair from 6817 (SLURM_LOCAL_PORT
# to choose). Needs root (the daemons run as root; SlurmUser=root).
# `start` is idempotent (a running instance in DIR is reused); `stop` kills only processes whose
# pid file is in DIR and whose command line names DIR.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
IDLE_TIMEOUT=${SLURM_LOCAL_TIMEOUT:-60}   # seconds for the node to come up idle

usage() { echo "usage: $0 start|stop|env DIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
cmd=$1
mkdir -p "$2"
dir=$(cd "$2" && pwd)
conf=$dir/slurm.conf
export SLURM_CONF=$conf

die() {
  echo "slurm_local: error: $*" >&2
  for log in "$dir"/log/*.log; do
    [ -s "$log" ] || continue
    echo "--- tail of $log" >&2
    tail -n 15 "$log" >&2
  done
  exit 1
}

# alive NAME: the pid in DIR/NAME.pid is running and its command line names DIR (ours).
alive() {
  local pidfile=$dir/$1.pid pid
  [ -s "$pidfile" ] || return 1
  pid=$(cat "$pidfile")
  [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$dir/"
}

# launch NAME CMD...: runs CMD detached (own session, stdin closed, output to DIR/log/NAME.out),
# its pid in DIR/NAME.pid.
launch() {
  local name=$1; shift
  setsid "$@" </dev/null >"$dir/log/$name.out" 2>&1 &
  echo $! >"$dir/$name.pid"
}

# stop_one NAME: TERM, up to 10 s, then KILL; only if alive (ours).
stop_one() {
  local name=$1 pid
  if alive "$name"; then
    pid=$(cat "$dir/$name.pid")
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.2
    done
    if kill -0 "$pid" 2>/dev/null; then
      echo "slurm_local: $name ($pid) ignored TERM, killing" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$dir/$name.pid"
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

system_munge_socket=/run/munge/munge.socket.2

start_munge() {
  # A munged already serving the default socket (a real cluster's node, or a system service): use it.
  if [ -S "$system_munge_socket" ] && munge -n -S "$system_munge_socket" 2>/dev/null |
       unmunge -S "$system_munge_socket" >/dev/null 2>&1; then
    echo "$system_munge_socket" >"$dir/munge/socket"
    return
  fi
  local socket=$dir/munge/munge.socket
  echo "$socket" >"$dir/munge/socket"
  alive munged && return
  if [ ! -s "$dir/munge/munge.key" ]; then
    mungekey --create --keyfile="$dir/munge/munge.key" 2>/dev/null ||
      dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
    chmod 0400 "$dir/munge/munge.key"
  fi
  # --force: /tmp (the usual parent of DIR) is world-writable, which munged's path checks reject.
  launch munged munged --foreground --force --key-file="$dir/munge/munge.key" --socket="$socket" \
    --pid-file="$dir/munge/munged.pid" --log-file="$dir/log/munged.log" --seed-file="$dir/munge/munged.seed"
  for _ in $(seq 50); do
    munge -n -S "$socket" 2>/dev/null | unmunge -S "$socket" >/dev/null 2>&1 && return
    alive munged || die "munged exited ($dir/log/munged.out: $(tail -n 3 "$dir/log/munged.out" 2>/dev/null))"
    sleep 0.2
  done
  die "munged did not answer on $socket within 10 s"
}

write_conf() {
  local node node_line ctld_port slurmd_port socket
  node=$(hostname -s)
  # slurmd -C: "NodeName=vm CPUs=2 Boards=1 SocketsPerBoard=1 CoresPerSocket=2 ThreadsPerCore=1 RealMemory=24105"
  node_line=$(slurmd -C | head -n 1)
  [[ $node_line == NodeName=* ]] || die "slurmd -C printed no NodeName line: $node_line"
  node_line=${node_line/NodeName=* CPUs=/NodeName=$node NodeAddr=127.0.0.1 CPUs=}
  ctld_port=${SLURM_LOCAL_PORT:-6817}
  while ! port_free "$ctld_port" || ! port_free $((ctld_port + 1)); do
    [ -z "${SLURM_LOCAL_PORT:-}" ] || die "port $ctld_port or $((ctld_port + 1)) is in use (SLURM_LOCAL_PORT)"
    ctld_port=$((ctld_port + 2))
    [ "$ctld_port" -lt 6900 ] || die "no free port pair in 6817..6899"
  done
  slurmd_port=$((ctld_port + 1))
  socket=$(cat "$dir/munge/socket")
  cat >"$conf" <<EOF
# Written by tools/slurm_local.sh: a one-node Slurm in $dir.
ClusterName=assignscope-local
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$socket
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool/slurmd.%n
SlurmctldPidFile=$dir/log/slurmctld.daemon.pid
SlurmdPidFile=$dir/log/slurmd.daemon.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
PlugStackConfig=$dir/plugstack.conf
MpiDefault=none
SwitchType=switch/none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MaxArraySize=1001
KillWait=5
MailProg=/bin/true
MinJobAge=5
$node_line State=UNKNOWN
PartitionName=local Nodes=$node Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
EOF
  : >"$dir/plugstack.conf"   # no SPANK plugins (not /etc/slurm/plugstack.conf)
}

node_state() { sinfo -h -N -o '%t' 2>/dev/null | head -n 1; }

start() {
  [ "$(id -u)" -eq 0 ] || { echo "slurm_local: error: needs root (the daemons run as root)" >&2; exit 2; }
  "$here/deps.sh" slurm-wlm munge
  mkdir -p "$dir/log" "$dir/state" "$dir/spool" "$dir/munge"
  chmod 0700 "$dir/munge"
  start_munge
  if ! alive slurmctld || ! alive slurmd; then
    # A half-started instance (one daemon died): restart both with a fresh conf.
    stop_one slurmd
    stop_one slurmctld
    write_conf
    mkdir -p "$dir/spool/slurmd.$(hostname -s)"
    launch slurmctld slurmctld -D -i -f "$conf"   # -i: ignore state left by an earlier run in DIR
    launch slurmd slurmd -D -f "$conf" -N "$(hostname -s)"
  fi
  local state
  for _ in $(seq $((IDLE_TIMEOUT * 2))); do
    state=$(node_state)
    case $state in
      idle) echo "slurm_local: $(hostname -s) idle ($(sinfo -V), $SECONDS s), SLURM_CONF=$conf"; return ;;
      down* | drain* | fail*) scontrol update nodename="$(hostname -s)" state=resume >/dev/null 2>&1 || true ;;
    esac
    alive slurmctld || die "slurmctld exited"
    alive slurmd || die "slurmd exited"
    sleep 0.5
  done
  die "the node is not idle after ${IDLE_TIMEOUT} s (sinfo: ${state:-no answer})"
}

stop() {
  [ -e "$conf" ] || [ -e "$dir/munged.pid" ] || { echo "slurm_local: nothing started in $dir"; return; }
  # Jobs first (ours: this cluster's controller), so no slurmstepd outlives its slurmd.
  local jobs=()
  alive slurmctld && mapfile -t jobs < <(squeue -h -o %i 2>/dev/null)
  if [ ${#jobs[@]} -gt 0 ]; then
    scancel --full "${jobs[@]}" 2>/dev/null || true
    for _ in $(seq 30); do
      squeue -h -o %i 2>/dev/null | grep -q . || break
      sleep 0.5
    done
  fi
  stop_one slurmd &   # both at once: each takes a second or two to shut down
  stop_one slurmctld &
  wait
  stop_one munged
  echo "slurm_local: stopped ($dir)"
}

case $cmd in
  start) start ;;
  stop) stop ;;
  env) echo "export SLURM_CONF=$conf" ;;
  *) usage ;;
esac
