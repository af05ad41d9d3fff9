#!/usr/bin/python3
"""tools/python/assignscope_dump.py end to end: write dumps, replay them with assignscope.

    /usr/bin/python3 tests/python/test_assignscope_dump.py BUILD/assignscope [SOURCE_DIR]

Needs numpy (Debian's python3-numpy; tools/test.sh installs it). Run by ctest
as the test `python: assignscope_dump.py writes dumps assignscope replays`.
Prints one line per failed check and, last, how many checks ran; exits 1 when
any failed.
"""

import json
import subprocess
import sys
import tempfile
import traceback
import warnings
from pathlib import Path

import numpy as np

if len(sys.argv) not in (2, 3):
    sys.exit(__doc__)
BIN = Path(sys.argv[1]).resolve()
SRC = Path(sys.argv[2] if len(sys.argv) == 3 else Path(__file__).resolve().parents[2]).resolve()
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, str(SRC / "tools" / "python"))
from assignscope_dump import dump  # noqa: E402

checks = 0
failures = []


def check(cond, what):
    global checks
    checks += 1
    if not cond:
        failures.append(what)
        print(f"FAIL: {what}", flush=True)


def run(dump_path, assigner, *extra, expect_rc=0):
    """assignscope run DUMP -a ASSIGNER --format json --include priors; the parsed JSON (or stderr on failure)."""
    cmd = [str(BIN), "run", str(dump_path), "-a", assigner, "--format", "json", "--include", "priors", *extra]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    check(p.returncode == expect_rc,
          f"{' '.join(cmd)}: exit {p.returncode}, expected {expect_rc}; stderr: {p.stderr.strip()[:400]}")
    if p.returncode != 0:
        return p.stderr
    return json.loads(p.stdout)


def raises(exc, fn, *needles, what):
    """fn() raises exc whose message holds every needle."""
    try:
        fn()
    except exc as e:
        msg = str(e)
        check(all(n in msg for n in needles), f"{what}: message {msg!r} lacks one of {needles}")
        return msg
    except Exception as e:  # noqa: BLE001 - a wrong exception type is a failed check
        check(False, f"{what}: raised {type(e).__name__}: {e}, expected {exc.__name__}")
        return None
    check(False, f"{what}: no {exc.__name__} raised")
    return None


def assignment(result):
    """What the assigner decided, per image: the dense arrays and per-GT k, without names or paths."""
    return [{"priors": img["priors"], "dynamic_ks": img.get("dynamic_ks"), "positives": img["positives"],
             "gts": img["gts"], "num_gts": img["num_gts"]} for img in result["images"]]


class FakeTensor:
    """Just what a torch.Tensor offers the helper: detach(), cpu(), numpy(); counts the calls."""
    calls = []

    def __init__(self, array):
        self._array = np.asarray(array)

    def detach(self):
        FakeTensor.calls.append("detach")
        return self

    def cpu(self):
        FakeTensor.calls.append("cpu")
        return self

    def numpy(self):
        FakeTensor.calls.append("numpy")
        return self._array


class ArrayLike:
    """Only __array__, as a jax / cupy-on-host / xarray object would offer."""

    def __init__(self, array):
        self._array = np.asarray(array)

    def __array__(self, dtype=None, copy=None):
        return self._array if dtype is None else self._array.astype(dtype)


# A 16 x 16 image, one level of stride 8, offset 0: priors at (0,0) (8,0) (0,8) (8,8).
# The GT (5, 5, 11, 11), class 1, holds only prior 3's point strictly inside, and
# prior 3 predicts that very box (IoU 1). Dynamic-soft-label's candidates are the
# priors inside some GT, so prior 3 alone; k = max(1, int(1.0)) = 1: prior 3 is the
# one positive, for GT 0 with label 1 and max_overlaps 1.0.
TINY = dict(
    priors=np.array([[0, 0, 8, 8], [8, 0, 8, 8], [0, 8, 8, 8], [8, 8, 8, 8]], np.float32),
    cls_scores=np.array([[-4, -4, -4], [-4, -4, -4], [-4, -4, -4], [-4, 2, -4]], np.float32),
    pred_bboxes=np.array([[-4, -4, 4, 4], [4, -4, 12, 4], [-4, 4, 4, 12], [5, 5, 11, 11]], np.float32),
    gt_bboxes=np.array([[5, 5, 11, 11]], np.float32),
    gt_labels=np.array([1]),
)


