#!/usr/bin/python3
"""Writes the benchmark's input dumps (docs/performance.md): realistic, deterministic.

    /usr/bin/python3 bench/make_inputs.py [OUTDIR] [--only NAME,...] [--tiny] [--force] [--list]

OUTDIR defaults to bench/inputs/ (git-ignored). Needs only numpy. Every
scenario is a dump directory (docs/format.md) named after the scenario; the
16-image batch is a directory of 16 one-image dumps. The whole grid takes
well under 200 MB and about half a minute.

Inputs follow the recipe of the golden cases (../shared/golden/README.md,
"Stages"), which the reference timings (../shared/reference-timings.md)
were measured on:
  ground truth  sides log-uniform in 4-600 px (scaled with the input size),
                aspect 1/4-4, ~15 % clipped at the border, ~10 % near-duplicates
                of an earlier box; crowds: sides 6-40 px, ~60 % packed in
                shelf rows (touching or overlapping by up to 15 %), C = 60
  early         logits ~ N(-4.6, 0.5); boxes: random (l, t, r, b) of
                stride x lognormal around each prior
  late          background logits ~ N(-6, 1); every prior inside a GT (or
                within 2.5 strides of its centre) predicts the smallest such
                GT's box jittered to IoU ~0.5-0.95 with GT-class logit
                ~ N(1, 1.2); a few confident false positives
Priors are mmdet's point priors (cx, cy, stride, stride), offset 0, strides
8/16/32: N = 8400 at 640 x 640, 33600 at 1280 x 1280. Predicted boxes always
contain their own prior point. YOLOX objectness logits are included so that
simota.yolox runs on the same dumps, and FCOS-style centerness logits (a
copy of the objectness, so no draw is added) so that o2f does.
YOLOv7 dumps: the YOLOv5 layout (three anchors per cell, mmyolo's YOLOv7
base sizes) with late-training logits, objectness and predicted boxes drawn
as for the dense dumps, on COCO-like GTs or a crowd.

The output directory is only written when it is empty, absent, or was made by
this script (it holds .make_inputs); a scenario directory is replaced whole.
"""
import argparse
import json
import os
import shutil
import sys

import numpy as np

# Bump when the recipe of existing dumps changes (it is written into every
# meta.json): run.py regenerates inputs whose stamp differs.
GENERATOR_VERSION = 1
# Bump when fields or scenarios are added and every existing dump stays
# byte-identical: only the stamp changes (run.py still rewrites the inputs).
# 2: dense dumps' centerness.npy (o2f), the yolov7 scenarios.
LAYOUT_VERSION = 2
STAMP = ".make_inputs"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(ROOT, "bench", "inputs")


def scenario(name, kind, size, classes, gts, stage, seed, **extra):
    s = dict(name=name, kind=kind, size=size, classes=classes, gts=gts, stage=stage, seed=seed)
    s.update(extra)
    return s


def scenarios(tiny=False):
    """The grid. `kind`: dense (point priors, logits, boxes), crowd (dense with
    small crowded GTs), detr (300 queries), yolov5 (3 anchors per cell,
    geometry only), yolov7 (3 anchors per cell with predictions; `crowd`:
    crowd GTs), batch (a directory of one-image dense dumps)."""
    if tiny:  # for the smoke test: one of each kind, a few hundred priors
        return [
            scenario("tiny-late-g5", "dense", 128, 8, 5, "late", 11),
            scenario("tiny-crowd-g40", "crowd", 128, 6, 40, "late", 12),
            scenario("tiny-detr-q30-g5", "detr", 128, 8, 5, "late", 13, queries=30),
            scenario("tiny-yolov5-g5", "yolov5", 128, 8, 5, "geometry", 14),
            scenario("tiny-yolov7-g5", "yolov7", 128, 8, 5, "late", 16),
            scenario("tiny-batch4-g5", "batch", 128, 8, 5, "late", 15, images=4),
        ]
    return [
        scenario("640-late-g5", "dense", 640, 80, 5, "late", 101),
        scenario("640-late-g20", "dense", 640, 80, 20, "late", 102),
        scenario("640-late-g100", "dense", 640, 80, 100, "late", 103),
        scenario("640-early-g20", "dense", 640, 80, 20, "early", 104),
        scenario("640-early-g100", "dense", 640, 80, 100, "early", 105),
        scenario("640-late-g20-c365", "dense", 640, 365, 20, "late", 106),
        scenario("1280-late-g20", "dense", 1280, 80, 20, "late", 107),
        scenario("1280-early-g100", "dense", 1280, 80, 100, "early", 108),
        scenario("crowd640-g300", "crowd", 640, 60, 300, "late", 201),
        scenario("crowd640-g1000", "crowd", 640, 60, 1000, "late", 202),
        scenario("crowd640-g5000", "crowd", 640, 60, 5000, "late", 203),
        scenario("crowd1280-g800", "crowd", 1280, 60, 800, "late", 204),
        scenario("detr-q300-g20", "detr", 640, 80, 20, "late", 301, queries=300),
        scenario("detr-q300-g100", "detr", 640, 80, 100, "late", 302, queries=300),
        scenario("yolov5-640-g20", "yolov5", 640, 80, 20, "geometry", 401),
        scenario("yolov5-640-g100", "yolov5", 640, 80, 100, "geometry", 402),
        scenario("yolov7-640-g20", "yolov7", 640, 80, 20, "late", 601),
        scenario("yolov7-640-g100", "yolov7", 640, 80, 100, "late", 602),
        scenario("yolov7-crowd640-g1000", "yolov7", 640, 60, 1000, "late", 603, crowd=True),
        scenario("yolov7-crowd640-g5000", "yolov7", 640, 60, 5000, "late", 604, crowd=True),
        scenario("batch16-640-late-g20", "batch", 640, 80, 20, "late", 501, images=16),
    ]


