#!/usr/bin/env bash
# Fuzzes the readers a user's file reaches first: builds the libFuzzer targets
# of tests/fuzz/ (Debian's clang, AddressSanitizer + UndefinedBehaviorSanitizer,
# in build-fuzz/) and runs each for a bounded time on a copy of the committed
# corpus (tests/fuzz/corpus/, which the run never changes). Fails on any crash,
# leak, timeout, out-of-memory, oversized allocation or sanitizer report; the
# input that caused it is kept in build-fuzz/artifacts/.
#
#   tools/fuzz.sh                 every target, FUZZ_SECONDS (default 50) each
#   tools/fuzz.sh npy json_dump   some of them (npy, npz, json_dump)
#   FUZZ_SECONDS=600 tools/fuzz.sh
#
# A crash: minimise it (build-fuzz/tests/fuzz/fuzz_<target> -minimize_crash=1
# -runs=100000 <input>), commit it as tests/fuzz/corpus/<kind>/regress-<what>
# with a doctest that feeds it through the reader, and fix the reader.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/deps.sh clang libclang-rt-14-dev   # clang 14 and its libFuzzer / sanitizer runtimes
seconds=${FUZZ_SECONDS:-50}
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(npy npz json_dump)

echo "== build-fuzz: configure and build (clang, -fsanitize=fuzzer,address,undefined)"
CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DASSIGNSCOPE_FUZZ=ON \
  -DASSIGNSCOPE_TESTS=OFF >/dev/null
cmake --build build-fuzz -j "$(nproc)" --target "${targets[@]/#/fuzz_}" 2>&1 | grep -E "warning|error" || true
cmake --build build-fuzz -j "$(nproc)" --target "${targets[@]/#/fuzz_}" >/dev/null

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p build-fuzz/artifacts
failed=0
total_execs=0
for target in "${targets[@]}"; do
  case $target in
    npy) kind=npy ;;
    npz) kind=npz ;;
    json_dump) kind=json ;;
    *) echo "tools/fuzz.sh: unknown target '$target'; expected npy, npz or json_dump" >&2; exit 2 ;;
  esac
  cp -r "tests/fuzz/corpus/$kind" "$work/$kind"
  seeds=$(ls "$work/$kind" | wc -l)
  log="build-fuzz/fuzz_$target.log"
  # -max_len: every seed fits; -malloc_limit_mb: no single allocation above
  # twice the targets' 256 MiB budget; -timeout: seconds for one input.
  rc=0
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "build-fuzz/tests/fuzz/fuzz_$target" "$work/$kind" -dict="tests/fuzz/$kind.dict" \
    -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=2048 -malloc_limit_mb=512 -timeout=10 \
    -print_final_stats=1 -artifact_prefix="build-fuzz/artifacts/$target-" >"$log" 2>&1 || rc=$?
  execs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' || echo 0)
  rate=$(grep -oE 'stat::average_exec_per_sec: *[0-9]+' "$log" | grep -oE '[0-9]+$' || echo 0)
  cov=$(grep -oE '#[0-9]+[[:space:]]+DONE[[:space:]]+cov: [0-9]+ ft: [0-9]+ corp: [0-9]+' "$log" | tail -1 |
        sed -E 's/.*cov: ([0-9]+) ft: ([0-9]+) corp: ([0-9]+)/cov \1, ft \2, corpus \3/' || true)
  total_execs=$((total_execs + ${execs:-0}))
  if [ "$rc" -ne 0 ] || grep -qE "ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|fuzz invariant broken" "$log"; then
    failed=$((failed + 1))
    echo "fuzz_$target: FAILED (exit $rc) after $execs executions; log: $log"
    grep -E "ERROR|runtime error|invariant|SUMMARY|Test unit written" "$log" | head -20
  else
    echo "fuzz_$target: ${seconds} s, $execs executions ($rate/s), $seeds seeds -> ${cov:-?}, clean"
  fi
done
if [ "$failed" -ne 0 ]; then
  echo "fuzz: $failed of ${#targets[@]} targets failed"
  exit 1
fi
echo "fuzz: ${#targets[@]} targets clean, $total_execs executions in total"