def tiny_checks(tmp):
    # One image, a directory dump, from fake tensors.
    FakeTensor.calls.clear()
    d = dump(tmp / "tiny", image_size=(16, 16), source="hand-made tiny scene",
             **{k: FakeTensor(v) for k, v in TINY.items()})
    check(d == tmp / "tiny" and d.is_dir(), f"dump returned {d}, expected the directory {tmp / 'tiny'}")
    check(FakeTensor.calls.count("detach") == 5 and FakeTensor.calls.count("numpy") == 5,
          f"tensors converted through detach().cpu().numpy(): calls {FakeTensor.calls}")
    names = sorted(p.name for p in d.iterdir())
    check(names == ["cls_scores.npy", "gt_bboxes.npy", "gt_labels.npy", "meta.json", "pred_bboxes.npy",
                    "priors.npy"], f"files of the dir dump: {names}")
    meta = json.loads((d / "meta.json").read_text())
    check(meta == {"version": 1, "image_size": [16, 16], "scores": "logits", "source": "hand-made tiny scene"},
          f"meta.json: {meta}")
    check(np.load(d / "gt_labels.npy").dtype == np.int64, "gt_labels stored as int64")
    check(not [p for p in tmp.iterdir() if p.name.startswith(".")], "no temporary file left behind")

    r = run(d, "dynamic-soft-label")
    if isinstance(r, dict):
        img = r["images"][0]
        check(img["priors"]["assigned_gt_inds"] == [0, 0, 0, 1],
              f"tiny scene: assigned_gt_inds {img['priors']['assigned_gt_inds']}, expected [0, 0, 0, 1]")
        check(img["priors"]["assigned_labels"] == [-1, -1, -1, 1],
              f"tiny scene: assigned_labels {img['priors']['assigned_labels']}, expected [-1, -1, -1, 1]")
        check(img["positives"] == [{"prior": 3, "gt": 0, "label": 1, "overlap": 1.0, "level": 0}],
              f"tiny scene: positives {img['positives']}")
        check(img["dynamic_ks"] == [1], f"tiny scene: dynamic_ks {img['dynamic_ks']}, expected [1]")

    # The same scene as an .npz through __array__-only objects and nested lists.
    z = dump(tmp / "tiny.npz", priors=ArrayLike(TINY["priors"]), cls_scores=TINY["cls_scores"].tolist(),
             pred_bboxes=ArrayLike(TINY["pred_bboxes"]), gt_bboxes=TINY["gt_bboxes"].tolist(), gt_labels=[[1]])
    with np.load(z) as f:
        check(sorted(f.files) == ["cls_scores", "gt_bboxes", "gt_labels", "meta", "pred_bboxes", "priors"],
              f"npz members {sorted(f.files)}")
        check(json.loads(str(f["meta"])) == {"version": 1, "scores": "logits"}, f"npz meta {f['meta']}")
        check(f["gt_labels"].shape == (1,), f"[G, 1] labels stored as [G]: {f['gt_labels'].shape}")
    r2 = run(z, "dynamic-soft-label")
    if isinstance(r, dict) and isinstance(r2, dict):
        check(assignment(r) == assignment(r2), "tiny scene: the .npz replays as the directory does")

    # Compressed npz, and simota (which reads objectness when present) on probabilities.
    zc = dump(tmp / "tiny-probs.npz", compress=True, scores="probs", priors=TINY["priors"],
              cls_scores=1 / (1 + np.exp(-TINY["cls_scores"].astype(np.float64))), pred_bboxes=TINY["pred_bboxes"],
              gt_bboxes=TINY["gt_bboxes"], gt_labels=TINY["gt_labels"])
    r3 = run(zc, "simota")
    if isinstance(r3, dict):
        check(r3["images"][0]["priors"]["assigned_gt_inds"][3] == 1,
              f"tiny scene, probs, simota: prior 3 positive: {r3['images'][0]['priors']['assigned_gt_inds']}")

    # A padded batch: image 0 the tiny scene, image 1 two GTs of which one is padding...
    # image 1's real GT (0, 0, 6, 6) holds no prior point strictly inside, so the
    # assigner has no candidate there: no positive, not an error.
    b = dump(tmp / "batch", priors=TINY["priors"],
             cls_scores=np.stack([TINY["cls_scores"], TINY["cls_scores"]]),
             pred_bboxes=np.stack([TINY["pred_bboxes"], TINY["pred_bboxes"]]),
             gt_bboxes=np.array([[[5, 5, 11, 11], [0, 0, 0, 0]], [[1, 1, 6, 6], [0, 0, 0, 0]]], np.float32),
             gt_labels=np.array([[[1], [0]], [[2], [0]]], np.float32),  # mmyolo's float labels [B, Gmax, 1]
             pad_gt_mask=np.array([[[1], [0]], [[1], [0]]], np.float32), num_level_priors=[4])
    check(np.load(b / "pad_gt_mask.npy").dtype == np.uint8, "pad_gt_mask stored as uint8 [B, Gmax]")
    rb = run(b, "dynamic-soft-label")
    if isinstance(rb, dict):
        check(rb["batch"] is True and len(rb["images"]) == 2, f"batch of 2: batch={rb['batch']}")
        check([img["num_gts"] for img in rb["images"]] == [1, 1], "padding dropped: one real GT per image")
        check(rb["images"][0]["priors"]["assigned_gt_inds"] == [0, 0, 0, 1],
              f"batch image 0 = the tiny scene: {rb['images'][0]['priors']['assigned_gt_inds']}")
        check(rb["images"][1]["priors"]["assigned_gt_inds"] == [0, 0, 0, 0],
              f"batch image 1: no prior inside its GT: {rb['images'][1]['priors']['assigned_gt_inds']}")

    # Per-image priors [B, N, 4] and level counts [B, L], into directories that do not exist yet.
    two = lambda x: np.stack([x, x])  # noqa: E731
    b2 = dump(tmp / "new" / "dirs" / "batch", priors=two(TINY["priors"]), num_level_priors=[[4], [4]],
              cls_scores=two(TINY["cls_scores"]), pred_bboxes=two(TINY["pred_bboxes"]),
              gt_bboxes=two(TINY["gt_bboxes"]), gt_labels=[[1], [1]], pad_gt_mask=[[True], [True]])
    rb2 = run(b2, "dynamic-soft-label")
    if isinstance(rb2, dict):
        check([img["priors"]["assigned_gt_inds"] for img in rb2["images"]] == [[0, 0, 0, 1]] * 2,
              "per-image priors: both images are the tiny scene")

    # No GT at all: G = 0 from empty lists.
    e = dump(tmp / "empty-gt", priors=TINY["priors"], cls_scores=TINY["cls_scores"],
             pred_bboxes=TINY["pred_bboxes"], gt_bboxes=[], gt_labels=[])
    check(np.load(e / "gt_bboxes.npy").shape == (0, 4), "empty GT stored as (0, 4)")
    re_ = run(e, "dynamic-soft-label")
    if isinstance(re_, dict):
        check(re_["images"][0]["priors"]["assigned_gt_inds"] == [0, 0, 0, 0], "G = 0: every prior negative")


