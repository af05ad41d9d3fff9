#!/usr/bin/env bash
# Regenerates the pictures of README.md and docs/cli.md listed in
# docs/img/pictures.txt from the bundled testdata: SVG pictures drawn by
# assignscope (tests/svg_test.cpp requires them current), and screenshots of
# `assignscope report` taken in headless Chromium (tools/report_screenshots.mjs;
# needs Debian's chromium and `npm ci --prefix tests/browser`, as tools/test.sh
# installs them). Usage: tools/make_pictures.sh [ASSIGNSCOPE_BIN]   (default build/assignscope)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-build/assignscope}
[ -x "$bin" ] || { echo "error: $bin: no such binary; build first (tools/demo.sh)" >&2; exit 2; }
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

while read -r file command; do
  case "$file" in ''|'#'*) continue ;; esac
  view=""
  if [[ "$command" == *"# view: "* ]]; then view=${command##*# view: }; view=${view// /,}; fi
  command=${command%%#*}
  read -r -a args <<< "$command"
  case "$file" in
    *.svg) "$bin" "${args[@]}" -o "docs/img/$file" --force >/dev/null
           echo "docs/img/$file: $(stat -c %s "docs/img/$file") bytes" ;;
    *.png) "$bin" "${args[@]}" -o "$scratch/report.html" --force >/dev/null
           node tools/report_screenshots.mjs "$scratch/report.html" "docs/img/$file" "$view" ;;
    *) echo "error: docs/img/pictures.txt: $file: expected a .svg or .png name" >&2; exit 2 ;;
  esac
done < docs/img/pictures.txt
