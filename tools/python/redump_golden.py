#!/usr/bin/python3
"""Re-write golden cases through assignscope_dump.dump, the way a framework hook would, to check them.

    tools/python/redump_golden.py ../shared/golden /tmp/redump 'yolox-*' --via yolox-cxcywh
    build/assignscope check /tmp/redump

Each case's fields are loaded with numpy, changed as --via says, written with
dump() and given a copy of the case's expected/, so `assignscope check`
tells whether a dump made from inside that framework replays to the
reference's results:

  as-is         the fields unchanged (the helper's own round trip)
  probs         cls_scores as float32 sigmoid(logits), scores="probs": what
                ultralytics' v8DetectionLoss hands its assigner
  yolox-cxcywh  boxes as YOLOX holds them, (cx, cy, w, h) from the reference's
                own float32 conversion, turned back into (x1, y1, x2, y2) as
                docs/integrations.md does (in float64, stored as float32)

The OUT directory must not exist. Needs numpy.
"""

import argparse
import json
import shutil
import sys
from pathlib import Path

import numpy as np

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))
from assignscope_dump import dump  # noqa: E402


def as_cxcywh(boxes):
    """xyxy -> (cx, cy, w, h) in float32, as YOLOX's reference code converts them."""
    b = boxes.reshape(-1, 4).astype(np.float32)
    half = np.float32(2)
    return np.stack([(b[:, 0] + b[:, 2]) / half, (b[:, 1] + b[:, 3]) / half, b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]], 1)


def yolox_cxcywh(boxes):
    """xyxy -> YOLOX's float32 (cx, cy, w, h) -> xyxy via float64, as a dump written inside YOLOX holds it."""
    c = as_cxcywh(boxes).astype(np.float64)
    xyxy = np.concatenate([c[:, :2] - c[:, 2:] / 2, c[:, :2] + c[:, 2:] / 2], 1).astype(np.float32)
    return xyxy.reshape(boxes.shape)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("golden", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("pattern", nargs="?", default="*", help="case names to take (a glob; default every case)")
    ap.add_argument("--via", choices=("as-is", "probs", "yolox-cxcywh"), default="as-is")
    args = ap.parse_args()
    if args.out.exists():
        sys.exit(f"{args.out}: exists; give a new directory")
    cases = sorted(p for p in args.golden.glob(args.pattern) if (p / "expected").is_dir() and list(p.glob("*.npy")))
    if not cases:
        sys.exit(f"{args.golden}/{args.pattern}: no case directory with .npy fields and expected/")
    args.out.mkdir(parents=True)
    for case in cases:
        fields = {p.stem: np.load(p) for p in sorted(case.glob("*.npy"))}
        meta = json.loads((case / "meta.json").read_text()) if (case / "meta.json").exists() else {}
        scores = meta.get("scores", "logits")
        if args.via == "probs" and "cls_scores" in fields:
            if scores != "logits":
                sys.exit(f"{case}: scores are already {scores!r}")
            x = fields["cls_scores"].astype(np.float32)
            fields["cls_scores"] = np.float32(1) / (np.float32(1) + np.exp(-x))
            scores = "probs"
        note = ""
        if args.via == "yolox-cxcywh":
            for name in ("gt_bboxes", "pred_bboxes"):
                if name in fields:
                    before = as_cxcywh(fields[name])
                    fields[name] = yolox_cxcywh(fields[name])
                    moved = int((as_cxcywh(fields[name]) != before).sum())
                    note += f"  {name}: {moved} of {before.size} (cx, cy, w, h) values not recovered exactly"
        if "pad_bbox_flag" in fields:
            fields["pad_gt_mask"] = fields.pop("pad_bbox_flag")
        out = dump(args.out / case.name, scores=scores, image_size=meta.get("image_size"),
                   num_classes=meta.get("num_classes"), source=f"{case.name} via {args.via}", **fields)
        shutil.copytree(case / "expected", out / "expected")
        print(f"{out}{note}")


if __name__ == "__main__":
    main()