def load_dump_dir(d):
    fields = {p.stem: np.load(p) for p in sorted(d.glob("*.npy"))}
    meta = json.loads((d / "meta.json").read_text()) if (d / "meta.json").exists() else {}
    return fields, meta


def round_trip_checks(tmp):
    """Existing testdata dumps, loaded with numpy and re-dumped: identical assignments."""
    cases = [
        ("coco640-late-g12-objectness", ["dynamic-soft-label", "simota", "simota.yolox"], "dir"),
        ("batch/stacked-b2", ["dynamic-soft-label", "task-aligned.ultralytics"], "npz"),
        ("containers/probs", ["task-aligned", "dynamic-soft-label"], "dir"),
        ("containers/distances", ["dynamic-soft-label"], "npz"),
        ("golden/toy-anchors-field", ["atss", "max-iou"], "dir"),
    ]
    for case, assigners, fmt in cases:
        src = SRC / "testdata" / case
        fields, meta = load_dump_dir(src)
        out = tmp / ("rt-" + case.replace("/", "-") + (".npz" if fmt == "npz" else ""))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # inverted predicted boxes are legal; the CLI warns too
            dump(out, image_size=meta.get("image_size"), num_classes=meta.get("num_classes"),
                 scores=meta.get("scores", "logits"), source=meta.get("source"), **fields)
        for assigner in assigners:
            a = run(src, assigner)
            b = run(out, assigner)
            if isinstance(a, dict) and isinstance(b, dict):
                same = assignment(a) == assignment(b)
                check(same, f"round trip {case} ({fmt}) with {assigner}: the re-dumped copy replays differently")
                check(sum(img["summary"]["positives"] for img in a["images"]) > 0,
                      f"round trip {case} with {assigner}: no positive at all, a weak comparison")


