#!/usr/bin/python3
"""Builds testdata/trend-series/: a SYNTHETIC training series for `assignscope trend`. Deterministic.

Run from the repository root with Debian's python3-numpy:
    /usr/bin/python3 tools/make_trend_series.py

What it writes (committed; tests do not need Python):
  testdata/trend-series/step-NNNNNN/synthetic-00000I/   one-image dumps, one directory per step
                                                        (a directory of one-image dumps is a batch)

The same three probe images (the same GT boxes and labels, in the same order)
appear at every step, so one GT can be followed across steps. No network was
trained: the predictions are made up to show a dynamic assigner's COLD START.
Each prior's predicted box blends a poor guess (a small box near the prior)
with the box of the GT it "learns", by a quality q that rises with the step
(0.05 at step 0, 0.9 at step 4000), plus noise that shrinks as q grows; the
GT class's logit of priors inside a GT rises with q toward IoU^3 of the
prior's own box (a quality-aware score, as RTMDet's QFL trains it). Early on the IoUs are
small, so dynamic k = int(sum of the top-13 IoUs) clamps to 1 and the soft
centre prior decides; later k and the positives per GT rise.

Images are 224 x 224 with strides 8 / 16 / 32 (1029 priors) and C = 4
classes, to keep the series small (18 dumps, about 1.2 MB). Each image has
small GTs with a shorter side below the finest stride (several around 4 px,
most holding no prior centre; clusters of them and one inside a large GT
lose their only prior to a neighbour and are starved by
dynamic-soft-label) and a pair of overlapping GTs that compete for priors.

The noise draws are shared by all steps (drawn once per image), so a GT's
predictions at step t + 1 are those of step t moved closer to it: the trend
is monotonic by construction, not by luck. tools/trend_series_check.py
replays the series with the built binary and checks it.
"""
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_testdata import fresh, write_dir  # noqa: E402  (one way to write a one-image dump)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "testdata", "trend-series")
SEED = 17017
HEIGHT = WIDTH = 224
STRIDES = (8, 16, 32)
NUM_CLASSES = 4
# step -> quality q of the predictions (how far each prior's box has moved toward its GT)
STEPS = {0: 0.05, 250: 0.2, 500: 0.35, 1000: 0.55, 2000: 0.75, 4000: 0.9}
BIAS = -4.595  # log(0.01 / 0.99): the prior-probability bias RTMDet's and YOLOX's classifiers start from

# Per image: (w, h, label) of each GT, placed at random unless a position is given as (x1, y1).
# Shorter sides below 8 px (the finest stride): the "stride-relative small" GTs.
IMAGES = [
    [(118, 96, 0, (40, 20)), (58, 46, 1, None), (36, 30, 2, None), (20, 16, 3, None), (12, 9, 1, None),
     (6, 5, 2, None), (4, 4, 0, (97.3, 66.2)), (4.5, 6, 3, None), (52, 60, 1, (130, 140)), (56, 50, 2, (150, 156)),
     (5, 4, 3, (30.6, 180.4))],
    [(80, 120, 2, None), (70, 64, 0, None), (30, 42, 1, None), (24, 24, 3, None), (16, 10, 0, None),
     (10, 14, 2, None), (7, 5, 1, None), (4, 4, 3, (30.2, 190.5)), (3.5, 4, 0, (35.8, 191.4)), (5, 5, 2, (41.1, 188.3)),
     (40, 40, 3, (150, 20)), (42, 36, 3, (164, 34)), (5, 9, 1, None)],
    [(150, 110, 1, None), (44, 54, 3, None), (64, 28, 0, None), (26, 20, 2, None), (18, 18, 1, None),
     (11, 8, 3, None), (8, 12, 0, None), (6, 4, 2, None), (4, 5, 1, (180.4, 190.2)), (4, 4, 2, (185.7, 192.6)),
     (3, 7, 3, (190.9, 189.1)), (14, 30, 0, None), (60, 48, 2, (20, 150)), (48, 58, 0, (46, 160))],
]


