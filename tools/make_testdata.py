#!/usr/bin/python3
"""Builds testdata/ from ../shared/golden and by hand. Deterministic.

Run from the repository root with Debian's python3-numpy:
    /usr/bin/python3 tools/make_testdata.py

What it writes (the outputs are committed; tests do not need Python):
  testdata/coco640-late-g12-objectness/  the README demo: a golden case, verbatim
  testdata/demo-with-image/              the same case with a SYNTHETIC 640 x 640 image.png (see demo_image)
  testdata/golden/<toy case>/            every small golden case, verbatim (results of pending families left out)
  testdata/batch/stacked-b2/             two toy images stacked [B, ...] with pad_gt_mask
  testdata/batch/dirs-b2/                the same two images as a directory of dumps
  testdata/containers/                   one toy image as .npz (stored, deflate),
                                         .json, big-endian / Fortran / float16 npy dir,
                                         pred_distances, probabilities, [G, 1] labels
  testdata/bad/<kind>/                   one broken dump per error kind (see BAD below)
"""
import json
import os
import shutil
import struct
import sys
import zipfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GOLDEN = os.path.join(ROOT, "..", "shared", "golden")
OUT = os.path.join(ROOT, "testdata")
BASE = os.path.join(GOLDEN, "toy-two-overlapping-gts")
FIELDS = ["priors", "num_level_priors", "cls_scores", "pred_bboxes", "gt_bboxes", "gt_labels"]


def fresh(path):
    if os.path.exists(path):
        shutil.rmtree(path)
    os.makedirs(path)
    return path


def load_case(case):
    d = os.path.join(GOLDEN, case)
    return {f: np.load(os.path.join(d, f + ".npy")) for f in FIELDS}, json.load(open(os.path.join(d, "meta.json")))


def write_dir(path, fields, meta=None):
    fresh(path)
    for name, a in fields.items():
        np.save(os.path.join(path, name + ".npy"), a)
    if meta is not None:
        with open(os.path.join(path, "meta.json"), "w") as f:
            json.dump(meta, f, indent=1)


def pending_names():
    """The golden families whose issue is open (tests/golden_pending.txt)."""
    names = set()
    with open(os.path.join(ROOT, "tests", "golden_pending.txt")) as f:
        for line in f:
            words = line.split("#")[0].split()
            if words:
                names.add(words[0])
    return names


def pending_results(case_dir, pending):
    """The expected/<label> of a golden case whose family is still pending."""
    out = []
    expected = os.path.join(case_dir, "expected")
    for label in sorted(os.listdir(expected)):
        with open(os.path.join(expected, label, "params.json")) as f:
            params = json.load(f)
        if params.get("loss", params.get("assigner")) in pending:
            out.append(label)
    return out


def copy_golden():
    shutil.copytree(os.path.join(GOLDEN, "coco640-late-g12-objectness"),
                    fresh(os.path.join(OUT, "coco640-late-g12-objectness")), dirs_exist_ok=True)
    golden = fresh(os.path.join(OUT, "golden"))
    pending = pending_names()
    for case in sorted(os.listdir(GOLDEN)):
        src = os.path.join(GOLDEN, case)
        if "toy" not in case or not os.path.isdir(src):
            continue
        skip = pending_results(src, pending)
        if len(skip) == len(os.listdir(os.path.join(src, "expected"))):
            continue  # nothing replayable yet
        shutil.copytree(src, os.path.join(golden, case), ignore=lambda d, names: [
            n for n in names if os.path.basename(d) == "expected" and n in skip])
    for root, dirs, files in os.walk(OUT):  # the shared copy is read-only
        for n in dirs + files:
            os.chmod(os.path.join(root, n), 0o755 if n in dirs else 0o644)


def batches():
    a, meta_a = load_case("toy-two-overlapping-gts")
    b, _ = load_case("toy-gt-edge-on-prior-centres")
    assert a["priors"].shape == b["priors"].shape
    gmax = 2
    gt = np.zeros((2, gmax, 4), np.float32)
    labels = np.zeros((2, gmax), np.int64)
    mask = np.zeros((2, gmax, 1), np.float32)
    for i, img in enumerate([a, b]):
        g = img["gt_bboxes"].shape[0]
        gt[i, :g] = img["gt_bboxes"]
        labels[i, :g] = img["gt_labels"]
        mask[i, :g] = 1
    meta = dict(meta_a, source="testdata: toy-two-overlapping-gts and toy-gt-edge-on-prior-centres stacked as a batch")
    write_dir(os.path.join(OUT, "batch", "stacked-b2"), {
        "priors": a["priors"], "num_level_priors": a["num_level_priors"],
        "cls_scores": np.stack([a["cls_scores"], b["cls_scores"]]),
        "pred_bboxes": np.stack([a["pred_bboxes"], b["pred_bboxes"]]),
        "gt_bboxes": gt, "gt_labels": labels, "pad_gt_mask": mask}, meta)
    dirs = fresh(os.path.join(OUT, "batch", "dirs-b2"))
    write_dir(os.path.join(dirs, "img0-two-overlapping"), a, meta)
    write_dir(os.path.join(dirs, "img1-edge-on-centres"), b, meta)


