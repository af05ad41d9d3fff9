#!/usr/bin/env bash
# clang-tidy (the checks of .clang-tidy, clang-tidy 14) with every finding an
# error.
#
#   tools/tidy.sh              the C++ files the last commit added or changed
#                              (.ci/run; a changed header brings the .cpp of
#                              its name); TIDY_BASE=<rev> to compare with
#                              another commit
#   tools/tidy.sh --all        every file of src/, cmd/, tests/ and bench/
#                              (slow: 10 to 20 s a file on one core)
#   tools/tidy.sh FILE...      those files
#
# clang cannot read gcc's precompiled headers, so the compile database comes
# from a configure-only build directory without them (build-tidy/). The last
# line says how many files were checked.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/deps.sh clang-tidy

files=()
if [ "${1:-}" = "--all" ]; then
  mapfile -t files < <(git ls-files 'src/*.cpp' 'cmd/*.cpp' 'tests/*.cpp' 'bench/*.cpp' | grep -v '^tests/fuzz/')
elif [ $# -gt 0 ]; then
  files=("$@")
else
  base=${TIDY_BASE:-HEAD~1}
  if ! git rev-parse -q --verify "$base^{commit}" >/dev/null; then
    echo "tidy: no commit $base to compare with (a shallow clone?): pass --all or files" >&2
    exit 2
  fi
  declare -A seen=()
  while IFS= read -r f; do
    case $f in
      tests/fuzz/*) continue ;;  # libFuzzer entry points: built by tools/fuzz.sh only
      *.h) f=${f%.h}.cpp ;;
      *.cpp) ;;
      *) continue ;;
    esac
    [ -f "$f" ] && [ -z "${seen[$f]:-}" ] && seen[$f]=1 && files+=("$f")
  done < <(git diff --name-only --diff-filter=AM "$base" HEAD -- src cmd tests bench)
fi

if [ ${#files[@]} -eq 0 ]; then
  echo "tidy: the commit changes no C++ file of src/, cmd/, tests/ or bench/: 0 files checked"
  exit 0
fi
cmake -S . -B build-tidy -DASSIGNSCOPE_PCH=OFF -DCMAKE_EXPORT_COMPILE_COMMANDS=ON >/dev/null
cmake --build build-tidy --target assignscope_revision_header >/dev/null
# One clang-tidy per core; a file with findings prints them and a marker.
out=$(printf '%s\0' "${files[@]}" | xargs -0 -P "$(nproc)" -n 1 sh -c \
  'clang-tidy -p build-tidy --quiet --warnings-as-errors="*" "$1" 2>/dev/null || echo "tidy: findings in $1"' _)
[ -n "$out" ] && printf '%s\n' "$out"
failed=$(printf '%s\n' "$out" | grep -c '^tidy: findings in ' || true)
if [ "$failed" -ne 0 ]; then
  echo "tidy: $failed of ${#files[@]} files have findings"
  exit 1
fi
echo "tidy: ${#files[@]} files checked, clean"
