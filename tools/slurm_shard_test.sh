#!/usr/bin/env bash
# An epoch across machines, on a real (one-node) Slurm: starts Slurm on this machine
# (tools/slurm_local.sh), submits a job array of N tasks (sbatch --array=0-(N-1) --wait) where
# task I computes shard I of N over DUMPS, merges the N parts, runs the same over all DUMPS in one
# process, and checks the merge is byte-identical to the single-process result.
#   tools/slurm_shard_test.sh BINARY OUTDIR N DUMPS...
# BINARY: the assignscope to run (e.g. build/assignscope); OUTDIR: the job script, the parts, the
# tasks' output and exit codes, merged and single results (created; its previous parts removed).
# Environment: ASSIGNER (dynamic-soft-label), TREND_FLAGS (--loss rtmdet: more flags of trend),
# SLURM_SHARD_TIMEOUT (300 s for the array).
# The last line: "slurm: N array tasks on NODE (slurm VERSION), merged bytes identical to a
# single-process run (M dumps, S s)"; exit 1 on a mismatch, a failed or missing task, or a timeout,
# 2 on bad usage. Slurm is stopped on exit; its logs are kept (and printed) when something failed.
set -euo pipefail

# ======================================================================================
# The commands under test. shard_task runs inside the Slurm job (copied into the job script with
# `declare -f`), so it may use only its arguments, BINARY, ASSIGNER and TREND_FLAGS.
# Task I writes its partial (`trend --shard I/N -f partial`), `merge` joins the N partials, and
# the single-process `trend` over the same arguments must write the same JSON byte for byte.
# ======================================================================================
part_ext=json
shard_task() {  # I N OUT DUMPS...
  local i=$1 n=$2 out=$3; shift 3
  # shellcheck disable=SC2086  # TREND_FLAGS: several words
  "$BINARY" trend "$@" -a "$ASSIGNER" $TREND_FLAGS --shard "$i/$n" -f partial -o "$out"
}
merge_parts() {  # OUT PARTS...
  local out=$1; shift
  "$BINARY" merge "$@" -f json -o "$out"
}
single_run() {  # OUT DUMPS...
  local out=$1; shift
  # shellcheck disable=SC2086
  "$BINARY" trend "$@" -a "$ASSIGNER" $TREND_FLAGS -f json -o "$out"
}
# ======================================================================================