def make_priors():
    """MlvlPointGenerator(offset=0.5, with_stride=True): (cx, cy, s, s), level -> row -> col."""
    rows, counts = [], []
    for s in STRIDES:
        ny, nx = HEIGHT // s, WIDTH // s
        yy, xx = np.mgrid[0:ny, 0:nx]
        cx = (xx.reshape(-1) + 0.5) * s
        cy = (yy.reshape(-1) + 0.5) * s
        rows.append(np.stack([cx, cy, np.full(cx.shape, s), np.full(cx.shape, s)], 1))
        counts.append(ny * nx)
    return np.concatenate(rows).astype(np.float32), np.array(counts, np.int64)


def place_gts(rng, spec):
    """GT boxes (x1, y1, x2, y2) rounded to 0.1 px, and labels, in the order of spec."""
    boxes, labels = [], []
    for w, h, label, at in spec:
        if at is None:
            x1 = rng.uniform(2, WIDTH - w - 2)
            y1 = rng.uniform(2, HEIGHT - h - 2)
        else:
            x1, y1 = at
        boxes.append([x1, y1, x1 + w, y1 + h])
        labels.append(label)
    return np.round(np.array(boxes, np.float64), 1), np.array(labels, np.int64)


def targets(priors, gts):
    """Which GT each prior learns (-1: background) and how well it can (weight in [0, 1]).

    A prior whose centre is inside GTs learns the smallest of them (in the
    overlap of two GTs the smaller wins, and both GTs want the prior);
    a prior within 1.5 strides of a GT's centre but outside it learns that
    GT at half weight (it sees it, as SimOTA's centre region does). The
    weight is highest near the GT's centre and at the level whose stride
    suits the GT's size (about an eighth of its side).
    """
    n = priors.shape[0]
    cx, cy, s = priors[:, 0:1].astype(np.float64), priors[:, 1:2].astype(np.float64), priors[:, 2:3].astype(np.float64)
    x1, y1, x2, y2 = (gts[None, :, i] for i in range(4))
    inside = (cx > x1) & (cx < x2) & (cy > y1) & (cy < y2)
    gcx, gcy = (x1 + x2) / 2, (y1 + y2) / 2
    gw, gh = x2 - x1, y2 - y1
    near = (np.abs(cx - gcx) < 1.5 * s) & (np.abs(cy - gcy) < 1.5 * s)
    area = gw * gh
    # Centrality: 1 at the centre, 0.4 at the box edge.
    rel = np.maximum(np.abs(cx - gcx) / (gw / 2), np.abs(cy - gcy) / (gh / 2))
    central = np.clip(1 - 0.6 * rel, 0.25, 1)
    size = np.sqrt(area)
    level_fit = np.exp(-0.5 * (np.log2(size / (8 * s))) ** 2 / 1.5 ** 2)
    weight = 0.5 + 0.5 * central * (0.4 + 0.6 * level_fit)
    weight = np.where(inside, weight, np.where(near, 0.5 * weight, 0))
    # Smallest containing GT first, near ones after.
    key = np.where(inside, area, np.where(near, 1e9 + area, np.inf))
    target = np.argmin(key, 1)
    has = np.isfinite(key[np.arange(n), target])
    return np.where(has, target, -1), np.where(has, weight[np.arange(n), target], 0.0)


def image_noise(rng, n):
    """The draws shared by every step of one image: poor boxes, box noise, logit noise."""
    return {
        "poor_shift": rng.normal(0, 0.5, (n, 2)),         # centre offset of the poor guess, in strides
        "poor_size": np.exp(rng.normal(0, 0.35, (n, 2))),  # its width, height, in strides
        "box_noise": rng.normal(0, 1, (n, 4)),            # per-side noise, in GT sides
        "logit_noise": rng.normal(0, 0.6, (n, NUM_CLASSES)),
        "learn": rng.uniform(0.85, 1.0, n),               # how fast this prior learns (a fixed per-prior rate)
    }


