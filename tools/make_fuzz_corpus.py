#!/usr/bin/python3
"""Writes the fuzz targets' seed corpus, tests/fuzz/corpus/{npy,npz,json}/seed-*,
from testdata/ (Debian's python3-numpy). regress-* files (inputs that once
broke a reader) are left alone.

  npy/   every .npy under testdata/ up to 16 KiB (expected/ results left out)
  npz/   every .npz under testdata/ up to 64 KiB, and every small dump
         directory saved with np.savez and np.savez_compressed (meta as a 0-d
         string member, as docs/format.md says)
  json/  every .json dump under testdata/ up to 64 KiB, and every small dump
         directory written as a JSON dump (nested lists)

Seeds are named after the file they come from; identical contents are kept once.
"""
import glob
import hashlib
import io
import json
import os
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "tests", "fuzz", "corpus")
MAX_NPY = 16 * 1024
MAX_CONTAINER = 64 * 1024


def rel(path):
    return os.path.relpath(path, os.path.join(ROOT, "testdata"))


def seed_name(path, suffix=""):
    return "seed-" + rel(path).replace(os.sep, "_").replace(" ", "_") + suffix


def testdata(pattern):
    found = glob.glob(os.path.join(ROOT, "testdata", "**", pattern), recursive=True)
    return sorted(p for p in found if "/expected/" not in p)


def dump_dirs():
    """Directories holding <field>.npy files (one-image dumps and stacked batches)."""
    dirs = sorted({os.path.dirname(p) for p in testdata("*.npy")})
    keep = []
    for d in dirs:
        if os.path.basename(d) in ("io", "bad") or "/io" in rel(d):
            continue
        size = sum(os.path.getsize(p) for p in glob.glob(os.path.join(d, "*")) if os.path.isfile(p))
        if size <= MAX_CONTAINER:
            keep.append(d)
    return keep


def fields_of(d):
    arrays = {}
    for p in sorted(glob.glob(os.path.join(d, "*.npy"))):
        try:
            arrays[os.path.basename(p)[:-4]] = np.load(p, allow_pickle=False)
        except Exception:  # a deliberately broken file of testdata/bad: not loadable, not a seed here
            return None
    meta_path = os.path.join(d, "meta.json")
    meta = open(meta_path).read() if os.path.exists(meta_path) else None
    return arrays, meta


def main():
    written = {}  # dir -> {name: bytes}

    def add(kind, name, data):
        seen = written.setdefault(kind, {})
        if any(v == data for v in seen.values()):
            return
        seen[name] = data

    for p in testdata("*.npy"):
        if os.path.getsize(p) <= MAX_NPY:
            add("npy", seed_name(p), open(p, "rb").read())
    for p in testdata("*.npz"):
        if os.path.getsize(p) <= MAX_CONTAINER:
            add("npz", seed_name(p), open(p, "rb").read())
    for p in testdata("*.json"):
        base = os.path.basename(p)
        if base in ("meta.json", "params.json") or os.path.getsize(p) > MAX_CONTAINER:
            continue
        add("json", seed_name(p), open(p, "rb").read())

    for d in dump_dirs():
        loaded = fields_of(d)
        if loaded is None:
            continue
        arrays, meta = loaded
        members = dict(arrays)
        if meta is not None:
            members["meta"] = np.array(meta)
        for compressed in (False, True):
            buf = io.BytesIO()
            (np.savez_compressed if compressed else np.savez)(buf, **members)
            add("npz", seed_name(d, ".savez_compressed.npz" if compressed else ".savez.npz"), buf.getvalue())
        try:
            obj = {"meta": json.loads(meta) if meta else {}}
        except ValueError:  # testdata/bad/bad-meta-json: kept as text, still a seed
            obj = {"meta": meta}
        for name, a in arrays.items():
            if a.dtype.kind in "fiub":
                obj[name] = a.tolist()
        text = json.dumps(obj).encode()
        if len(text) <= MAX_CONTAINER:
            add("json", seed_name(d, ".json"), text)

    for kind in ("npy", "npz", "json"):
        out = os.path.join(CORPUS, kind)
        os.makedirs(out, exist_ok=True)
        for old in glob.glob(os.path.join(out, "seed-*")):
            os.remove(old)
        for name, data in written.get(kind, {}).items():
            with open(os.path.join(out, name), "wb") as f:
                f.write(data)
        total = sum(len(v) for v in written.get(kind, {}).values())
        print("{}: {} seeds, {} bytes".format(kind, len(written.get(kind, {})), total))
    return 0


if __name__ == "__main__":
    sys.exit(main())