def golden_checks(tmp):
    """Every ../shared/golden case stored as .npy fields, re-written through dump(): check passes them all."""
    golden = SRC.parent / "shared" / "golden"
    if not golden.is_dir():
        print(f"note: {golden} absent; the golden re-dump checks did not run")
        return
    out = tmp / "golden"
    p = subprocess.run([sys.executable, str(SRC / "tools" / "python" / "redump_golden.py"), str(golden), str(out)],
                       capture_output=True, text=True, timeout=600)
    check(p.returncode == 0, f"redump_golden.py: exit {p.returncode}: {p.stderr.strip()[-400:]}")
    if p.returncode != 0:
        return
    cases = len(p.stdout.split())
    c = subprocess.run([str(BIN), "check", str(out)], capture_output=True, text=True, timeout=600)
    lines = c.stdout.strip().splitlines()
    last = lines[-1] if lines else c.stderr.strip()
    check(f" in {cases} cases:" in last and " 0 differ" in last, f"golden re-dump: {last!r}")
    # The rule of tests/golden_test.cpp: pending families skipped, everything else ok.
    pending = set()
    for line in (SRC / "tests" / "golden_pending.txt").read_text().splitlines():
        words = line.split("#")[0].split()
        if words:
            pending.add(words[0])
    matched_pending = set()
    for line in lines[:-1]:
        verdict = line.split()[0]
        if verdict == "ok":
            label = line.split()[2]
            name = label.split("+")[0]
            if name in pending:
                matched_pending.add(name)
            continue
        quoted = line.split("'")
        name = quoted[1] if verdict == "skip" and len(quoted) >= 3 else None
        check(verdict == "skip" and name in pending, f"golden re-dump: {line}")
    check(not matched_pending, f"golden re-dump: pending names replay now: {sorted(matched_pending)}")