def containers():
    fields, meta = load_case("toy-two-overlapping-gts")
    c = fresh(os.path.join(OUT, "containers"))
    meta_text = np.array(json.dumps(meta))
    np.savez(os.path.join(c, "stored.npz"), meta=meta_text, **fields)  # numpy writes fixed timestamps
    np.savez_compressed(os.path.join(c, "deflate.npz"), meta=meta_text, **fields)
    with open(os.path.join(c, "dump.json"), "w") as f:
        json.dump({"meta": meta, **{k: v.tolist() for k, v in fields.items()}}, f)
    # Big-endian, Fortran order, float16 logits, int32 labels: the same image.
    odd = {k: v.astype(v.dtype.newbyteorder(">")) for k, v in fields.items()}
    odd["cls_scores"] = np.asfortranarray(fields["cls_scores"].astype(">f8"))
    odd["pred_bboxes"] = np.asfortranarray(fields["pred_bboxes"])
    odd["gt_labels"] = fields["gt_labels"].astype("<i4").reshape(-1, 1)
    write_dir(os.path.join(c, "odd-layouts"), odd, meta)
    # pred_distances instead of pred_bboxes (exactly representable: decoded boxes equal pred_bboxes).
    p = fields["priors"]
    boxes = fields["pred_bboxes"]
    dist = np.stack([p[:, 0] - boxes[:, 0], p[:, 1] - boxes[:, 1], boxes[:, 2] - p[:, 0], boxes[:, 3] - p[:, 1]], 1)
    dist_fields = {k: v for k, v in fields.items() if k != "pred_bboxes"}
    dist_fields["pred_distances"] = dist.astype(np.float32)
    write_dir(os.path.join(c, "distances"), dist_fields, meta)
    # Probabilities instead of logits.
    probs = dict(fields)
    probs["cls_scores"] = (1 / (1 + np.exp(-fields["cls_scores"].astype(np.float64)))).astype(np.float32)
    write_dir(os.path.join(c, "probs"), probs, dict(meta, scores="probs"))
    # An unknown extra field (warned about, not fatal) and no meta.json.
    extra = dict(fields)
    extra["img_ids"] = np.arange(3)
    write_dir(os.path.join(c, "extra-field"), extra)


def npy_bytes(a):
    import io
    buf = io.BytesIO()
    np.save(buf, a)
    return buf.getvalue()



