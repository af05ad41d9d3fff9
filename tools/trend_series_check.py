#!/usr/bin/python3
"""Replays testdata/trend-series/ step by step and checks its cold start. Standard library only.

    /usr/bin/python3 tools/trend_series_check.py [--binary build/assignscope] [--series testdata/trend-series]

For each step directory (a batch of one-image dumps) and each of the
assigners dynamic-soft-label and simota, runs `assignscope run STEP -a NAME
-f json` and prints one row: GTs, mean dynamic k, share of GTs with k = 1,
positives per GT, mean IoU of the positives (with their GT), starved GTs
(no positive), starved / all GTs whose shorter side is below the finest
stride (--finest-stride, 8),
and positives lost to conflicts. Exits 1 when, for either assigner, the
mean k or the positives per GT fall from one step to the next, or the mean
IoU of the positives does; 2 when the binary fails.
"""
import argparse
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ASSIGNERS = ["dynamic-soft-label", "simota"]


def measure(binary, step_dir, assigner, finest):
    try:
        out = subprocess.run([binary, "run", step_dir, "-a", assigner, "-f", "json"], capture_output=True, text=True)
    except OSError as e:
        sys.stderr.write(f"{binary}: {e}\n")
        sys.exit(2)
    if out.returncode != 0:
        sys.stderr.write(f"{binary} run {step_dir} -a {assigner}: exit {out.returncode}\n{out.stderr}")
        sys.exit(2)
    result = json.loads(out.stdout)
    gts = [g for image in result["images"] for g in image["gts"]]
    ks = [g["dynamic_k"] for g in gts]
    positives = sum(g["positives"] for g in gts)
    iou_sum = sum(g["iou"]["mean"] * g["positives"] for g in gts if g["iou"] is not None)
    tiny = [g for g in gts if min(g["box"][2] - g["box"][0], g["box"][3] - g["box"][1]) < finest]
    return {
        "gts": len(gts),
        "mean_k": sum(ks) / len(ks),
        "k1": sum(k == 1 for k in ks) / len(ks),
        "pos_per_gt": positives / len(gts),
        "mean_iou": iou_sum / positives if positives else 0.0,
        "starved": sum(g["starved"] for g in gts),
        "tiny_starved": f"{sum(g['starved'] for g in tiny)}/{len(tiny)}",
        "lost": sum(g["lost"] for g in gts),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", default=os.path.join(ROOT, "build", "assignscope"))
    parser.add_argument("--series", default=os.path.join(ROOT, "testdata", "trend-series"))
    parser.add_argument("--finest-stride", type=float, default=8.0,
                        help="GTs with a shorter side below it count as stride-relative small (8 in the series)")
    args = parser.parse_args()
    steps = sorted(d for d in os.listdir(args.series) if d.startswith("step-"))
    failed = []
    for assigner in ASSIGNERS:
        print(f"{assigner}:")
        print(f"  {'step':>6} {'gts':>4} {'mean k':>7} {'k=1':>5} {'pos/GT':>7} {'IoU pos':>8} "
              f"{'starved':>7} {'small starved':>13} {'lost':>5}")
        previous = None
        for name in steps:
            m = measure(args.binary, os.path.join(args.series, name), assigner, args.finest_stride)
            step = int(name.split("-")[1])
            print(f"  {step:>6} {m['gts']:>4} {m['mean_k']:>7.2f} {m['k1']:>5.0%} {m['pos_per_gt']:>7.2f} "
                  f"{m['mean_iou']:>8.3f} {m['starved']:>7} {m['tiny_starved']:>13} {m['lost']:>5}")
            if previous is not None:
                for key, label in [("mean_k", "mean k"), ("pos_per_gt", "positives per GT"),
                                   ("mean_iou", "mean IoU of positives")]:
                    if m[key] < previous[key]:
                        failed.append(f"{assigner}: {label} falls at step {step}: "
                                      f"{previous[key]:.3f} -> {m[key]:.3f}")
            previous = m
    for line in failed:
        print("FAIL", line)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
