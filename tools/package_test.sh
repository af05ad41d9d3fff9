#!/usr/bin/env bash
# The package end to end, from an existing build directory (default build/,
# tools/test.sh's Release build): cpack -G DEB builds the .deb, it is unpacked
# into a scratch root (dpkg-deb -x: no root needed, nothing installed on the
# machine), and the installed files work there: the binary prints its
# version, replays a test case, and the Python helper imports. Seconds.
#   tools/package_test.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
build=$(realpath "${1:-build}")
[ -x "$build/assignscope" ] || { echo "package_test: no $build/assignscope; build first" >&2; exit 2; }
root=$(mktemp -d "${TMPDIR:-/tmp}/assignscope-package.XXXXXX")
trap 'rm -rf "$root"' EXIT

(cd "$build" && cpack -G DEB -B "$root/cpack" >"$root/cpack.log" 2>&1) || { cat "$root/cpack.log" >&2; exit 1; }
deb=$(ls "$root"/cpack/assignscope_*.deb)
dpkg-deb --info "$deb" | grep -E '^ (Package|Version|Depends):' | sed 's/^ /package_test: /'
dpkg-deb -x "$deb" "$root/root"

bin="$root/root/usr/bin/assignscope"
version=$("$bin" --version)
[[ $version =~ ^assignscope\ [0-9]+\.[0-9]+\.[0-9]+\ \((git\ .+|unknown\ revision)\)$ ]] ||
  { echo "package_test: unexpected --version output: $version" >&2; exit 1; }
"$bin" run testdata/golden/toy-empty-gt -a simota --format json >"$root/out.json"
/usr/bin/python3 -c 'import json, sys; r = json.load(open(sys.argv[1])); assert r["tool"]["name"] == "assignscope", r' \
  "$root/out.json"
PYTHONPATH="$root/root/usr/lib/python3/dist-packages" /usr/bin/python3 -c 'import assignscope_dump, assignscope_hooks'
[ -f "$root/root/usr/share/doc/assignscope/README.md" ] && [ -f "$root/root/usr/share/doc/assignscope/LICENSE" ] &&
  [ -f "$root/root/usr/share/doc/assignscope/docs/architecture.md" ] ||
  { echo "package_test: documentation missing from the package" >&2; exit 1; }
echo "package: $(basename "$deb") installs and runs ($version)"