def error_checks(tmp):
    base = dict(TINY)

    def bad(**over):
        args = dict(base)
        args.update(over)
        return lambda: dump(tmp / "bad", **args)

    raises(ValueError, bad(cls_scores=TINY["cls_scores"][:3]), "cls_scores", "(3, 3)", "N = 4",
           what="wrong N in cls_scores")
    raises(ValueError, bad(pred_bboxes=TINY["pred_bboxes"][:, :3]), "pred_bboxes", "(4, 3)", "[N, 4]",
           what="pred_bboxes with 3 columns")
    nan = TINY["cls_scores"].copy()
    nan[2, 1] = np.nan
    raises(ValueError, bad(cls_scores=nan), "cls_scores[2, 1]", "nan", "finite", what="NaN logit")
    raises(ValueError, bad(gt_labels=[3]), "gt_labels[0] is 3", "[0, 3)", "cls_scores", what="label == C")
    raises(ValueError, bad(gt_labels=[-1]), "gt_labels[0] is -1", what="negative label")
    raises(ValueError, bad(gt_labels=[1.5]), "gt_labels[0]", "integer", what="fractional label")
    raises(ValueError, bad(gt_labels=[1, 2]), "gt_labels", "(2,)", "G = 1", what="two labels for one box")
    raises(ValueError, bad(gt_bboxes=[[8, 8, 6, 6]]), "gt_bboxes[0]", "x2 < x1", "(cx, cy, w, h)",
           what="inverted GT box")
    raises(ValueError, bad(priors=np.array([[0, 0, 8, 8]] * 3 + [[8, 8, 0, 8]], np.float32)),
           "priors[3]", "stride must be > 0", what="zero stride")
    raises(ValueError, bad(num_level_priors=[3]), "num_level_priors", "sums to 3", "N = 4",
           what="level counts not summing to N")
    raises(ValueError, bad(scores="probs"), "cls_scores", "[0, 1]", what="logits passed as probs")
    raises(ValueError, bad(scores="softmax"), "scores", "'logits' or 'probs'", what="unknown scores kind")
    raises(ValueError, bad(priors=None), "priors", "anchors", what="no priors nor anchors")
    raises(ValueError, bad(pred_distances=TINY["pred_bboxes"]), "pred_bboxes and pred_distances",
           what="both prediction forms")
    raises(ValueError, bad(num_classes=5), "num_classes is 5", "C = 3", what="num_classes disagreeing with C")
    raises(ValueError, bad(image_size=(16,)), "image_size", "(height, width)", what="one-number image size")
    raises(ValueError, bad(cls_scores=TINY["cls_scores"].astype(np.complex64)), "cls_scores", "complex",
           what="complex dtype")
    raises(ValueError, bad(cls_scores=[[1, 2], [3]]), "cls_scores", what="ragged nested lists")
    raises(ValueError, bad(gt_bboxes=np.array([[[5, 5, 11, 11]]], np.float32), gt_labels=[[1]],
                           cls_scores=TINY["cls_scores"][None], pred_bboxes=TINY["pred_bboxes"][None]),
           "pad_gt_mask", "missing", what="a batch without pad_gt_mask")
    raises(ValueError, bad(gt_bboxes=np.array([[[5, 5, 11, 11], [1, 1, 2, 2]]], np.float32), gt_labels=[[1, 0]],
                           pad_gt_mask=[[0, 1]], cls_scores=TINY["cls_scores"][None],
                           pred_bboxes=TINY["pred_bboxes"][None]),
           "pad_gt_mask[0, 1]", "after padding", what="real box after padding")
    raises(ValueError, bad(gt_bboxes=np.array([[[5, 5, 11, 11]]], np.float32), gt_labels=[[1]], pad_gt_mask=[[1]]),
           "cls_scores", "[B, N, C]", "B = 1", what="batch GT with one-image cls_scores")
    raises(ValueError, bad(fmt="npz"), ".npz", what="npz format for a name without .npz")
    check(not (tmp / "bad").exists() and not [p for p in tmp.iterdir() if p.name.startswith(".")],
          "nothing written by the refused calls")

    # Existing paths: refused, then replaced only when asked, never a foreign directory.
    first = dump(tmp / "exists", **TINY)
    before = sorted((p.name, p.read_bytes()) for p in first.iterdir())
    raises(FileExistsError, lambda: dump(tmp / "exists", **TINY), "exists", "overwrite=True",
           what="existing dump without overwrite")
    check(sorted((p.name, p.read_bytes()) for p in first.iterdir()) == before, "the existing dump is untouched")
    dump(tmp / "exists", overwrite=True, source="second", **TINY)
    check(json.loads((tmp / "exists" / "meta.json").read_text()).get("source") == "second",
          "overwrite=True replaces the dump")
    (tmp / "mine").mkdir()
    (tmp / "mine" / "notes.txt").write_text("my notes")
    raises(FileExistsError, lambda: dump(tmp / "mine", overwrite=True, **TINY), "more than a dump",
           what="overwrite of a directory holding other files")
    check((tmp / "mine" / "notes.txt").read_text() == "my notes", "a foreign directory is never replaced")
    (tmp / "file.npz").write_bytes(b"not mine to lose")
    raises(FileExistsError, lambda: dump(tmp / "file.npz", **TINY), "exists", what="existing npz without overwrite")
    check((tmp / "file.npz").read_bytes() == b"not mine to lose", "the existing file is untouched")
    check(not [p for p in tmp.iterdir() if p.name.startswith(".")], "no temporary file left behind after refusals")

    # NaN written on request is refused by the CLI unless it is told, with exit code 2 and the field named.
    dump(tmp / "nan", allow_nonfinite=True, **dict(TINY, cls_scores=nan))
    err = run(tmp / "nan", "dynamic-soft-label", expect_rc=2)
    check(isinstance(err, str) and "cls_scores[2, 1]" in err, f"CLI names the NaN: {err!r}")
    r = run(tmp / "nan", "dynamic-soft-label", "--allow-nonfinite")
    check(isinstance(r, dict), "--allow-nonfinite replays a dump written with allow_nonfinite=True")