def bad():
    fields, meta = load_case("toy-two-overlapping-gts")
    b = fresh(os.path.join(OUT, "bad"))

    def variant(name, change=None, meta_change=None, raw=None):
        f = {k: v.copy() for k, v in fields.items()}
        m = dict(meta)
        if change:
            change(f)
        if meta_change:
            meta_change(m)
        write_dir(os.path.join(b, name), f, m)
        if raw:
            for fname, data in raw.items():
                with open(os.path.join(b, name, fname), "wb") as out:
                    out.write(data)

    cls = npy_bytes(fields["cls_scores"])
    variant("truncated-npy", raw={"cls_scores.npy": cls[: len(cls) - 100]})
    variant("bad-magic", raw={"priors.npy": b"\x93NUMPX" + npy_bytes(fields["priors"])[6:]})
    header_broken = npy_bytes(fields["priors"]).replace(b"'shape'", b"'shope'")
    variant("bad-header", raw={"priors.npy": header_broken})
    variant("unsupported-dtype", lambda f: f.update(cls_scores=f["cls_scores"].astype(np.complex64)))
    variant("shape-mismatch", lambda f: f.update(cls_scores=f["cls_scores"][:-1]))
    variant("boxes-not-4", lambda f: f.update(gt_bboxes=f["gt_bboxes"][:, :3]))
    variant("labels-count", lambda f: f.update(gt_labels=f["gt_labels"][:1]))
    variant("label-out-of-range", lambda f: f["gt_labels"].__setitem__(1, 3))
    variant("label-negative", lambda f: f["gt_labels"].__setitem__(0, -1))
    variant("label-fractional", lambda f: f.update(gt_labels=np.array([0.0, 1.5], np.float32)))
    variant("nan-logit", lambda f: f["cls_scores"].__setitem__((5, 1), np.nan))
    variant("inf-gt", lambda f: f["gt_bboxes"].__setitem__((1, 2), np.inf))
    variant("inverted-gt", lambda f: f["gt_bboxes"].__setitem__(0, [44.8, 12.6, 10.2, 50.3]))
    variant("zero-stride", lambda f: f["priors"].__setitem__((7, 2), 0.0))
    variant("level-sum", lambda f: f.update(num_level_priors=np.array([64, 15])))
    variant("missing-cls", lambda f: f.pop("cls_scores"))
    variant("meta-version", meta_change=lambda m: m.update(version=2))
    variant("meta-num-classes", meta_change=lambda m: m.update(num_classes=80))
    variant("probs-out-of-range", meta_change=lambda m: m.update(scores="probs"))
    variant("bad-meta-json", raw={"meta.json": b'{"version": 1, "image_size": [64, 64'})
    # Containers.
    with open(os.path.join(b, "bad-json.json"), "w") as f:
        f.write('{"meta": {"version": 1}, "priors": [[0, 0, 8, 8], [8, 0, 8, 8]], "gt_bboxes": [[1, 2, 3')
    with_nan = {k: v.tolist() for k, v in fields.items()}
    with_nan["pred_bboxes"][3][0] = float("nan")  # json.dump writes the token NaN
    with open(os.path.join(b, "nan-token.json"), "w") as f:
        json.dump({"meta": meta, **with_nan}, f)
    ragged = {"meta": meta, **{k: v.tolist() for k, v in fields.items()}}
    ragged["gt_bboxes"][1] = ragged["gt_bboxes"][1][:3]
    with open(os.path.join(b, "ragged.json"), "w") as f:
        json.dump(ragged, f)
    np.savez(os.path.join(b, "truncated.npz"), **fields)
    data = open(os.path.join(b, "truncated.npz"), "rb").read()
    with open(os.path.join(b, "truncated.npz"), "wb") as f:
        f.write(data[: len(data) // 2])
    np.savez(os.path.join(b, "crc.npz"), **fields)
    data = bytearray(open(os.path.join(b, "crc.npz"), "rb").read())
    at = data.find(b"\x93NUMPY") + 200  # a data byte of the first stored member
    data[at] ^= 0xFF
    with open(os.path.join(b, "crc.npz"), "wb") as f:
        f.write(bytes(data))
    with open(os.path.join(b, "not-a-zip.npz"), "wb") as f:
        f.write(b"this is not a zip archive at all" * 4)
    # Batches.
    gt = np.zeros((2, 2, 4), np.float32)
    gt[:, :] = fields["gt_bboxes"]
    write_dir(os.path.join(b, "pad-in-middle"), {
        "priors": fields["priors"], "cls_scores": np.stack([fields["cls_scores"]] * 2),
        "pred_bboxes": np.stack([fields["pred_bboxes"]] * 2), "gt_bboxes": gt,
        "gt_labels": np.stack([fields["gt_labels"]] * 2), "pad_gt_mask": np.array([[1, 1], [0, 1]], np.uint8)}, meta)
    write_dir(os.path.join(b, "batch-b-mismatch"), {
        "priors": fields["priors"], "cls_scores": np.stack([fields["cls_scores"]] * 3),
        "pred_bboxes": np.stack([fields["pred_bboxes"]] * 2), "gt_bboxes": gt,
        "gt_labels": np.stack([fields["gt_labels"]] * 2)}, meta)
    # Sizes and nesting meant to break a reader: wrapping sums, float labels
    # beyond int64, a batch of no images, JSON nested 10^5 deep, a member
    # name holding a newline.
    variant("level-overflow", lambda f: f.update(num_level_priors=np.array([2**63 - 1, 2**63 - 1, 66], np.int64)))
    variant("label-huge-float", lambda f: f.update(gt_labels=np.array([1e30, 0.0])))
    write_dir(os.path.join(b, "batch-zero"), {
        "priors": fields["priors"], "cls_scores": np.zeros((0, 80, 3), np.float32),
        "pred_bboxes": np.zeros((0, 80, 4), np.float32), "gt_bboxes": np.zeros((0, 2, 4), np.float32),
        "gt_labels": np.zeros((0, 2), np.int64)}, meta)
    deep = 100000
    with open(os.path.join(b, "deep-field.json"), "w") as f:
        f.write('{"priors": ' + "[" * deep + "]" * deep + "}")
    with open(os.path.join(b, "deep-meta.json"), "w") as f:
        f.write('{"meta": {"version": ' + "[" * 2 * deep + "]" * 2 * deep + '}, "priors": [[0, 0, 8, 8]]}')
    with zipfile.ZipFile(os.path.join(b, "newline-member.npz"), "w") as z:
        info = zipfile.ZipInfo("evil\nassignscope run: error: fake.npy", date_time=(1980, 1, 1, 0, 0, 0))
        z.writestr(info, npy_bytes(np.array([1.0, 2.0], dtype=np.complex64)))
    fresh(os.path.join(b, "empty-dir"))
    with open(os.path.join(b, "empty-dir", "README"), "w") as f:
        f.write("a directory that holds no dump\n")


def demo_image(gt_bboxes, gt_labels, size=(640, 640)):
    """A synthetic picture for the demo: a plain scene, a textured ellipse inside each GT box.

    Not a photograph: the golden case's tensors come from a synthetic generator
    with no image. Sky above, ground below (smooth gradients); each GT an
    ellipse filling its box, hue from its class (golden-ratio steps round the
    colour wheel), diagonal stripes, a darker rim, largest boxes first so small
    ones stay visible. GTs of one class that nearly coincide (0, 1 and 4) draw
    as one object.
    """
    h, w = size
    y, x = np.mgrid[0:h, 0:w].astype(np.float64) + 0.5
    t = (y / h)[..., None]
    sky, ground = np.array([176.0, 196.0, 214.0]), np.array([128.0, 136.0, 112.0])
    img = np.where(t < 0.55, sky * (1 - 0.3 * t), ground * (1.1 - 0.2 * t))
    order = np.argsort(-(gt_bboxes[:, 2] - gt_bboxes[:, 0]) * (gt_bboxes[:, 3] - gt_bboxes[:, 1]), kind="stable")
    for i in order:
        x1, y1, x2, y2 = (float(v) for v in gt_bboxes[i])
        cx, cy, rx, ry = (x1 + x2) / 2, (y1 + y2) / 2, max((x2 - x1) / 2, 0.5), max((y2 - y1) / 2, 0.5)
        r = np.sqrt(((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2)
        inside = r <= 1
        hue = (int(gt_labels[i]) * 0.618034) % 1.0
        k = (np.array([5.0, 3.0, 1.0]) + hue * 6) % 6  # HSV to RGB, saturation 0.65, value 0.85
        colour = 255 * 0.85 * (1 - 0.65 * np.clip(np.minimum(k, 4 - k), 0, 1))
        stripes = 1 + 0.12 * np.sign(np.sin((x + y) * np.pi / 6))[..., None]
        rim = np.where(r[..., None] > 0.85, 0.6, 1.0)
        img = np.where(inside[..., None], colour * stripes * rim, img)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def demo_with_image():
    """testdata/demo-with-image: the demo case verbatim, plus a synthetic image.png and meta.image."""
    sys.path.insert(0, os.path.join(ROOT, "tools", "python"))
    sys.dont_write_bytecode = True
    from assignscope_dump import encode_png
    out = os.path.join(OUT, "demo-with-image")
    shutil.copytree(os.path.join(GOLDEN, "coco640-late-g12-objectness"), fresh(out), dirs_exist_ok=True)
    with open(os.path.join(out, "meta.json")) as f:
        meta = json.load(f)
    gt = np.load(os.path.join(out, "gt_bboxes.npy"))
    labels = np.load(os.path.join(out, "gt_labels.npy")).reshape(-1)
    with open(os.path.join(out, "image.png"), "wb") as f:
        f.write(encode_png(demo_image(gt, labels, tuple(meta["image_size"]))))
    meta["source"] = ("testdata/demo-with-image: the golden case coco640-late-g12-objectness with a SYNTHETIC "
                      "image (tools/make_testdata.py demo_image: a textured ellipse per GT box, hue by class); "
                      "the tensors were never computed from it")
    meta["image"] = {"file": "image.png", "layout": "hwc", "dtype": "uint8", "channel_order": "rgb",
                     "mean": [0.0, 0.0, 0.0], "std": [1.0, 1.0, 1.0], "scale": 1.0,
                     "source": "synthetic, drawn by tools/make_testdata.py (not a photograph)"}
    with open(os.path.join(out, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)
    for root, dirs, files in os.walk(out):
        for n in dirs + files:
            os.chmod(os.path.join(root, n), 0o755 if n in dirs else 0o644)


if __name__ == "__main__":
    copy_golden()
    demo_with_image()
    batches()
    containers()
    bad()
    print("testdata written under", OUT)
