#!/usr/bin/env bash
# Fuzzes the readers a user's file reaches first, and whole dumps through every
# assigner (replay: sparse against dense search, one thread against two):
# builds the libFuzzer targets
# of tests/fuzz/ (Debian's clang, AddressSanitizer + UndefinedBehaviorSanitizer,
# in build-fuzz/) and runs them side by side for a bounded time on a copy of
# the committed corpus (tests/fuzz/corpus/, which the run never changes). Fails on any crash,
# leak, timeout, out-of-memory, oversized allocation or sanitizer report; the
# input that caused it is kept in build-fuzz/artifacts/.
#
#   tools/fuzz.sh                 every target, FUZZ_SECONDS (default 50) of wall time
#   tools/fuzz.sh npy json_dump   some of them (npy, npz, json_dump, replay)
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
[ ${#targets[@]} -eq 0 ] && targets=(npy npz json_dump replay)

# FUZZ_BUILD_DIR: a build directory configured with clang, -DASSIGNSCOPE_FUZZ=ON
# and -DASSIGNSCOPE_SANITIZE=ON (tools/test.sh's sanitizer build: the targets
# link its library, one compile of src/ for both); else build-fuzz/, configured here.
build=${FUZZ_BUILD_DIR:-build-fuzz}
if [ -z "${FUZZ_BUILD_DIR:-}" ]; then
  echo "== build-fuzz: configure and build (clang, -fsanitize=fuzzer,address,undefined)"
  # -O1: libFuzzer's recommendation; compiles all of src/ in 3.5 min here instead of 5.
  CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g -DNDEBUG" -DASSIGNSCOPE_FUZZ=ON \
    -DASSIGNSCOPE_TESTS=OFF >/dev/null
fi
cmake --build "$build" -j "$(nproc)" --target "${targets[@]/#/fuzz_}" 2>&1 | grep -E "warning|error" || true
cmake --build "$build" -j "$(nproc)" --target "${targets[@]/#/fuzz_}" >/dev/null

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$build/artifacts"
kind_of() {
  case $1 in
    npy) echo npy ;;
    npz) echo npz ;;
    json_dump) echo json ;;
    replay) echo replay ;;
    *) echo "tools/fuzz.sh: unknown target '$1'; expected npy, npz, json_dump or replay" >&2; exit 2 ;;
  esac
}

# The targets run at once (they share the cores: FUZZ_SECONDS is wall time),
# each on its own copy of its corpus.
pids=()
for target in "${targets[@]}"; do
  kind=$(kind_of "$target")
  cp -r "tests/fuzz/corpus/$kind" "$work/$kind"
  dict=()
  [ -f "tests/fuzz/$kind.dict" ] && dict=(-dict="tests/fuzz/$kind.dict")
  # -max_len: every seed fits; -malloc_limit_mb: no single allocation above
  # twice the targets' 256 MiB budget; -timeout: seconds for one input.
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "$build/tests/fuzz/fuzz_$target" "$work/$kind" "${dict[@]}" \
    -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=2048 -malloc_limit_mb=512 -timeout=10 \
    -print_final_stats=1 -artifact_prefix="$build/artifacts/$target-" >"$build/fuzz_$target.log" 2>&1 &
  pids+=($!)
done

failed=0
total_execs=0
for i in "${!targets[@]}"; do
  target=${targets[$i]}
  kind=$(kind_of "$target")
  rc=0
  wait "${pids[$i]}" || rc=$?
  log="$build/fuzz_$target.log"
  seeds=$(ls "tests/fuzz/corpus/$kind" | wc -l)
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
echo "fuzz: ${#targets[@]} targets clean for ${seconds} s each, $total_execs executions in total"
