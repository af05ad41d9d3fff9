#!/usr/bin/env bash
# Installs, with apt-get, the Debian packages assignscope builds with, when missing;
# arguments name further packages (tools/test.sh: librsvg2-bin for the SVG rendering test,
# python3-numpy for the Python dump-helper test).
set -euo pipefail

packages=(g++ make cmake libcli11-dev nlohmann-json3-dev libeigen3-dev libfmt-dev doctest-dev zlib1g-dev "$@")
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing: ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "error: need root (or sudo) to install: ${missing[*]}" >&2; exit 2; }
  sudo=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