def decode_png(data):
    """Pixels of a PNG as encode_png writes it (8-bit RGB or grey, any of the five row filters): zlib only."""
    import struct
    import zlib
    check(data[:8] == b"\x89PNG\r\n\x1a\n", "PNG signature")
    at, idat, header = 8, b"", None
    while at < len(data):
        (n,) = struct.unpack(">I", data[at:at + 4])
        kind, body = data[at + 4:at + 8], data[at + 8:at + 8 + n]
        (crc,) = struct.unpack(">I", data[at + 8 + n:at + 12 + n])
        check(crc == zlib.crc32(kind + body) & 0xFFFFFFFF, f"PNG chunk {kind!r}: CRC")
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        at += 12 + n
    width, height, depth, color = header[:4]
    check(depth == 8 and color in (0, 2), f"PNG IHDR: depth {depth}, colour type {color}")
    channels = 3 if color == 2 else 1
    raw = np.frombuffer(zlib.decompress(idat), np.uint8).reshape(height, 1 + width * channels)
    out = np.zeros((height, width * channels), np.int64)
    check(set(raw[:, 0].tolist()) <= {0, 2}, f"PNG row filters {set(raw[:, 0].tolist())}: expected None or Up")
    for y in range(height):
        f, row = raw[y, 0], raw[y, 1:].astype(np.int64)
        above = out[y - 1] if y else np.zeros_like(row)
        out[y] = (row + (above if f == 2 else 0)) % 256
    return out.reshape(height, width, channels).squeeze(-1) if channels == 1 else out.reshape(height, width, 3)


