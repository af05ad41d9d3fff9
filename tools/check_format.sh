#!/usr/bin/env bash
# Formatting check: clang-format (.clang-format, clang-format 14 as Debian 12
# ships it) over the C++ of src/ cmd/ tests/ bench/, changing nothing.
# Exit 0 when every file is formatted; else exit 1 listing the files that are
# not (`clang-format -i FILE` fixes one).
#   tools/check_format.sh            every file
#   tools/check_format.sh FILE...    just these
set -euo pipefail
cd "$(dirname "$0")/.."
format=${CLANG_FORMAT:-$(command -v clang-format-14 || command -v clang-format || true)}
if [ -z "$format" ]; then
  echo "check_format: clang-format not found (apt-get install clang-format)" >&2
  exit 2
fi
if [ $# -gt 0 ]; then
  files=("$@")
else
  mapfile -t files < <(find src cmd tests bench \( -name '*.cpp' -o -name '*.h' \) -type f | sort)
fi
unformatted=()
for f in "${files[@]}"; do
  "$format" --style=file --dry-run -Werror "$f" >/dev/null 2>&1 || unformatted+=("$f")
done
if [ ${#unformatted[@]} -gt 0 ]; then
  echo "check_format: ${#unformatted[@]} of ${#files[@]} files are not formatted ($format; clang-format -i FILE):" >&2
  printf '  %s\n' "${unformatted[@]}" >&2
  exit 1
fi
echo "check_format: ${#files[@]} files formatted"