here=$(cd "$(dirname "$0")" && pwd)
[ $# -ge 4 ] || { echo "usage: $0 BINARY OUTDIR N DUMPS..." >&2; exit 2; }
[ -x "$1" ] || { echo "error: $1 is not an executable" >&2; exit 2; }
BINARY=$(realpath "$1")
ASSIGNER=${ASSIGNER:-dynamic-soft-label}
TREND_FLAGS=${TREND_FLAGS---loss rtmdet}
mkdir -p "$2"
out=$(realpath "$2")
n=$3
[[ $n =~ ^[1-9][0-9]*$ ]] || { echo "error: N is a positive count, not $n" >&2; exit 2; }
shift 3
dumps=()
for d in "$@"; do
  [ -e "$d" ] || { echo "error: no dump $d" >&2; exit 2; }
  dumps+=("$(realpath "$d")")
done
timeout_s=${SLURM_SHARD_TIMEOUT:-300}
export BINARY ASSIGNER TREND_FLAGS
SECONDS=0

slurm_dir=$(mktemp -d /tmp/slurm-local.XXXXXX)   # short: munge's socket path must fit in 108 bytes
ok=0
finish() {
  "$here/slurm_local.sh" stop "$slurm_dir" >/dev/null || true
  if [ "$ok" = 1 ]; then
    rm -rf "$slurm_dir"
  else
    echo "slurm: FAILED; Slurm's logs are in $slurm_dir/log" >&2
  fi
}
trap finish EXIT
trap 'exit 130' INT TERM   # so that finish stops Slurm on ^C or a CI timeout too

fail() {
  echo "slurm: error: $*" >&2
  local f
  for f in "$out"/task-*.out; do
    [ -s "$f" ] || continue
    echo "--- $f" >&2
    tail -n 10 "$f" >&2
  done
  exit 1
}

"$here/slurm_local.sh" start "$slurm_dir"
export SLURM_CONF=$slurm_dir/slurm.conf
node=$(sinfo -h -N -o %N | head -n 1)
version=$(sinfo -V | awk '{print $NF}')

rm -f "$out"/part-*."$part_ext" "$out"/task-*.out "$out"/task-*.rc "$out"/merged."$part_ext" "$out"/single."$part_ext"
job_script=$out/shard_job.sh
{
  echo '#!/usr/bin/env bash'
  echo "# Written by tools/slurm_shard_test.sh: array task I computes shard I of $n over ${#dumps[@]} dumps."
  echo "#SBATCH --job-name=assignscope-shard"
  echo "#SBATCH --array=0-$((n - 1))"
  echo "#SBATCH --chdir=$out"
  echo "#SBATCH --output=$out/task-%a.out"
  echo "#SBATCH --ntasks=1 --cpus-per-task=1"
  echo "#SBATCH --time=$(((timeout_s + 59) / 60))"
  echo 'set -euo pipefail'
  printf 'export BINARY=%q ASSIGNER=%q TREND_FLAGS=%q\n' "$BINARY" "$ASSIGNER" "$TREND_FLAGS"
  printf 'dumps=('; printf ' %q' "${dumps[@]}"; printf ' )\n'
  declare -f shard_task
  echo 'i=$SLURM_ARRAY_TASK_ID'
  echo 'echo "task $i of $SLURM_ARRAY_TASK_COUNT on $(hostname) (job $SLURM_ARRAY_JOB_ID)"'
  echo '# errexit holds inside shard_task only outside an "|| ..." context: a subshell with set -e.'
  echo 'set +e'
  echo "(set -e; shard_task \"\$i\" \"\$SLURM_ARRAY_TASK_COUNT\" \"part-\$i.$part_ext\" \"\${dumps[@]}\")"
  echo 'rc=$?'
  echo 'set -e'
  echo 'echo "$rc" >"task-$i.rc"   # no accounting (sacct) here: each task leaves its exit code'
  echo 'exit "$rc"'
} >"$job_script"
chmod +x "$job_script"

# --wait: sbatch returns when every task has ended, non-zero if one failed.
submit_rc=0
timeout "$timeout_s" sbatch --wait --quiet "$job_script" || submit_rc=$?
[ "$submit_rc" -ne 124 ] || fail "the array did not finish within $timeout_s s (SLURM_SHARD_TIMEOUT)"

parts=()
for ((i = 0; i < n; i++)); do
  [ -s "$out/task-$i.rc" ] || fail "task $i left no exit code (it did not run or was killed; see $out/task-$i.out)"
  rc=$(cat "$out/task-$i.rc")
  [ "$rc" = 0 ] || fail "task $i exited with $rc (see $out/task-$i.out)"
  [ -e "$out/part-$i.$part_ext" ] || fail "task $i wrote no part-$i.$part_ext"
  parts+=("$out/part-$i.$part_ext")
done
[ "$submit_rc" -eq 0 ] || fail "sbatch --wait exited with $submit_rc although every task wrote 0"

# checked VAR CMD...: runs CMD with errexit in force inside it and sets VAR to its status. (Bash
# ignores set -e within a function called as `f || ...`, so a command failing in the middle of
# one would go unnoticed: hence a subshell, called outside any such context.)
checked() {
  local var=$1; shift
  set +e
  (set -e; "$@")
  printf -v "$var" %d $?
  set -e
}
merge_rc=0 single_rc=0
checked merge_rc merge_parts "$out/merged.$part_ext" "${parts[@]}"
[ "$merge_rc" -eq 0 ] || fail "the merge failed ($merge_rc)"
checked single_rc single_run "$out/single.$part_ext" "${dumps[@]}"
[ "$single_rc" -eq 0 ] || fail "the single-process run failed ($single_rc)"
cmp "$out/merged.$part_ext" "$out/single.$part_ext" ||
  fail "the merge of $n shards differs from the single-process run ($out/merged.$part_ext, $out/single.$part_ext)"
ok=1
replayed=$(grep -m1 -oE '"dumps": [0-9]+' "$out/single.$part_ext" | grep -oE '[0-9]+')
echo "slurm: $n array tasks on $node (slurm $version), merged bytes identical to a single-process run ($replayed dumps, $SECONDS s)"