def image_checks(tmp):
    # A 16 x 16 picture with a known pixel: uint8 RGB stored as given, and the PNG decodes back to it.
    rgb = np.zeros((16, 16, 3), np.uint8)
    rgb[..., 0] = np.arange(16)[None, :] * 16
    rgb[..., 1] = np.arange(16)[:, None] * 15
    rgb[5, 7] = (200, 100, 50)
    d = dump(tmp / "u8", image_size=(16, 16), image=rgb, image_source="hand-made", **TINY)
    names = sorted(p.name for p in d.iterdir())
    check("image.png" in names, f"image.png beside the fields: {names}")
    back = decode_png((d / "image.png").read_bytes())
    check(back.shape == (16, 16, 3) and np.array_equal(back, rgb), "the PNG round-trips the uint8 pixels")
    meta = json.loads((d / "meta.json").read_text())
    check(meta.get("image") == {"file": "image.png", "layout": "hwc", "dtype": "uint8", "channel_order": "rgb",
                                "mean": [0.0, 0.0, 0.0], "std": [1.0, 1.0, 1.0], "scale": 1.0,
                                "source": "hand-made"}, f"meta.image: {meta.get('image')}")
    r = run(d, "dynamic-soft-label")
    check(isinstance(r, dict), "assignscope runs a dump with an image")
    p = subprocess.run([str(BIN), "run", str(d), "-a", "dynamic-soft-label", "--format", "svg"],
                       capture_output=True, text=True, timeout=300)
    check(p.returncode == 0 and "data:image/png;base64," in p.stdout,
          f"the svg embeds the image: exit {p.returncode}, {p.stderr.strip()[:300]}")
    # image_size taken from the image when not given.
    d = dump(tmp / "nosize", image=rgb, **TINY)
    check(json.loads((d / "meta.json").read_text()).get("image_size") == [16, 16], "image_size from the image")

    # De-normalisation: the inverse of x = (pixel * scale - mean) / std, channel order flipped for BGR.
    mean, std = np.array([103.53, 116.28, 123.675]), np.array([57.375, 57.12, 58.395])  # mmdet's, BGR order
    bgr = rgb[..., ::-1].astype(np.float64)
    x = ((bgr - mean) / std).astype(np.float32).transpose(2, 0, 1)[None]  # [1, 3, H, W] as a tensor holds it
    d = dump(tmp / "norm", image=FakeTensor(x), image_mean=mean, image_std=std, image_channel_order="bgr", **TINY)
    check(np.array_equal(decode_png((d / "image.png").read_bytes()), rgb),
          "mean/std de-normalised, CHW read, BGR flipped to RGB: the original pixels")
    meta = json.loads((d / "meta.json").read_text())["image"]
    check(meta["layout"] == "chw" and meta["channel_order"] == "bgr" and meta["mean"] == [float(v) for v in mean],
          f"meta.image records the de-normalisation: {meta}")
    d = dump(tmp / "unit", image=rgb.astype(np.float32) / 255, image_scale=1 / 255, **TINY)
    check(np.array_equal(decode_png((d / "image.png").read_bytes()), rgb), "0..1 floats with image_scale=1/255")
    d = dump(tmp / "grey.npz", image=rgb[..., 1], **TINY)
    import zipfile
    with zipfile.ZipFile(d) as z:
        check("image.png" in z.namelist(), f"an npz dump holds the member image.png: {z.namelist()}")
        check(np.array_equal(decode_png(z.read("image.png")), rgb[..., 1]), "grey image round-trips")
    check(isinstance(run(d, "dynamic-soft-label"), dict), "assignscope runs an npz with an image member")
    dump(tmp / "u8", image=rgb, overwrite=True, **TINY)  # a dump with its image is a dump: replaced

    # Refusals: one clear ValueError, nothing written.
    raises(ValueError, lambda: dump(tmp / "big", image_size=(16, 16), image=np.zeros((16, 24, 3), np.uint8),
                                    **TINY), "image: 16 x 24", "image_size (16, 16)", what="wrong-size image")
    raises(ValueError, lambda: dump(tmp / "chan", image=np.zeros((16, 16, 4), np.uint8), **TINY),
           "image: shape (16, 16, 4)", what="four channels")
    raises(ValueError, lambda: dump(tmp / "nanimg", image=np.full((16, 16), np.nan), **TINY),
           "image[0, 0] is nan", what="NaN pixel")
    raises(ValueError, lambda: dump(tmp / "order", image=rgb, image_channel_order="rgba", **TINY),
           "image_channel_order", what="bad channel order")
    raises(ValueError, lambda: dump(tmp / "meanlen", image=rgb, image_mean=[1, 2], **TINY),
           "image_mean", what="two means for three channels")
    batch = dict(priors=TINY["priors"], cls_scores=np.stack([TINY["cls_scores"]] * 2),
                 pred_bboxes=np.stack([TINY["pred_bboxes"]] * 2), gt_bboxes=np.stack([TINY["gt_bboxes"]] * 2),
                 gt_labels=np.stack([TINY["gt_labels"]] * 2), pad_gt_mask=np.ones((2, 1)))
    raises(ValueError, lambda: dump(tmp / "batch", image=rgb, **batch), "batch of B = 2", what="image in a batch")
    for name in ("big", "chan", "nanimg", "order", "meanlen", "batch"):
        check(not (tmp / name).exists(), f"{name}: nothing written after the refusal")
    one = {k: (v[:1] if k != "priors" else v) for k, v in batch.items()}
    d = dump(tmp / "batch1", image=rgb, **one)
    check(isinstance(run(d, "dynamic-soft-label"), dict), "a batch of one image takes its image")
    check(not [p for p in tmp.iterdir() if p.name.startswith(".")], "no temporary file left behind")

    # The bundled demo with its synthetic image: 640 x 640, replays as stored, drawn under the svg.
    demo = SRC / "testdata" / "demo-with-image"
    pixels = decode_png((demo / "image.png").read_bytes())
    check(pixels.shape == (640, 640, 3), f"demo image: shape {pixels.shape}")
    check("SYNTHETIC" in json.loads((demo / "meta.json").read_text())["source"], "the demo says its image is synthetic")
    c = subprocess.run([str(BIN), "check", str(demo)], capture_output=True, text=True, timeout=600)
    check(c.returncode == 0, f"assignscope check {demo}: exit {c.returncode}: {c.stderr.strip()[:300]}")
    p = subprocess.run([str(BIN), "run", str(demo), "-a", "simota", "--format", "svg"], capture_output=True, text=True,
                       timeout=300)
    check(p.returncode == 0 and "data:image/png;base64," in p.stdout, f"demo svg embeds its image: {p.stderr[:300]}")


