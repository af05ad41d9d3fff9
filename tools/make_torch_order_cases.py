#!/usr/bin/env python3
"""Records what PyTorch's CPU kernels return for rows with equal keys, for
tests/torch_order_test.cpp: testdata/torch-order/cases.json.

Needs torch (Debian: python3-torch); the tests only read the JSON. Rows are
the shapes the assigners hand to torch.topk / torch.sort: all zeros, a few
positive values among zeros (ultralytics' metric rows), blocks of equal costs
(mmyolo's INF = 1e8), NaN, sizes on both sides of topk's k * 64 <= n switch
between std::partial_sort and std::nth_element. Deterministic (seeded).
"""
import json
import os
import sys

import numpy as np
import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "testdata", "torch-order", "cases.json")


def rows(rng):
    for n in (4, 9, 45, 84, 525, 640, 641):
        yield f"zeros-{n}", np.zeros(n, np.float32)
        r = np.zeros(n, np.float32)
        r[rng.choice(n, size=min(3, n), replace=False)] = rng.random(min(3, n)).astype(np.float32)
        yield f"few-positive-{n}", r
        yield f"two-levels-{n}", rng.integers(0, 2, n).astype(np.float32)
        r = np.full(n, 1e8, np.float32)
        r[rng.choice(n, size=min(5, n), replace=False)] = rng.random(min(5, n)).astype(np.float32) * 10
        yield f"inf-block-{n}", r
        yield f"quantised-{n}", (np.round(rng.random(n) * 8) / 8).astype(np.float32)
        if n >= 9:
            r = rng.random(n).astype(np.float32)
            r[rng.choice(n, size=2, replace=False)] = np.nan
            yield f"nan-{n}", r


def main():
    rng = np.random.default_rng(12)
    cases, table = [], []
    for name, row in rows(rng):
        t = torch.from_numpy(row)
        n = len(row)
        for k in sorted({1, 2, min(10, n), n}):
            for largest in (True, False):
                cases.append({"row": len(table), "op": "topk", "k": int(k), "largest": largest,
                              "indices": torch.topk(t, k, largest=largest).indices.tolist()})
        for descending in (False, True):
            cases.append({"row": len(table), "op": "sort", "descending": descending,
                          "indices": torch.sort(t, descending=descending).indices.tolist()})
        table.append({"name": name, "values": [None if np.isnan(v) else float(v) for v in row]})
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump({"torch": torch.__version__, "generator": "tools/make_torch_order_cases.py",
                   "python": sys.version.split()[0], "rows": table, "cases": cases}, f)
    print(f"{len(cases)} cases from torch {torch.__version__} -> {os.path.relpath(OUT)}")


if __name__ == "__main__":
    main()
