#!/usr/bin/env bash
# Behaviour snapshot for refactors: every registered assigner over every
# golden case and every bundled dump, `run --format json --include
# priors,candidates`, stdout + stderr + exit code, one file per run.
#   tools/compare_outputs.sh BINARY OUTDIR            # take a snapshot
#   tools/compare_outputs.sh BINARY OUTDIR BASELINE   # ... and diff it against BASELINE
# Exit 1 when the snapshot differs from BASELINE. Timings never appear in
# these outputs; dumps are named from the checkout's root (../shared/golden,
# testdata), so two checkouts side by side give the same bytes.
set -u
bin=$1 out=$2 base=${3:-}
bin=$(realpath "$bin"); mkdir -p "$out"; out=$(realpath "$out"); [ -n "$base" ] && base=$(realpath "$base")
# Relative paths from the checkout, so two checkouts give the same bytes.
cd "$(dirname "$0")/.." || exit 2
golden=../shared/golden
names=$("$bin" list --format json | /usr/bin/python3 -c 'import json,sys; [print(a["name"]) for a in json.load(sys.stdin)]')
cases=$(find "$golden" testdata -name meta.json -not -path '*/expected/*' -printf '%h\n' | sort)
n=0
for c in $cases; do
  key=$(echo "$c" | tr '/.' '__')
  for a in $names; do
    f="$out/${key}__$a"
    "$bin" run "$c" -a "$a" --format json --include priors,candidates >"$f.json" 2>"$f.err"
    echo $? >"$f.rc"
    n=$((n + 1))
  done
done
echo "compare_outputs: $n runs into $out"
if [ -n "$base" ]; then
  if diff -rq "$base" "$out" >/dev/null; then
    echo "compare_outputs: identical to $base ($n runs)"
  else
    diff -rq "$base" "$out" | head -20
    echo "compare_outputs: DIFFERS from $base"
    exit 1
  fi
fi
