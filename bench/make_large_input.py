#!/usr/bin/python3
"""Writes the large real inputs of docs/reliability.md, with the recipes of
bench/make_inputs.py (Debian's python3-numpy); about 14 MB, not committed:

  large-1280-late-g500     one 1280x1280 image: 33,600 point priors (strides
                           8, 16, 32), C = 80, G = 500 COCO-like boxes,
                           late-training predictions
  large-yolov5-1280-g500   the same image size and G for yolov5, which needs
                           its anchors: 3 an image cell, 100,800 priors

  bench/make_large_input.py [OUT_DIR]     default: /tmp/assignscope-large
(not bench/inputs/, which bench/make_inputs.py keeps to its own grid)
"""
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_inputs  # noqa: E402

SCENARIOS = [
    make_inputs.scenario("large-1280-late-g500", "dense", 1280, 80, 500, "late", 701),
    make_inputs.scenario("large-yolov5-1280-g500", "yolov5", 1280, 80, 500, "geometry", 702),
]


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "/tmp/assignscope-large"
    os.makedirs(out, exist_ok=True)
    for s in SCENARIOS:
        path = os.path.join(out, s["name"])
        if os.path.exists(path):
            shutil.rmtree(path)
        make_inputs.make(out, s)
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