def image_id_checks(tmp):
    """meta={"image_id": ...}: the image's id in its dataset (trend follows its GTs), written as given, else refused."""
    for i, (given, stored) in enumerate([("train2017/000000391895.jpg", "train2017/000000391895.jpg"),
                                         (391895, 391895), (np.int64(42), 42), (np.uint32(0), 0),
                                         ("x" * 1000, "x" * 1000), ("é" * 500, "é" * 500)]):
        d = dump(tmp / f"id{i}", meta={"image_id": given}, **TINY)
        m = json.loads((d / "meta.json").read_text())
        check(m.get("image_id") == stored and type(m.get("image_id")) is type(stored),
              f"image_id {given!r} written as {stored!r}: {m.get('image_id')!r}")
    d = dump(tmp / "id.npz", meta={"image_id": 7}, **TINY)
    m = json.loads(str(np.load(d)["meta"]))
    check(m.get("image_id") == 7, f"image_id in an npz dump's meta: {m}")
    d = dump(tmp / "id-none", meta={"image_id": None}, **TINY)
    check("image_id" not in json.loads((d / "meta.json").read_text()), "image_id None left out")
    for name in ("id0", "id1", "id4", "id5", "id.npz"):  # id4, id5: 1000 characters, 1000 UTF-8 bytes
        r = run(tmp / name, "dynamic-soft-label")
        check(isinstance(r, dict), f"a dump with meta.image_id replays: {name}")
    for bad in ("", "x" * 1001, "é" * 501, "\udc80", -1, np.int64(-3), 2 ** 63, True, np.bool_(False), 1.0, [1],
                {"id": 1}):
        raises(ValueError, lambda: dump(tmp / "bad-id", meta={"image_id": bad}, **TINY), "meta['image_id']",
               "expected", "a non-empty str of at most 1000 characters", "integer", what=f"image_id {bad!r}")
    check(not (tmp / "bad-id").exists(), "nothing written by the refused image ids")


def main():
    if not BIN.is_file():
        sys.exit(f"{BIN}: no such file (the assignscope binary)")
    with tempfile.TemporaryDirectory(prefix="assignscope-py-") as t:
        tmp = Path(t)
        for group in (tiny_checks, round_trip_checks, golden_checks, error_checks, image_checks,
                      image_id_checks):
            sub = tmp / group.__name__
            sub.mkdir()
            try:
                group(sub)
            except Exception:  # noqa: BLE001 - an unexpected exception fails the group, the others still run
                check(False, f"{group.__name__} raised:\n{traceback.format_exc()}")
    print(f"python dump helper: {checks} checks, {checks - len(failures)} passed, {len(failures)} failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
