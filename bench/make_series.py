#!/usr/bin/python3
"""A long training series for `assignscope trend` (docs/performance.md, "Many dumps").

    /usr/bin/python3 bench/make_series.py INPUTS OUTDIR [--dumps 5000] [--per-step 16]

INPUTS is bench/make_inputs.py's output directory holding batch16-640-late-g20
(16 one-image 640 x 640 dumps, C = 80, 20 GTs). OUTDIR receives
step-NNNNNN/imgKK/ one-image dumps, --per-step of them a step, --dumps in all:
each a directory whose .npy files are hard links to one of the 16 images'
(so 5,000 dumps take the disk of 16) and whose meta.json is that image's
with "step" and "image_id" added. Reading them is then reading from the page
cache: the throughput measured is assignscope's, against `cat` of the same
files. OUTDIR must be absent or made by this script (it holds .make_series).
"""
import argparse
import json
import os
import shutil
import sys


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("inputs", help="bench/make_inputs.py's output directory")
    ap.add_argument("out", help="the series' directory")
    ap.add_argument("--dumps", type=int, default=5000, help="dumps in all (default 5000)")
    ap.add_argument("--per-step", type=int, default=16, help="dumps per training step (default 16)")
    args = ap.parse_args()
    source = os.path.join(args.inputs, "batch16-640-late-g20")
    images = sorted(d for d in os.listdir(source) if os.path.isdir(os.path.join(source, d))) \
        if os.path.isdir(source) else []
    if not images:
        sys.exit(f"error: {source}: no one-image dumps; run bench/make_inputs.py {args.inputs} "
                 f"--only batch16-640-late-g20 first")
    if args.dumps < 1 or args.per_step < 1:
        sys.exit("error: --dumps and --per-step are positive counts")
    if os.path.exists(args.out):
        if not os.path.exists(os.path.join(args.out, ".make_series")):
            sys.exit(f"error: {args.out} exists and was not made by this script; not touching it")
        shutil.rmtree(args.out)
    os.makedirs(args.out)
    open(os.path.join(args.out, ".make_series"), "w").close()
    for i in range(args.dumps):
        step, k = divmod(i, args.per_step)
        image = images[k % len(images)]
        src = os.path.join(source, image)
        dst = os.path.join(args.out, f"step-{step * 100:06d}", image)
        os.makedirs(dst)
        for name in os.listdir(src):
            if name.endswith(".npy"):
                os.link(os.path.join(src, name), os.path.join(dst, name))
        with open(os.path.join(src, "meta.json")) as f:
            meta = json.load(f)
        meta.update(step=step * 100, image_id=f"bench-{image}")
        with open(os.path.join(dst, "meta.json"), "w") as f:
            json.dump(meta, f)
    print(f"{args.out}: {args.dumps} dumps at {(args.dumps + args.per_step - 1) // args.per_step} steps "
          f"(hard links to the {len(images)} images of {source})")


if __name__ == "__main__":
    main()