def box_iou(a, b):
    """IoU of the rows of a with the rows of b (xyxy)."""
    w = np.clip(np.minimum(a[:, 2], b[:, 2]) - np.maximum(a[:, 0], b[:, 0]), 0, None)
    h = np.clip(np.minimum(a[:, 3], b[:, 3]) - np.maximum(a[:, 1], b[:, 1]), 0, None)
    inter = w * h
    union = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1]) + (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]) - inter
    return inter / np.maximum(union, 1e-9)


def predictions(priors, gts, labels, target, weight, noise, q):
    """pred_bboxes (xyxy) and cls_scores (logits) at quality q."""
    p = priors.astype(np.float64)
    s = p[:, 2:3]
    centre = p[:, :2] + noise["poor_shift"] * s
    half = noise["poor_size"] * s * 0.35
    poor = np.concatenate([centre - half, centre + half], 1)
    has = target >= 0
    gt = np.where(has[:, None], gts[np.maximum(target, 0)], poor)
    qe = (1 - (1 - q) ** (1.3 * weight * noise["learn"]))[:, None]  # q itself for weight * learn = 1 / 1.3
    side = np.where(has[:, None], np.sqrt((gt[:, 2:3] - gt[:, 0:1]) * (gt[:, 3:4] - gt[:, 1:2])), s)
    boxes = (1 - qe) * poor + qe * gt + noise["box_noise"] * side * 0.25 * (1 - q) * qe
    x1, y1 = np.minimum(boxes[:, 0], boxes[:, 2] - 0.5), np.minimum(boxes[:, 1], boxes[:, 3] - 0.5)
    boxes = np.stack([x1, y1, boxes[:, 2], boxes[:, 3]], 1)
    logits = BIAS + noise["logit_noise"]
    rows = np.nonzero(has)[0]
    # The GT class's score moves toward what a quality-aware classifier (RTMDet's QFL) learns:
    # the IoU of the prior's own box with its GT, sharpened (IoU^3), so that a prior with a poor
    # box keeps a low score and the class loss of the negatives inside a GT stays small.
    iou = box_iou(boxes[rows], gt[rows])
    learned = np.log(np.clip(iou, 1e-3, 0.999) ** 3) - np.log1p(-np.clip(iou, 1e-3, 0.999) ** 3)
    learned = np.maximum(learned, BIAS)
    logits[rows, labels[target[rows]]] += qe[rows, 0] * (learned - BIAS)
    return boxes.astype(np.float32), logits.astype(np.float32)


def main():
    rng = np.random.default_rng(SEED)
    priors, counts = make_priors()
    images = []
    for i, spec in enumerate(IMAGES):
        gts, labels = place_gts(rng, spec)
        target, weight = targets(priors, gts)
        images.append(("synthetic-%06d" % (i + 1), gts, labels, target, weight, image_noise(rng, priors.shape[0])))
    fresh(OUT)
    for step, q in STEPS.items():
        for image_id, gts, labels, target, weight, noise in images:
            boxes, logits = predictions(priors, gts, labels, target, weight, noise, q)
            meta = {
                "version": 1,
                "image_size": [HEIGHT, WIDTH],
                "num_classes": NUM_CLASSES,
                "scores": "logits",
                "step": step,
                "epoch": step // 1000,
                "assigner": "dynamic-soft-label",
                "image_id": image_id,
                "source": f"synthetic series made by tools/make_trend_series.py (seed {SEED}): probe image "
                          f"{image_id} at step {step}, prediction quality q = {q}; no network was trained",
            }
            write_dir(os.path.join(OUT, "step-%06d" % step, image_id), {
                "priors": priors, "num_level_priors": counts, "cls_scores": logits, "pred_bboxes": boxes,
                "gt_bboxes": gts.astype(np.float32), "gt_labels": labels}, meta)
    for root, dirs, files in os.walk(OUT):
        for n in dirs + files:
            os.chmod(os.path.join(root, n), 0o755 if n in dirs else 0o644)
    print("trend series written under", OUT)


if __name__ == "__main__":
    main()