STRIDES = (8, 16, 32)


def point_priors(size):
    """mmdet MlvlPointGenerator(offset=0, with_stride=True): level, row, col."""
    rows, counts = [], []
    for s in STRIDES:
        n = size // s
        ys, xs = np.meshgrid(np.arange(n, dtype=np.float32) * s, np.arange(n, dtype=np.float32) * s, indexing="ij")
        rows.append(np.stack([xs.ravel(), ys.ravel(), np.full(n * n, s, np.float32), np.full(n * n, s, np.float32)], 1))
        counts.append(n * n)
    return np.concatenate(rows).astype(np.float32), np.array(counts, np.int64)


def clip_boxes(b, size):
    b = np.clip(b, 0, size)
    # keep every box at least 1 px wide and tall after clipping
    b[:, 2] = np.maximum(b[:, 2], np.minimum(b[:, 0] + 1, size))
    b[:, 0] = np.minimum(b[:, 0], b[:, 2] - 1)
    b[:, 3] = np.maximum(b[:, 3], np.minimum(b[:, 1] + 1, size))
    b[:, 1] = np.minimum(b[:, 1], b[:, 3] - 1)
    return b


def coco_gts(rng, size, g):
    """Sides log-uniform in 4-600 px (x size/640), aspect 1/4-4, ~15 % across
    the border (clipped), ~10 % near-duplicates of an earlier box."""
    scale = size / 640.0
    side = np.exp(rng.uniform(np.log(4 * scale), np.log(600 * scale), g))
    aspect = np.exp(rng.uniform(np.log(0.25), np.log(4), g))
    w, h = side * np.sqrt(aspect), side / np.sqrt(aspect)
    cx, cy = rng.uniform(0, size, g), rng.uniform(0, size, g)
    border = rng.random(g) < 0.15  # centre near an edge: the box crosses it
    cx[border] = rng.choice([0.0, float(size)], border.sum()) + rng.normal(0, 0.1, border.sum()) * w[border]
    b = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], 1)
    for i in range(1, g):
        if rng.random() < 0.10:  # near-duplicate of an earlier GT
            j = rng.integers(0, i)
            bw, bh = b[j, 2] - b[j, 0], b[j, 3] - b[j, 1]
            b[i] = b[j] + rng.normal(0, 0.04, 4) * np.array([bw, bh, bw, bh])
    b = clip_boxes(b, size)
    return b.astype(np.float32)


