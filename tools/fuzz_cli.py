#!/usr/bin/env python3
"""Fuzzes the command line end to end: random subcommands, flags (valid,
misspelt, repeated, contradictory), --set values, output paths (stdout,
devices, links, odd extensions, existing files), and dumps that are valid,
mutated or odd on the filesystem (link loops, FIFOs, devices, directories
where files belong, names with control characters or invalid UTF-8).

Every run is under a 5 s timeout and a 500 MB address-space cap. A run fails
the fuzz if it
  - dies by a signal, hangs past the timeout, or exits 3 (or anything but 0, 1, 2);
  - exits 2 without a final one-line error starting "assignscope";
  - changes an input file, or replaces a link or a device it was told to write to.

  tools/fuzz_cli.py BINARY [RUNS] [SEED]      (defaults: 400 runs, seed 1)

Prints one line per failure (with the command to reproduce it) and a last
line with the count of runs, their exit codes and the slowest run.
"""
import hashlib
import json
import os
import random
import shlex
import stat
import struct
import subprocess
import sys
import tempfile
import time

TIMEOUT_S = 5
MEMORY_BYTES = 500 << 20


def npy(path, dtype, shape, values):
    header = "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }" % (
        dtype, "".join("%d," % s for s in shape) if len(shape) != 1 else "%d," % shape[0])
    pad = 64 - (10 + len(header) + 1) % 64
    header = header + " " * pad + "\n"
    code = {"<f4": "f", "<i8": "q", "<f8": "d"}[dtype]
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode())
        f.write(struct.pack("<%d%s" % (len(values), code), *values))


