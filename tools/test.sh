#!/usr/bin/env bash
# The whole test suite: install what is missing, build with warnings as
# errors (Release) and run every test, build the Debian package and run it
# from a scratch root (tools/package_test.sh), run a sharded trend as a job
# array on a local one-node Slurm (tools/slurm_shard_test.sh), then build and run the tests
# again under AddressSanitizer + UndefinedBehaviorSanitizer (clang), then fuzz the readers and the
# replay for FUZZ_SECONDS (50) a target (tools/fuzz.sh) and the command line
# for FUZZ_CLI_RUNS (1500) runs (tools/fuzz_cli.py). The last line says how many ran.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/deps.sh librsvg2-bin python3-numpy dpkg-dev file chromium  # rsvg-convert renders the SVG pictures (tests/svg_test.cpp); numpy runs tests/python; dpkg-shlibdeps and file let cpack compute the .deb's Depends; chromium shows the HTML report (tests/browser)
# node and npm drive it: Debian's, unless the machine has a node with its npm already (NodeSource's nodejs
# carries npm and conflicts with Debian's npm package, so asking apt for npm there would fail).
{ command -v node && command -v npm; } >/dev/null || tools/deps.sh nodejs npm
[ -d tests/browser/node_modules/playwright-core ] || npm ci --prefix tests/browser --no-audit --no-fund  # playwright-core, pinned by tests/browser/package-lock.json
jobs=$(nproc)
SECONDS=0
stamp() { echo "== [$((SECONDS / 60))m$((SECONDS % 60))s] $*"; }  # the phases' start times show where the time goes

run_suite() {  # build-dir, cmake args...
  local dir=$1; shift
  stamp "$dir: configure and build"
  cmake -S . -B "$dir" "$@" >/dev/null
  # -DASSIGNSCOPE_WERROR=ON: a warning fails the build; the grep shows it.
  cmake --build "$dir" -j "$jobs" 2>&1 | grep -E "warning|error" || true
  cmake --build "$dir" -j "$jobs" >/dev/null   # fails the script if the build failed
  stamp "$dir: tests"
  (cd "$dir" && ctest --output-on-failure -j "$jobs" | tee ctest.log | grep -E "tests passed|tests failed|Failed|\*\*\*")
}

run_suite build -DCMAKE_BUILD_TYPE=Release -DASSIGNSCOPE_WERROR=ON
stamp "build: the Debian package (tools/package_test.sh)"
packaged=$(tools/package_test.sh build | tee -a /dev/stderr | tail -1)
# An epoch across machines, for real: a one-node Slurm from Debian's slurm-wlm and munge on this
# machine, a job array of 4 `trend --shard I/4` tasks over the bundled series, `merge`d and
# compared byte for byte with one process (docs/sharding.md). ASSIGNSCOPE_SLURM=0 skips it.
slurm="slurm: skipped (ASSIGNSCOPE_SLURM=0)"
if [ "${ASSIGNSCOPE_SLURM:-1}" = 1 ]; then
  stamp "slurm: a sharded trend as a job array on a local one-node Slurm (tools/slurm_shard_test.sh)"
  slurm=$(tools/slurm_shard_test.sh build/assignscope build/slurm-shard 4 testdata/trend-series | tee -a /dev/stderr | tail -1)
fi
# The sanitizer suite is built with clang, its library instrumented for
# libFuzzer too: the fuzz targets below link it (one compile of src/ for both).
tools/deps.sh clang libclang-rt-14-dev
CC=clang CXX=clang++ ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  run_suite build-sanitize -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g -DNDEBUG" \
  -DASSIGNSCOPE_SANITIZE=ON -DASSIGNSCOPE_FUZZ=ON -DASSIGNSCOPE_WERROR=ON   # -O1: what the sanitizers recommend

stamp "fuzz: the .npy, .npz and JSON dump readers, and whole dumps through every assigner"
fuzzed=$(FUZZ_BUILD_DIR=build-sanitize tools/fuzz.sh | tee -a /dev/stderr | tail -1)   # -a: stderr may be the log file
stamp "fuzz: the command line end to end (tools/fuzz_cli.py)"
cli_fuzzed=$(/usr/bin/python3 tools/fuzz_cli.py build/assignscope "${FUZZ_CLI_RUNS:-1500}" "${FUZZ_CLI_SEED:-$(date +%j)}" |
             tee -a /dev/stderr | tail -1)

golden=$(build/tests/assignscope_tests --test-case='golden: every case in ../shared/golden*' | grep -m1 '^golden: ' || true)
release=$(grep -oE 'out of [0-9]+' build/ctest.log | grep -oE '[0-9]+')
sanitized=$(grep -oE 'out of [0-9]+' build-sanitize/ctest.log | grep -oE '[0-9]+')
stamp "done"
echo "${golden:-golden: ../shared/golden absent, full replay not run}"
echo "$packaged"
echo "$slurm"
echo "$fuzzed"
echo "$cli_fuzzed"
echo "assignscope tests: ${release} passed (Release), ${sanitized} passed (ASan+UBSan)"