def crowd_gts(rng, size, g):
    """Sides log-uniform in 6-40 px (x size/640); ~60 % in shelf rows where
    neighbours touch or overlap by up to 15 % of their width, the rest
    scattered; boxes crossing the border are clipped."""
    scale = size / 640.0
    lo, hi = 6 * scale, 40 * scale
    n_rows = int(round(g * 0.6))
    boxes = []
    while len(boxes) < n_rows:
        y = rng.uniform(0, size)
        x = rng.uniform(-20 * scale, 60 * scale)
        row_h = np.exp(rng.uniform(np.log(lo), np.log(hi)))
        while x < size and len(boxes) < n_rows:
            w = np.exp(rng.uniform(np.log(lo), np.log(hi)))
            h = float(np.clip(row_h * np.exp(rng.normal(0, 0.15)), lo, hi))
            boxes.append([x, y - h / 2, x + w, y + h / 2])
            x += w * (1 - rng.uniform(0, 0.15))
    rest = g - len(boxes)
    w = np.exp(rng.uniform(np.log(lo), np.log(hi), rest))
    h = np.exp(rng.uniform(np.log(lo), np.log(hi), rest))
    cx, cy = rng.uniform(0, size, rest), rng.uniform(0, size, rest)
    scattered = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], 1)
    b = np.concatenate([np.array(boxes, np.float64).reshape(-1, 4), scattered])
    b = b[rng.permutation(g)]
    return clip_boxes(b, size).astype(np.float32)