def grid_priors(strides, extent):
    rows = []
    for s in strides:
        n = max(1, extent // s)
        for y in range(n):
            for x in range(n):
                rows.append([x * s, y * s, s, s])
    return rows


def scene(rng, extent=64, gts=None, classes=3):
    """A small valid dump as a dict of field -> (dtype, shape, flat values)."""
    priors = grid_priors([8, 16, 32], extent)
    n = len(priors)
    g = rng.randint(0, 6) if gts is None else gts
    boxes = []
    for _ in range(g):
        x, y = rng.uniform(0, extent - 8), rng.uniform(0, extent - 8)
        boxes.append([x, y, min(extent, x + rng.uniform(4, 40)), min(extent, y + rng.uniform(4, 40))])
    pred = [[p[0] - 6, p[1] - 6, p[0] + 6, p[1] + 6] for p in priors]
    return {
        "priors": ("<f4", [n, 4], sum(priors, [])),
        "cls_scores": ("<f4", [n, classes], [rng.uniform(-6, 6) for _ in range(n * classes)]),
        "pred_bboxes": ("<f4", [n, 4], sum(pred, [])),
        "objectness": ("<f4", [n], [rng.uniform(-4, 4) for _ in range(n)]),
        "gt_bboxes": ("<f4", [g, 4], sum(boxes, [])),
        "gt_labels": ("<i8", [g], [rng.randrange(classes) for _ in range(g)]),
    }


ODD = [0.0, -1.0, 1e-45, 1e30, -1e30, 3.4e38, 1e18, float("nan"), float("inf"), -float("inf"), 0.5, 640.0]


def mutate(rng, fields):
    """Breaks one thing the way hand-made and generated probes did."""
    name = rng.choice(sorted(fields))
    dtype, shape, values = fields[name]
    kind = rng.randrange(7)
    values = list(values)
    if kind == 0 and values:  # an odd value
        i = rng.randrange(len(values))
        values[i] = rng.choice(ODD) if dtype != "<i8" else rng.choice([-1, 2**40, 7, -2**62])
    elif kind == 1 and values:  # a wrong shape
        shape = [len(values)] if len(shape) > 1 else [1, len(values)]
    elif kind == 2:  # truncated rows
        if shape and shape[0] > 0:
            shape = [shape[0] - 1] + shape[1:]
            values = values[: max(0, len(values) - (len(values) // max(1, fields[name][1][0])))]
    elif kind == 3:  # a whole field repeated: identical GTs
        if name in ("gt_bboxes", "gt_labels") and shape[0] > 0:
            reps = rng.choice([50, 400])
            first = values[: len(values) // shape[0]]
            shape = [reps] + shape[1:]
            values = first * reps
    elif kind == 4:
        del fields[name]
        return fields
    elif kind == 5 and dtype == "<f4":
        dtype = "<f8"
    elif kind == 6 and values:  # everything the same value
        v = values[0]
        values = [v] * len(values)
    fields[name] = (dtype, shape, values)
    return fields


def write_dump(rng, root, fields, meta):
    d = tempfile.mkdtemp(dir=root, prefix="dump")
    for name, (dtype, shape, values) in fields.items():
        npy(os.path.join(d, name + ".npy"), dtype, shape, values)
    if meta is not None:
        with open(os.path.join(d, "meta.json"), "w") as f:
            f.write(meta if isinstance(meta, str) else json.dumps(meta))
    return d


def odd_filesystem(rng, root, good):
    """A dump whose files are not what they seem."""
    d = tempfile.mkdtemp(dir=root, prefix="fs")
    for name in os.listdir(good):
        os.link(os.path.join(good, name), os.path.join(d, name)) if rng.random() < 0.5 else \
            os.symlink(os.path.join(good, name), os.path.join(d, name))
    victim = rng.choice(["meta.json", "gt_bboxes.npy", "priors.npy", "cls_scores.npy"])
    target = os.path.join(d, victim)
    if os.path.lexists(target):
        os.remove(target)
    kind = rng.randrange(6)
    if kind == 0:
        os.mkfifo(target)
    elif kind == 1:
        os.symlink(target, target)  # a loop
    elif kind == 2:
        os.symlink("/dev/zero", target)
    elif kind == 3:
        os.mkdir(target)
    elif kind == 4:
        os.symlink(os.path.join(d, "missing"), target)  # broken
    else:
        with open(target, "wb") as f:
            f.write(os.urandom(rng.randrange(0, 300)))
    if rng.random() < 0.3:  # a name with control characters or invalid UTF-8
        odd = os.path.join(root, rng.choice(["esc\x1b]0;title\x07", "nl\nname", "bad\xff\xfe".encode("latin-1")
                                             .decode("utf-8", "surrogateescape"), "tab\tx"]) + str(rng.randrange(10**6)))
        os.rename(d, odd)
        d = odd
    return d


PARAM_VALUES = ["-1", "0", "1", "1e9", "nan", "inf", "-inf", "2.5", "abc", "[1,2]", "[2,1]", "[[1,2],[3,4]]", "",
                "None", "null", "true", "[]", "{}", "1e-30", "99999999999999999999", "(0.4, 0.5)"]
FLAGS = ["-j", "1", "-j", "2", "--allow-nonfinite", "-q", "--quiet", "--force", "-f", "table", "-f", "json",
         "-f", "csv", "-f", "npy", "--format", "xml", "--include", "priors", "--include", "candidates",
         "--include", "bogus", "--preset", "v8.4", "--preset", "nope", "--frobnicate", "-Z", "--set", "--image", "0",
         "--image", "99", "--images", "0", "--gt", "1", "--", "-v", "--verbose", "--help", "-h"]


def random_command(rng, binary, dumps, outdir, params):
    sub = rng.choice(["run"] * 6 + ["diff"] * 2 + ["report"] * 2 + ["trend"] * 2 +
                     ["merge", "check", "list", "bench", "help", "runn", "", "--version", "-V"])
    args = [binary] + ([sub] if sub else [])
    if sub in ("run", "bench", "diff", "report", "trend"):
        args += [rng.choice(dumps)]
    if sub == "trend":
        if rng.random() < 0.5:
            args += ["--shard", rng.choice(["0/2", "1/2", "2/2", "0/1", "x", "0/0", "-1/3", "1/2/3", "9" * 30 + "/2"])]
        if rng.random() < 0.3:
            args += ["--by", rng.choice(["step", "epoch", "iteration"])]
        if rng.random() < 0.3:
            args += ["--loss", rng.choice(["rtmdet", "yolox", "ultralytics", "rtmdett"])]
    if sub == "merge":
        for _ in range(rng.randrange(0, 4)):
            args += [rng.choice([os.path.join(outdir, "part0.json"), os.path.join(outdir, "part1.json"),
                                 os.path.join(outdir, "part*.json"), os.path.join(outdir, "existing.json"),
                                 os.path.join(dumps[0], "meta.json"), "/dev/null", "/nonexistent"])]
        if sub in ("diff", "report") and rng.random() < 0.7:
            args += [rng.choice(["-b", "--assigner-b"]), rng.choice(list(params))]
    if sub in ("run", "bench", "diff", "report", "trend") and rng.random() < 0.8:
        name = rng.choice(list(params) + ["simotaa", "ATSS", "RTMDet", "yolov8", "tal", "x" * 300])
        args += [rng.choice(["-a", "--assigner"]), name]
        for _ in range(rng.randrange(0, 3)):
            keys = params.get(name, ["topk", "bogus"])
            args += ["--set", "%s=%s" % (rng.choice(keys + ["bogus"]), rng.choice(PARAM_VALUES))]
    if sub == "check":
        args += [rng.choice(dumps + [outdir, "/dev/null", "/nonexistent"])]
    for _ in range(rng.randrange(0, 3)):
        i = rng.randrange(0, len(FLAGS))
        args.append(FLAGS[i])
        if FLAGS[i] in ("--set",):
            args.append(rng.choice(["a", "=", "topk=", "topk=1=2", "topk"]))
    if sub in ("run", "diff", "report", "trend", "merge") and rng.random() < 0.6:
        out = rng.choice(["-", "/dev/null", "/dev/stdout", "x.png", "result.JSON", "r.json", "r.csv", "dir/",
                          "link.json", "existing.json", "deep/no/such/dir/r.json", "r.npy", "", "r.html", "R.HTM",
                          "existing.html", "part0.json", "part1.json", "r.svg"])
        args += ["-o", out if out in ("-", "/dev/null", "/dev/stdout", "") else os.path.join(outdir, out)]
    return args


def digest(path):
    h = hashlib.sha256()
    for root, _, files in os.walk(path):
        for name in sorted(files):
            p = os.path.join(root, name)
            st = os.lstat(p)
            if stat.S_ISREG(st.st_mode):
                with open(p, "rb") as f:
                    h.update(name.encode("utf-8", "surrogateescape") + f.read())
            else:
                h.update(name.encode("utf-8", "surrogateescape") + str(st.st_mode).encode())
    return h.hexdigest()


def limit():
    import resource
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES, MEMORY_BYTES))


def main():
    binary = os.path.abspath(sys.argv[1])
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 400
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    rng = random.Random(seed)
    listed = json.loads(subprocess.run([binary, "list", "-f", "json"], capture_output=True, check=True).stdout)
    params = {a["name"]: [p["name"] for p in a["parameters"]] if "parameters" in a else [] for a in listed}
    root = tempfile.mkdtemp(prefix="assignscope-fuzz-cli-")
    inputs = os.path.join(root, "in")
    outdir = os.path.join(root, "out")
    os.makedirs(inputs)
    os.makedirs(outdir)
    good = write_dump(rng, inputs, scene(rng, gts=4), {"version": 1, "image_size": [64, 64]})
    dumps = [good]
    for _ in range(25):
        fields = scene(rng)
        for _ in range(rng.randrange(1, 3)):
            fields = mutate(rng, fields)
        meta = rng.choice([{"version": 1}, {"version": 1, "image_size": [64, 64]}, {"scores": "probs"},
                           {"version": 1, "image_size": [0.5, 0.5]}, "{", "[]", '{"version": 1e999}', None,
                           {"box_format": "cxcywh"}, {"num_classes": 1}, {"version": 1, "step": 3},
                           {"step": 7, "epoch": 0, "image_id": "img-1"}, {"step": -1, "image_id": 12},
                           {"step": 1.5}, {"image_id": []}, {"image_id": ""}])
        dumps.append(write_dump(rng, inputs, fields, meta))
    for _ in range(10):
        dumps.append(odd_filesystem(rng, inputs, good))
    dumps.append(os.path.join(inputs, "dump*"))  # a pattern: several dumps, some bad
    before = digest(inputs)

    failures = 0
    codes = {}
    slowest = (0.0, "")
    for r in range(runs):
        # Output targets that must survive: a link to a file, an existing file.
        link = os.path.join(outdir, "link.json")
        if not os.path.lexists(link):
            with open(os.path.join(outdir, "target.json"), "w") as f:
                f.write("keep")
            os.symlink(os.path.join(outdir, "target.json"), link)
        args = random_command(rng, binary, dumps, outdir, params)
        start = time.monotonic()
        try:
            p = subprocess.run(args, capture_output=True, timeout=TIMEOUT_S, preexec_fn=limit, stdin=subprocess.DEVNULL)
            code = p.returncode
        except subprocess.TimeoutExpired:
            code = "timeout"
            p = None
        took = time.monotonic() - start
        codes[code] = codes.get(code, 0) + 1
        if took > slowest[0]:
            slowest = (took, shlex.join(args))
        problem = None
        if code == "timeout":
            problem = "took more than %d s" % TIMEOUT_S
        elif code not in (0, 1, 2):
            problem = "exit %s" % code
        elif code == 2 and len(args) > 1:  # (no command at all: the usage, exit 2)
            lines = [l for l in p.stderr.decode("utf-8", "replace").splitlines() if not l.startswith("assignscope") or
                     "warning:" not in l]
            last = lines[-1] if lines else ""
            if not last.startswith("assignscope") and not last.startswith("Run with --help"):
                problem = "exit 2 without a one-line error: %r" % p.stderr[-300:]
        if not problem and not os.path.islink(link) and os.path.lexists(link):
            problem = "the output link was replaced"
        if not problem and os.path.exists(link) and os.path.islink(link):
            with open(os.path.join(outdir, "target.json")) as f:
                if f.read() == "":
                    problem = "the link's target was emptied"
        if os.environ.get("FUZZ_CLI_VERBOSE") and p is not None:
            tail = p.stderr.decode("utf-8", "replace").strip().splitlines()
            print("%s -> %s: %s" % (shlex.join(args), code, tail[-1][:200] if tail else ""))
        if problem:
            failures += 1
            print("fuzz_cli: FAILED run %d: %s: %s" % (r, problem, shlex.join(args)))
    if digest(inputs) != before:
        failures += 1
        print("fuzz_cli: FAILED: an input file changed")
    summary = ", ".join("exit %s: %d" % (k, v) for k, v in sorted(codes.items(), key=lambda kv: str(kv[0])))
    print("fuzz_cli: %d runs (seed %d; %s), slowest %.2f s, %d failure(s)" % (runs, seed, summary, slowest[0], failures))
    subprocess.run(["rm", "-rf", root])
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
