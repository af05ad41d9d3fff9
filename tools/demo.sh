#!/usr/bin/env bash
# The main job on bundled data: install what is missing, build (Release), and
# replay RTMDet's dynamic soft label assigner on a bundled 640x640 dump.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build --target assignscope -j "$(nproc)" >/dev/null
exec build/assignscope run testdata/coco640-late-g12-objectness --assigner dynamic-soft-label --format table