def owner_of_priors(priors, gts, radius=2.5):
    """Per prior, the smallest GT whose box contains its centre or whose
    centre lies within `radius` strides; -1 for none. Chunked: [chunk, G]."""
    n, g = priors.shape[0], gts.shape[0]
    owner = np.full(n, -1, np.int64)
    if g == 0:
        return owner
    area = (gts[:, 2] - gts[:, 0]) * (gts[:, 3] - gts[:, 1])
    gcx, gcy = (gts[:, 0] + gts[:, 2]) / 2, (gts[:, 1] + gts[:, 3]) / 2
    chunk = max(1, 4_000_000 // g)
    for s in range(0, n, chunk):
        p = priors[s : s + chunk]
        px, py, st = p[:, :1], p[:, 1:2], p[:, 2:3]
        inside = (px > gts[:, 0]) & (px < gts[:, 2]) & (py > gts[:, 1]) & (py < gts[:, 3])
        near = (np.abs(px - gcx) < radius * st) & (np.abs(py - gcy) < radius * st)
        keyed = np.where(inside | near, area[None, :], np.inf)
        best = keyed.argmin(1)
        owner[s : s + chunk] = np.where(np.isfinite(keyed[np.arange(len(p)), best]), best, -1)
    return owner


def contain_point(boxes, px, py):
    """Stretch each box so that it contains its prior point (as distance heads do)."""
    boxes[:, 0] = np.minimum(boxes[:, 0], px - 0.5)
    boxes[:, 1] = np.minimum(boxes[:, 1], py - 0.5)
    boxes[:, 2] = np.maximum(boxes[:, 2], px + 0.5)
    boxes[:, 3] = np.maximum(boxes[:, 3], py + 0.5)
    return boxes


def predictions(rng, priors, gts, labels, classes, stage):
    """cls_scores [N, C] logits, objectness [N] logits, pred_bboxes [N, 4]."""
    n = priors.shape[0]
    px, py, st = priors[:, 0], priors[:, 1], priors[:, 2]
    # Loose boxes around each prior (early stage; background priors when late).
    ltrb = st[:, None] * rng.lognormal(0.8, 0.6, (n, 4)).astype(np.float32)
    boxes = np.stack([px - ltrb[:, 0], py - ltrb[:, 1], px + ltrb[:, 2], py + ltrb[:, 3]], 1)
    if stage == "early":
        cls = rng.normal(-4.6, 0.5, (n, classes)).astype(np.float32)
        obj = rng.normal(-4.6, 0.5, n).astype(np.float32)
        return cls, obj, boxes.astype(np.float32)
    cls = rng.normal(-6.0, 1.0, (n, classes)).astype(np.float32)
    obj = rng.normal(-5.0, 1.5, n).astype(np.float32)
    owner = owner_of_priors(priors, gts)
    hit = np.flatnonzero(owner >= 0)
    g = owner[hit]
    gb = gts[g].astype(np.float64)
    wh = np.stack([gb[:, 2] - gb[:, 0], gb[:, 3] - gb[:, 1]] * 2, 1)
    sigma = rng.uniform(0.01, 0.10, (len(hit), 1))  # IoU roughly 0.5-0.95
    boxes[hit] = gb + rng.normal(0, 1, (len(hit), 4)) * sigma * wh
    cls[hit, labels[g]] = rng.normal(1.0, 1.2, len(hit)).astype(np.float32)
    obj[hit] = rng.normal(2.0, 1.0, len(hit)).astype(np.float32)
    fp = rng.random(n) < 0.002  # a few confident false positives
    cls[fp, rng.integers(0, classes, fp.sum())] = rng.normal(1.0, 1.0, fp.sum()).astype(np.float32)
    boxes = contain_point(boxes, px, py)
    return cls, obj, boxes.astype(np.float32)


def write_dump(path, fields, meta):
    os.makedirs(path)
    for name, a in fields.items():
        np.save(os.path.join(path, name + ".npy"), a)
    with open(os.path.join(path, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)


def meta_of(s, **extra):
    m = {"version": 1, "image_size": [s["size"], s["size"]], "scores": "logits",
         "source": "assignscope bench/make_inputs.py v{} scenario {} (seed {})".format(
             GENERATOR_VERSION, s["name"], s["seed"])}
    m.update(extra)
    return m


def dense_dump(path, s, seed, crowd=False):
    rng = np.random.default_rng(seed)
    priors, counts = point_priors(s["size"])
    gts = crowd_gts(rng, s["size"], s["gts"]) if crowd else coco_gts(rng, s["size"], s["gts"])
    labels = rng.integers(0, s["classes"], s["gts"]).astype(np.int64)
    cls, obj, boxes = predictions(rng, priors, gts, labels, s["classes"], s["stage"])
    write_dump(path, {"priors": priors, "num_level_priors": counts, "cls_scores": cls, "objectness": obj,
                      "centerness": obj.copy(), "pred_bboxes": boxes, "gt_bboxes": gts, "gt_labels": labels},
               meta_of(s))


def detr_dump(path, s):
    """DETR-style: `queries` predictions with no prior geometry (stride 0 rows,
    as the golden detr-* cases store them); about a third of the queries sit
    on a GT (jittered box, high GT-class logit), the rest anywhere."""
    rng = np.random.default_rng(s["seed"])
    q, size, classes = s["queries"], s["size"], s["classes"]
    gts = coco_gts(rng, size, s["gts"])
    labels = rng.integers(0, classes, s["gts"]).astype(np.int64)
    cls = rng.normal(-4.0, 1.5, (q, classes)).astype(np.float32)
    wh = np.exp(rng.uniform(np.log(8), np.log(400), (q, 2)))
    c = rng.uniform(0, size, (q, 2))
    boxes = np.concatenate([c - wh / 2, c + wh / 2], 1)
    on = rng.random(q) < 0.33
    g = rng.integers(0, s["gts"], on.sum())
    gb = gts[g].astype(np.float64)
    gwh = np.stack([gb[:, 2] - gb[:, 0], gb[:, 3] - gb[:, 1]] * 2, 1)
    boxes[on] = gb + rng.normal(0, 0.08, (on.sum(), 4)) * gwh
    cls[np.flatnonzero(on), labels[g]] = rng.normal(1.0, 1.5, on.sum()).astype(np.float32)
    boxes = clip_boxes(boxes, size).astype(np.float32)
    write_dump(path, {"priors": np.zeros((q, 4), np.float32), "cls_scores": cls, "pred_bboxes": boxes,
                      "gt_bboxes": gts, "gt_labels": labels}, meta_of(s))


# mmyolo YOLOv5 base anchors (w, h) per level, in pixels.
YOLOV5_ANCHORS = [[(10, 13), (16, 30), (33, 23)], [(30, 61), (62, 45), (59, 119)], [(116, 90), (156, 198), (373, 326)]]
# mmyolo YOLOv7 base anchors (configs/yolov7/yolov7_l_syncbn_fast_8x16b-300e_coco.py).
YOLOV7_ANCHORS = [[(12, 16), (19, 36), (40, 28)], [(36, 75), (76, 55), (72, 146)], [(142, 110), (192, 243), (459, 401)]]


def anchor_priors(size, base_sizes):
    """Three anchors per cell, ordered level, anchor, row, col, points at
    (col + 0.5) * stride: (priors, anchor boxes, num_level_priors)."""
    priors, anchors, counts = [], [], []
    for s_, base in zip(STRIDES, base_sizes):
        n = size // s_
        ys, xs = np.meshgrid((np.arange(n) + 0.5) * s_, (np.arange(n) + 0.5) * s_, indexing="ij")
        for aw, ah in base:
            cx, cy = xs.ravel(), ys.ravel()
            priors.append(np.stack([cx, cy, np.full(n * n, s_), np.full(n * n, s_)], 1))
            anchors.append(np.stack([cx - aw / 2, cy - ah / 2, cx + aw / 2, cy + ah / 2], 1))
        counts.append(3 * n * n)
    return (np.concatenate(priors).astype(np.float32), np.concatenate(anchors).astype(np.float32),
            np.array(counts, np.int64))


def yolov5_dump(path, s):
    """YOLOv5's anchors (anchor_priors), geometry only."""
    rng = np.random.default_rng(s["seed"])
    priors, anchors, counts = anchor_priors(s["size"], YOLOV5_ANCHORS)
    gts = coco_gts(rng, s["size"], s["gts"])
    labels = rng.integers(0, s["classes"], s["gts"]).astype(np.int64)
    write_dump(path, {"priors": priors, "anchors": anchors, "num_level_priors": counts, "gt_bboxes": gts,
                      "gt_labels": labels}, meta_of(s, num_classes=s["classes"]))


def yolov7_dump(path, s):
    """YOLOv7's anchors (anchor_priors) with logits, objectness and predicted
    boxes drawn as for the dense dumps (predictions(): the priors' stride sets
    the loose boxes and the 2.5-stride reach of a GT); every anchor of a cell
    gets its own draw."""
    rng = np.random.default_rng(s["seed"])
    priors, anchors, counts = anchor_priors(s["size"], YOLOV7_ANCHORS)
    gts = crowd_gts(rng, s["size"], s["gts"]) if s.get("crowd") else coco_gts(rng, s["size"], s["gts"])
    labels = rng.integers(0, s["classes"], s["gts"]).astype(np.int64)
    cls, obj, boxes = predictions(rng, priors, gts, labels, s["classes"], s["stage"])
    write_dump(path, {"priors": priors, "anchors": anchors, "num_level_priors": counts, "cls_scores": cls,
                      "objectness": obj, "pred_bboxes": boxes, "gt_bboxes": gts, "gt_labels": labels}, meta_of(s))


def make(out, s):
    path = os.path.join(out, s["name"])
    if os.path.exists(path):
        shutil.rmtree(path)
    if s["kind"] == "dense":
        dense_dump(path, s, s["seed"])
    elif s["kind"] == "crowd":
        dense_dump(path, s, s["seed"], crowd=True)
    elif s["kind"] == "detr":
        detr_dump(path, s)
    elif s["kind"] == "yolov5":
        yolov5_dump(path, s)
    elif s["kind"] == "yolov7":
        yolov7_dump(path, s)
    elif s["kind"] == "batch":
        os.makedirs(path)
        for i in range(s["images"]):
            dense_dump(os.path.join(path, "img{:02d}".format(i)), s, s["seed"] * 100 + i)
    else:
        raise ValueError(s["kind"])


def stamp_text(tiny):
    return json.dumps({"generator_version": GENERATOR_VERSION, "layout_version": LAYOUT_VERSION, "tiny": tiny})


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out", nargs="?", default=DEFAULT_OUT, help="output directory (default bench/inputs/)")
    ap.add_argument("--only", default="", help="comma-separated scenario names (default: all)")
    ap.add_argument("--tiny", action="store_true", help="the tiny grid of the smoke test")
    ap.add_argument("--force", action="store_true", help="write into a non-empty directory this script did not make")
    ap.add_argument("--list", action="store_true", help="print the scenario names and exit")
    args = ap.parse_args()
    grid = scenarios(args.tiny)
    if args.list:
        for s in grid:
            print(s["name"])
        return 0
    only = [n for n in args.only.split(",") if n]
    unknown = sorted(set(only) - {s["name"] for s in grid})
    if unknown:
        print("make_inputs.py: unknown scenario(s): " + ", ".join(unknown), file=sys.stderr)
        return 2
    out = args.out
    stamp = os.path.join(out, STAMP)
    if os.path.isdir(out) and os.listdir(out) and not os.path.exists(stamp) and not args.force:
        print("make_inputs.py: {} is not empty and was not made by this script (use --force)".format(out),
              file=sys.stderr)
        return 2
    os.makedirs(out, exist_ok=True)
    if os.path.exists(stamp):
        os.remove(stamp)  # incomplete until every scenario is written
    for s in grid:
        if not only or s["name"] in only:
            print("make_inputs.py: " + s["name"], file=sys.stderr)
            make(out, s)
    with open(stamp, "w") as f:
        f.write(stamp_text(args.tiny) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
