#!/usr/bin/python3
"""`assignscope trend` over many dumps: throughput against `cat` of the same files, and peak memory.

    /usr/bin/python3 bench/trend_throughput.py [--assignscope BIN] [--inputs DIR] [--dumps 500,5000]
                                               [--threads 2] [--assigner dynamic-soft-label]

Makes bench/make_inputs.py's batch16-640-late-g20 when missing, then for each
count a series of that many 640 x 640 dumps (bench/make_series.py: hard links,
16 images a step), and in the same run: `cat` of every file of the series
(best of 3, page cache warm), `trend -f json` without and with `--loss rtmdet`
(best of 3 wall, and the peak resident memory GNU time reports). Prints a
Markdown table (docs/cli.md, "trend", quotes it).
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def best_of(n, cmd):
    """(best wall seconds, peak RSS in KiB of that run) of `cmd` under GNU time."""
    best = None
    for _ in range(n):
        start = time.monotonic()
        p = subprocess.run(["/usr/bin/time", "-f", "%M"] + cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                           text=True)
        took = time.monotonic() - start
        if p.returncode != 0:
            sys.exit("error: %s exited %d: %s" % (" ".join(cmd), p.returncode, p.stderr[-500:]))
        rss = int(p.stderr.strip().splitlines()[-1])
        if best is None or took < best[0]:
            best = (took, rss)
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--assignscope", default=os.path.join(ROOT, "build", "assignscope"))
    ap.add_argument("--inputs", default=os.path.join(HERE, "inputs"))
    ap.add_argument("--dumps", default="500,5000", help="comma-separated series lengths")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--assigner", default="dynamic-soft-label")
    args = ap.parse_args()
    if not os.path.isdir(os.path.join(args.inputs, "batch16-640-late-g20")):
        subprocess.run([sys.executable, os.path.join(HERE, "make_inputs.py"), args.inputs, "--only",
                        "batch16-640-late-g20"], check=True)
    scratch = tempfile.mkdtemp(prefix="assignscope-trend-bench-")
    rows = []
    try:
        for n in [int(x) for x in args.dumps.split(",")]:
            series = os.path.join(scratch, "series-%d" % n)
            subprocess.run([sys.executable, os.path.join(HERE, "make_series.py"), args.inputs, series, "--dumps",
                            str(n)], check=True, stdout=subprocess.DEVNULL)
            files = []
            for root, _, names in os.walk(series):
                files += [os.path.join(root, x) for x in names if x.endswith((".npy", ".json"))]
            size = sum(os.path.getsize(f) for f in files)
            listing = os.path.join(scratch, "files-%d" % n)
            with open(listing, "w") as f:
                f.write("\0".join(files))
            cat = ["sh", "-c", "xargs -0 cat < '%s' > /dev/null" % listing]
            best_of(1, cat)  # the page cache warm
            cat_s, _ = best_of(3, cat)
            trend = [args.assignscope, "trend", series, "-a", args.assigner, "-f", "json", "-o", "/dev/null", "-j",
                     str(args.threads)]
            trend_s, trend_kib = best_of(3, trend)
            loss_s, loss_kib = best_of(3, trend + ["--loss", "rtmdet"])
            rows.append((n, size, cat_s, trend_s, trend_kib, loss_s, loss_kib))
            shutil.rmtree(series)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print("| dumps | bytes read | `cat` | `trend -a %s -j %d` | of `cat`'s throughput | peak memory | "
          "`+ --loss rtmdet` | peak memory |" % (args.assigner, args.threads))
    print("|---|---|---|---|---|---|---|---|")
    for n, size, cat_s, trend_s, trend_kib, loss_s, loss_kib in rows:
        print("| %d | %.2f GB | %.2f s (%.1f GB/s) | %.2f s (%.0f dumps/s, %.2f GB/s) | %.0f %% | %.0f MB | %.2f s "
              "(%.0f dumps/s) | %.0f MB |" % (n, size / 1e9, cat_s, size / 1e9 / cat_s, trend_s, n / trend_s,
                                              size / 1e9 / trend_s, 100 * cat_s / trend_s, trend_kib / 1024, loss_s,
                                              n / loss_s, loss_kib / 1024))


if __name__ == "__main__":
    main()
