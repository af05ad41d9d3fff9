"""Write what an assigner saw as an assignscope dump (docs/format.md), from Python.

One public function, :func:`dump`. It needs numpy and nothing else: tensors
are converted with ``.detach().cpu().numpy()`` (anything with ``__array__``,
lists and numbers are accepted too), every field is checked against the dump
format *before* anything is written, and the dump appears atomically (written
under a temporary name, then renamed), so a failed call leaves nothing behind
and a replay never reads a half-written dump.

Example, inside mmdetection's ``RTMDetHead._get_targets_single``, just
before ``self.assigner.assign(...)``::

    from assignscope_dump import dump
    dump(f"dumps/iter{it}_img{i}",
         priors=pred_instances.priors,           # (cx, cy, stride_w, stride_h)
         cls_scores=pred_instances.scores,       # logits
         pred_bboxes=pred_instances.bboxes,      # xyxy, pixels
         gt_bboxes=gt_instances.bboxes, gt_labels=gt_instances.labels,
         image_size=img_meta["img_shape"][:2], source="rtmdet-tiny epoch 12")

then ``assignscope run dumps/iter0_img0 -a dynamic-soft-label``.
docs/integrations.md has the lines for mmyolo, YOLOX and ultralytics, and
``assignscope_hooks.py`` (next to this file) calls this function from the
frameworks' assigners without editing them.

Copy this file next to your training code or put ``tools/python`` on
``PYTHONPATH``; it runs on Python 3.8+ with numpy 1.17+.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import struct
import warnings
import zipfile
import zlib
from pathlib import Path

import numpy as np

__all__ = ["dump", "encode_png"]

FORMAT_VERSION = 1

# Field names, in the order they are written.
_FIELDS = ("priors", "anchors", "num_level_priors", "cls_scores", "objectness", "centerness", "pred_bboxes",
           "pred_distances", "pred_dist", "gt_bboxes", "gt_labels", "gt_centers", "gt_bboxes_ignore", "pad_gt_mask")
# meta.json keys that dump() writes from its own arguments; meta= may not set them.
_OWN_META = ("version", "image_size", "num_classes", "scores", "box_format", "source", "image")
# Keys of the dump-format additions (issue 12) and the JSON type each must have.
_META_TYPES = {"framework": str, "framework_version": str, "device": str, "dtype": str, "assigner": str,
               "preset": str, "branch": str, "autocast": bool, "assigner_params": dict,
               "step": int, "epoch": int, "rank": int, "image_id": "image_id"}
_IMAGE_ID_MAX = 1000  # the loader's limit on a str image_id, in UTF-8 bytes
# Result files a stored result (expected/<label>/) may hold: what each is indexed by, and its kind.
_RESULT_FILES = {"assigned_gt_inds": ("prior", "int"), "assigned_labels": ("prior", "int"),
                 "max_overlaps": ("prior", "float"), "assign_metrics": ("prior", "float"),
                 "assign_metrics_raw": ("prior", "float"), "dynamic_ks": ("gt", "int")}
_LABEL_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._+-")
_FLOAT32_MAX = float(np.finfo(np.float32).max)
_INT_EXACT = 2 ** 53  # assignscope reads integers through doubles in places: beyond this they are refused


def dump(path, *, gt_bboxes, gt_labels, priors=None, anchors=None, cls_scores=None, pred_bboxes=None,
         pred_distances=None, objectness=None, num_level_priors=None, gt_bboxes_ignore=None,
         pad_gt_mask=None, image_size=None, num_classes=None, scores="logits", source=None,
         fmt=None, compress=False, overwrite=False, allow_nonfinite=False, gt_centers=None,
         box_format=None, meta=None, expected=None, unique=False, centerness=None, pred_dist=None,
         image=None, image_mean=None, image_std=None, image_scale=1.0, image_channel_order="rgb",
         image_source=None):
    """Write one assigner call's inputs as an assignscope dump; return its path.

    One image or a padded batch. For one image, per-prior fields are
    ``[N, ...]`` and ground truth ``[G, 4]`` / ``[G]``. For a batch (when
    ``gt_bboxes`` is ``[B, Gmax, 4]``), per-image fields get a leading ``B``
    (``priors``, ``anchors`` and ``num_level_priors`` may stay shared) and
    ``pad_gt_mask`` ``[B, Gmax]`` (or ``[B, Gmax, 1]``) says which GT rows
    are real: 1 real, 0 padding, real rows first, as mmyolo's
    ``pad_bbox_flag`` and ultralytics' ``mask_gt``.

    Arguments (tensors, arrays or nested lists; names as mmdetection's):

    - ``priors`` [N, 4]: point priors ``(cx, cy, stride_w, stride_h)`` in
      input pixels. ``anchors`` [N, 4]: anchor boxes ``(x1, y1, x2, y2)``.
      At least one of the two.
    - ``cls_scores`` [N, C]: class logits (or probabilities with
      ``scores="probs"``). ``objectness`` [N] or [N, 1] (YOLOX).
    - ``pred_bboxes`` [N, 4]: decoded boxes ``(x1, y1, x2, y2)`` in pixels, or
      ``pred_distances`` [N, 4]: ``(l, t, r, b)`` from the prior centre.
    - ``gt_bboxes`` [G, 4] ``(x1, y1, x2, y2)``; ``gt_labels`` [G] or [G, 1],
      integers (or floats holding integers, as mmyolo and ultralytics keep
      them) in ``[0, C)``. ``gt_bboxes_ignore`` [K, 4] (one image only).
    - ``gt_centers`` [G, 2] (batch [B, Gmax, 2]): per-GT centre ``(x, y)`` in
      pixels that the dynamic-soft-label flavours use instead of the box
      centre (mmdetection's ``center_of_mass`` of the GT masks, RTMDet-Ins).
    - ``box_format``: ``"xyxy"`` or ``"cxcywh"``, how ``pred_bboxes``,
      ``gt_bboxes`` and ``gt_bboxes_ignore`` are given (``anchors`` and
      ``priors`` are unaffected). ``"cxcywh"`` stores YOLOX's boxes as it
      holds them, bit for bit. ``None`` (the default) writes no
      ``meta.box_format``, which means ``"xyxy"``.
    - ``num_level_priors`` [L]: priors per pyramid level, summing to N.
    - ``image_size``: ``(height, width)`` of the network input;
      ``num_classes``: C, needed when there are no ``cls_scores``;
      ``scores``: ``"logits"`` or ``"probs"``; ``source``: free text.
    - ``fmt``: ``"dir"`` (a directory of ``.npy`` files and ``meta.json``)
      or ``"npz"`` (one archive); by default ``"npz"`` when ``path`` ends in
      ``.npz``, else ``"dir"``. ``compress``: deflate the ``.npz``.
    - ``overwrite``: replace an existing dump at ``path`` (never anything
      else: a directory holding files other than a dump's is refused).
      Missing parent directories are created.
    - ``unique``: when ``path`` exists, write to the first free name among
      ``<name>-2``, ``<name>-3``, ... (before the extension) instead of
      raising; for a training loop that must never stop on a name taken by an
      earlier run. The path written is returned.
    - ``allow_nonfinite``: write NaN / Inf values instead of refusing them
      (replay them with ``assignscope run --allow-nonfinite``).
    - ``meta``: more ``meta.json`` keys, a dict: ``framework``,
      ``framework_version``, ``device``, ``dtype``, ``assigner``, ``preset``,
      ``branch`` (str), ``autocast`` (bool), ``assigner_params`` (dict),
      ``step``, ``epoch``, ``rank`` (integers >= 0), ``image_id`` (the
      image's id in its dataset, written as given: a str of 1 to 1000
      characters, e.g. its file path, or an integer >= 0, e.g. COCO's
      ``img_id``; ``assignscope trend`` follows its GTs across steps), or any
      other key with a JSON value. The keys dump() writes itself (``version``,
      ``image_size``, ``num_classes``, ``scores``, ``box_format``,
      ``source``) are set through their arguments, not here.
    - ``expected``: stored results to write inside the dump, as
      ``expected/<label>/`` (what ``assignscope check DUMP`` replays; a
      directory dump only). A dict ``{label: entry}``; each entry a dict with
      ``assigner`` (the registry name that replays it), ``results`` (a dict
      ``{name: array}``, names from ``assigned_gt_inds``, ``assigned_labels``,
      ``max_overlaps``, ``assign_metrics``, ``assign_metrics_raw``,
      ``dynamic_ks``; ``assigned_gt_inds`` required; per-prior arrays [N] or
      [B, N], ``dynamic_ks`` [G] or [B, Gmax]) and any other JSON keys for
      ``params.json`` (``params``, ``reference``, ...); ``files`` is filled
      in. Integer results are stored as int64, float ones as float32, as the
      golden cases store them. The dump and its results appear together.
    - ``image``: the network input as the assigner saw it (after
      augmentation), stored as ``image.png`` beside the fields (an 8-bit RGB
      or grey PNG written with numpy and zlib), so that ``assignscope run
      --format svg`` draws the assignment over it. ``[H, W, 3]``,
      ``[H, W]`` (grey) or ``[H, W, 1]``; ``[3, H, W]`` / ``[1, H, W]``
      (CHW, as a tensor holds it) is accepted when unambiguous, i.e. the
      last dimension is not 1 or 3; a leading batch dimension of 1 is
      dropped. One image only: a batch dump of B > 1 images is refused (the
      loader reads an image only in a one-image dump; write a directory of
      one-image dumps). uint8 pixels are stored as they are; float (or
      other integer) values are de-normalised as
      ``pixel = (x * image_std + image_mean) / image_scale``, rounded and
      clipped to [0, 255]: the inverse of ``x = (pixel * scale - mean) / std``.
      ``image_mean`` / ``image_std`` (a number or one per channel, in the
      order of the input's channels; default 0 and 1) and ``image_scale``
      (default 1): mmdetection's ``DetDataPreprocessor`` is ``mean``,
      ``std``, scale 1; ultralytics' 0..1 floats are ``image_scale=1/255``;
      YOLOX's 0..255 floats need nothing. ``image_channel_order``: ``"rgb"``
      or ``"bgr"``, the order of the input's channels (``"bgr"`` is flipped
      to RGB for the PNG). ``image_source``: free text saying where the
      image came from. Its height and width must equal ``image_size``; when
      ``image_size`` is not given it is taken from the image. How it was
      de-normalised is written to ``meta.image``. Cost: 640 x 640 RGB is
      1.2 MB raw, ~0.3 - 1 MB as PNG, and ~40 ms to encode.

    Floating dtypes are kept as they are (float16 AMP logits stay exact);
    integer data in float fields is stored as float32, labels as int64.

    Raises ``ValueError`` naming the field, the element and what was expected
    when an input (the image too) does not fit the format (nothing is written then), and
    ``FileExistsError`` when ``path`` exists and neither ``overwrite`` nor
    ``unique`` is set.

    >>> import numpy as np
    >>> p = dump("/tmp/assignscope-doctest.npz", overwrite=True,
    ...          priors=[[4, 4, 8, 8], [12, 4, 8, 8]], cls_scores=np.zeros((2, 3)),
    ...          pred_bboxes=[[0, 0, 8, 8], [8, 0, 16, 8]],
    ...          gt_bboxes=[[1, 1, 9, 9]], gt_labels=[2], image_size=(8, 16))
    >>> sorted(np.load(p).files)[:3]
    ['cls_scores', 'gt_bboxes', 'gt_labels']
    """
    target = Path(os.fspath(path))
    if fmt is None:
        fmt = "npz" if target.suffix == ".npz" else "dir"
    if fmt not in ("dir", "npz"):
        raise ValueError(f"fmt is {fmt!r}; expected 'dir' or 'npz'")
    if fmt == "npz" and target.suffix != ".npz":
        raise ValueError(f"path {str(target)!r}: an npz dump's name must end in .npz (assignscope reads the "
                         f"container from the extension)")
    if fmt == "dir" and target.suffix in (".npz", ".json", ".npy"):
        raise ValueError(f"path {str(target)!r}: a directory dump's name must not end in {target.suffix}")

    if box_format not in (None, "xyxy", "cxcywh"):
        raise ValueError(f"box_format is {box_format!r}; expected 'xyxy' or 'cxcywh' (or None: xyxy, not written)")
    fields = _check(dict(priors=priors, anchors=anchors, num_level_priors=num_level_priors,
                         cls_scores=cls_scores, objectness=objectness, centerness=centerness,
                         pred_bboxes=pred_bboxes, pred_distances=pred_distances, pred_dist=pred_dist,
                         gt_bboxes=gt_bboxes, gt_labels=gt_labels,
                         gt_centers=gt_centers, gt_bboxes_ignore=gt_bboxes_ignore, pad_gt_mask=pad_gt_mask),
                    scores=scores, num_classes=num_classes, allow_nonfinite=allow_nonfinite,
                    box_format=box_format or "xyxy")
    png = None
    if image is not None:
        gt_shape = fields["gt_bboxes"].shape
        if len(gt_shape) == 3 and gt_shape[0] != 1:
            raise ValueError(f"image: given for a batch of B = {gt_shape[0]} images (gt_bboxes "
                             f"{_shape(fields['gt_bboxes'])}); an image belongs to a one-image dump (write a "
                             f"directory of one-image dumps, each with its image)")
        pixels, image_meta = _image_pixels(image, image_mean, image_std, image_scale, image_channel_order,
                                           image_source)
        if image_size is None:
            image_size = pixels.shape[:2]
        else:
            size = _to_numpy("image_size", image_size).reshape(-1)
            if size.shape == (2,) and tuple(int(v) for v in size) != pixels.shape[:2]:
                raise ValueError(f"image: {pixels.shape[0]} x {pixels.shape[1]} pixels (height x width); expected "
                                 f"image_size ({int(size[0])}, {int(size[1])}), the input the assigner saw")
        png = encode_png(pixels)
    meta_json = _meta(image_size, num_classes, scores, source, box_format, meta)
    if png is not None:
        meta_json["image"] = image_meta
    results = None
    if expected is not None:
        if fmt != "dir":
            raise ValueError("expected: stored results live in a directory dump (<dump>/expected/<label>/); "
                             "pass fmt='dir' and a path without .npz")
        results = _check_expected(expected, fields, num_classes)

    if unique and overwrite:
        raise ValueError("unique=True and overwrite=True: pick one (a free name, or replace the dump at path)")
    if unique:
        target = _free_name(target)
    _check_target(target, fmt, overwrite)
    if fmt == "npz":
        _write_npz(target, fields, meta_json, compress, png)
    else:
        _write_dir(target, fields, meta_json, results, png)
    return target


# --- the image ------------------------------------------------------------------

def _image_pixels(image, mean, std, scale, channel_order, source):
    """The image as uint8 [H, W, 3] RGB or [H, W] grey, and meta.image saying how it was made."""
    x = _to_numpy("image", image)
    if channel_order not in ("rgb", "bgr"):
        raise ValueError(f"image_channel_order is {channel_order!r}; expected 'rgb' or 'bgr'")
    if source is not None and not isinstance(source, str):
        raise ValueError(f"image_source is {type(source).__name__}; expected free text (a str)")
    if x.ndim == 4 and x.shape[0] == 1:
        x = x[0]
    layout = "hwc"
    if x.ndim == 3 and x.shape[-1] not in (1, 3) and x.shape[0] in (1, 3):
        x = np.moveaxis(x, 0, -1)
        layout = "chw"
    if x.ndim == 3 and x.shape[-1] == 1:
        x = x[..., 0]
    if not (x.ndim == 2 or (x.ndim == 3 and x.shape[-1] == 3)) or 0 in x.shape:
        raise ValueError(f"image: shape {_shape(_to_numpy('image', image))} but expected [H, W, 3], [H, W] or "
                         f"[3, H, W] (CHW when the last dimension is not 1 or 3), H and W >= 1")
    if x.dtype.kind not in "uifb":
        raise ValueError(f"image: dtype {x.dtype} but expected uint8 pixels or real values to de-normalise")
    channels = 1 if x.ndim == 2 else 3

    def per_channel(name, value, default):
        if value is None:
            return np.full(channels, default, np.float64)
        v = _to_numpy(name, value).astype(np.float64).reshape(-1)
        if v.size == 1:
            v = np.repeat(v, channels)
        if v.shape != (channels,) or not np.isfinite(v).all():
            raise ValueError(f"{name} is {value!r}; expected a finite number or {channels} (one per channel, in the "
                             f"input's channel order)")
        return v

    m = per_channel("image_mean", mean, 0.0)
    s = per_channel("image_std", std, 1.0)
    if isinstance(scale, bool) or not isinstance(scale, (int, float, np.integer, np.floating)) \
            or not np.isfinite(scale) or scale <= 0:
        raise ValueError(f"image_scale is {scale!r}; expected a positive number (1/255 for 0..1 inputs)")
    if (s == 0).any():
        raise ValueError(f"image_std is {std!r}; expected no zero")
    plain = mean is None and std is None and float(scale) == 1.0
    if x.dtype == np.uint8 and plain:
        pixels = x
    else:
        v = x.astype(np.float64)
        if not np.isfinite(v).all():
            at = np.argwhere(~np.isfinite(v))[0]
            raise ValueError(f"image{_index(at)} is {v[tuple(at)]}; expected finite values")
        pixels = np.clip(np.rint((v * s + m) / float(scale)), 0, 255).astype(np.uint8)
    if channels == 3 and channel_order == "bgr":
        pixels = pixels[..., ::-1]
    record = {"file": "image.png", "layout": layout, "dtype": str(x.dtype), "channel_order": channel_order,
              "mean": [float(v) for v in m], "std": [float(v) for v in s], "scale": float(scale)}
    if source is not None:
        record["source"] = source
    return np.ascontiguousarray(pixels), record


def _png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def encode_png(pixels, level=6):
    """PNG bytes of uint8 pixels, [H, W, 3] (RGB) or [H, W] (grey): numpy and zlib only.

    Each row is written with PNG's "Up" filter (type 2: the byte minus the
    byte above, modulo 256), which numpy computes for the whole image at
    once and which deflate compresses well on photographs.
    """
    a = np.ascontiguousarray(pixels, dtype=np.uint8)
    if a.ndim == 2:
        color = 0
        rows = a
    elif a.ndim == 3 and a.shape[2] == 3:
        color = 2
        rows = a.reshape(a.shape[0], -1)
    else:
        raise ValueError(f"pixels: shape {a.shape}; expected [H, W, 3] or [H, W] uint8")
    height, width = a.shape[:2]
    up = rows.copy()
    up[1:] -= rows[:-1]  # uint8 arithmetic wraps modulo 256, as the filter wants
    raw = np.concatenate([np.full((height, 1), 2, np.uint8), up], axis=1)
    header = struct.pack(">IIBBBBB", width, height, 8, color, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header)
            + _png_chunk(b"IDAT", zlib.compress(raw.tobytes(), level)) + _png_chunk(b"IEND", b""))


# --- conversion ---------------------------------------------------------------

def _to_numpy(name, value):
    """A tensor, an array-like or nested lists as a numpy array (no copy when possible)."""
    if value is None:
        return None
    x = value
    if hasattr(x, "detach") and callable(x.detach):  # torch.Tensor (and look-alikes)
        x = x.detach()
        if "bfloat16" in str(getattr(x, "dtype", "")):  # numpy has no bfloat16
            x = x.float()
    if hasattr(x, "cpu") and callable(x.cpu):
        x = x.cpu()
    if hasattr(x, "numpy") and callable(x.numpy) and not isinstance(x, np.ndarray):
        x = x.numpy()
    try:
        arr = np.asarray(x)
    except (ValueError, TypeError) as e:  # ragged nested lists, unconvertible objects
        raise ValueError(f"{name}: cannot be read as an array ({e}); expected a tensor, an array or "
                         f"nested lists of numbers") from None
    if arr.dtype == object:
        raise ValueError(f"{name}: holds Python objects (ragged lists?); expected a rectangular array of numbers")
    return arr


def _shape(a):
    return "(" + ", ".join(str(d) for d in a.shape) + ("," if a.ndim == 1 else "") + ")"


def _index(idx):
    return "[" + ", ".join(str(int(i)) for i in idx) + "]"


def _as_float(name, a):
    """Real-valued data for a float field: float16/32/64 kept, integers to float32."""
    if a.dtype.kind == "f" and a.dtype.itemsize in (2, 4, 8):
        return a
    if a.dtype.kind in "iu":
        return a.astype(np.float32)
    raise ValueError(f"{name}: dtype {a.dtype} but expected a float (or integer) array")


def _as_int(name, a, what):
    """Integer data: integer dtypes, bools, or floats that hold integers; returned as int64."""
    if a.dtype.kind == "b":
        return a.astype(np.int64)
    if a.dtype.kind in "iu":
        if a.size and a.dtype.kind == "u" and a.dtype.itemsize == 8 and int(a.max()) >= _INT_EXACT:
            bad = np.argwhere(a >= _INT_EXACT)[0]
            raise ValueError(f"{name}{_index(bad)} is {a[tuple(bad)]}; expected {what}")
        return a.astype(np.int64)
    if a.dtype.kind == "f":
        if a.size:
            bad = ~np.isfinite(a) | (np.floor(a) != a) | (np.abs(a) >= _INT_EXACT)
            if bad.any():
                at = np.argwhere(bad)[0]
                raise ValueError(f"{name}{_index(at)} is {a[tuple(at)]!r}; expected {what} (an integer value)")
        return a.astype(np.int64)
    raise ValueError(f"{name}: dtype {a.dtype} but expected integers ({what})")


# --- validation ---------------------------------------------------------------

def _check(raw, *, scores, num_classes, allow_nonfinite, box_format="xyxy"):
    """Every field converted and checked; the dict of arrays to write."""
    a = {name: _to_numpy(name, v) for name, v in raw.items()}
    if scores not in ("logits", "probs"):
        raise ValueError(f"scores is {scores!r}; expected 'logits' or 'probs'")
    if num_classes is not None:
        if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) or num_classes <= 0:
            raise ValueError(f"num_classes is {num_classes!r}; expected a positive integer")
        num_classes = int(num_classes)

    for name in ("priors", "anchors", "cls_scores", "objectness", "centerness", "pred_bboxes", "pred_distances",
                 "pred_dist", "gt_bboxes", "gt_centers", "gt_bboxes_ignore"):
        if a[name] is not None:
            a[name] = _as_float(name, a[name])

    if a["gt_bboxes"] is None or a["gt_labels"] is None:
        raise ValueError("gt_bboxes and gt_labels are required (pass empty arrays for an image without GT)")
    if a["priors"] is None and a["anchors"] is None:
        raise ValueError("priors: missing; expected priors [N, 4] (cx, cy, stride_w, stride_h) "
                         "or anchors [N, 4] (x1, y1, x2, y2)")
    if a["pred_bboxes"] is not None and a["pred_distances"] is not None:
        raise ValueError("pred_bboxes and pred_distances are both given; expected one of them")

    gt = a["gt_bboxes"]
    if gt.ndim == 1 and gt.size == 0:  # an empty list: an image without GT
        gt = a["gt_bboxes"] = gt.reshape(0, 4).astype(np.float32)
    if gt.ndim not in (2, 3) or gt.shape[-1] != 4:
        raise ValueError(f"gt_bboxes: shape {_shape(gt)} but expected [G, 4] (one image) or [B, Gmax, 4] (a batch)")
    batch = gt.ndim == 3
    lead = gt.shape[:1] if batch else ()  # (B,) or ()
    num_images = gt.shape[0] if batch else 1
    if batch and num_images == 0:
        raise ValueError("gt_bboxes: shape (0, Gmax, 4) is a batch of no image; expected B >= 1")
    g = gt.shape[-2]

    # Per-prior fields: N from the first one given; shared ones may drop the batch dimension.
    n = None
    n_from = None

    def per_prior(name, cols, shareable):
        """Checks [N, cols] (cols None: [N]; "C": any), with a leading B in a batch unless shared."""
        nonlocal n, n_from
        x = a[name]
        if x is None:
            return
        trailing = 1 if cols is None else 2
        allowed = []  # leading dimensions this field may have
        if batch:
            allowed.append(lead)
        if shareable or not batch:
            allowed.append(())
        fits = [p for p in allowed if x.ndim == len(p) + trailing and x.shape[:len(p)] == p and
                (cols in (None, "C") or x.shape[-1] == cols)]
        if not fits:
            want = "N" if cols is None else f"N, {cols}"
            options = " or ".join(f"[B, {want}]" if p else f"[{want}]" for p in allowed)
            raise ValueError(f"{name}: shape {_shape(x)} but expected {options}"
                             + (f" (B = {num_images} from gt_bboxes)" if batch else ""))
        rows = x.shape[len(fits[0])]
        if n is None:
            n, n_from = rows, name
        elif rows != n:
            raise ValueError(f"{name}: shape {_shape(x)} but expected N = {n} rows (from {n_from})")

    # objectness, centerness [.., N, 1] -> [.., N]
    for name in ("objectness", "centerness"):
        if a[name] is not None and a[name].ndim >= 2 and a[name].shape[-1] == 1:
            a[name] = a[name].reshape(a[name].shape[:-1])
    per_prior("priors", 4, True)
    per_prior("anchors", 4, True)
    per_prior("cls_scores", "C", False)
    per_prior("objectness", None, False)
    per_prior("centerness", None, False)
    per_prior("pred_dist", "C", False)
    if a["pred_dist"] is not None and (a["pred_dist"].shape[-1] == 0 or a["pred_dist"].shape[-1] % 4):
        raise ValueError(f"pred_dist: shape {_shape(a['pred_dist'])} but expected [N, 4 * reg_max] "
                         f"(a positive multiple of 4 columns)")
    per_prior("pred_bboxes", 4, False)
    per_prior("pred_distances", 4, False)

    c = a["cls_scores"].shape[-1] if a["cls_scores"] is not None else None
    if c is not None and c == 0:
        raise ValueError(f"cls_scores: shape {_shape(a['cls_scores'])} has no class column; expected C >= 1")
    # C + 1 columns with num_classes = C: a softmax head's scores whose last
    # column is "no object" (DETR's CrossEntropyLoss head, ClassificationCost).
    if c is not None and num_classes is not None and c not in (num_classes, num_classes + 1):
        raise ValueError(f"num_classes is {num_classes} but cls_scores has C = {c} columns; expected C, or C + 1 "
                         f"for a softmax head with a last 'no object' column")
    classes = num_classes if (c is not None and num_classes is not None) else (c if c is not None else num_classes)

    # Levels.
    if a["num_level_priors"] is not None:
        nl = a["num_level_priors"]
        if nl.ndim == 0:
            nl = nl.reshape(1)
        if not (nl.ndim == 1 or (batch and nl.ndim == 2 and nl.shape[0] == num_images)):
            raise ValueError(f"num_level_priors: shape {_shape(nl)} but expected [L]"
                             + (" or [B, L]" if batch else ""))
        nl = a["num_level_priors"] = _as_int("num_level_priors", nl, "a count of priors >= 0")
        if (nl < 0).any():
            at = np.argwhere(nl < 0)[0]
            raise ValueError(f"num_level_priors{_index(at)} is {nl[tuple(at)]}; expected a count of priors >= 0")
        sums = nl.sum(axis=-1).reshape(-1)
        if n is not None and (sums != n).any():
            raise ValueError(f"num_level_priors: sums to {int(sums[sums != n][0])} but expected N = {n} "
                             f"(rows of {n_from})")

    # Ground truth.
    labels = a["gt_labels"]
    if labels.ndim == gt.ndim and labels.shape[-1:] == (1,):
        labels = labels.reshape(labels.shape[:-1])
    if labels.size == 0 and g == 0 and labels.ndim == 1 and not batch:
        labels = labels.reshape(0)
    if labels.shape != gt.shape[:-1]:
        want = "[B, Gmax] or [B, Gmax, 1]" if batch else "[G] or [G, 1]"
        raise ValueError(f"gt_labels: shape {_shape(a['gt_labels'])} but expected {want} "
                         f"(G{'max' if batch else ''} = {g} from gt_bboxes {_shape(gt)})")
    labels = a["gt_labels"] = _as_int("gt_labels", labels, f"a class index in [0, {classes if classes else 'C'})")

    real = np.ones(labels.shape, dtype=bool)
    if batch:
        m = a["pad_gt_mask"]
        if m is None:
            raise ValueError("pad_gt_mask: missing; a batch needs it, [B, Gmax]: 1 for a real box, 0 for padding "
                             "(mmyolo's pad_bbox_flag, ultralytics' mask_gt; gt_bboxes.sum(-1) > 0 rebuilds it)")
        if m.ndim == 3 and m.shape[-1] == 1:
            m = m.reshape(m.shape[:-1])
        if m.shape != labels.shape:
            raise ValueError(f"pad_gt_mask: shape {_shape(a['pad_gt_mask'])} but expected [B, Gmax] or "
                             f"[B, Gmax, 1] = ({num_images}, {g}) from gt_bboxes")
        m = _as_int("pad_gt_mask", m, "1 (a real box) or 0 (padding)")
        bad = (m != 0) & (m != 1)
        if bad.any():
            at = np.argwhere(bad)[0]
            raise ValueError(f"pad_gt_mask{_index(at)} is {m[tuple(at)]}; expected 1 (a real box) or 0 (padding)")
        after_pad = (m[:, 1:] == 1) & (np.cumsum(m == 0, axis=1)[:, :-1] > 0)
        if after_pad.any():
            b, j = np.argwhere(after_pad)[0]
            raise ValueError(f"pad_gt_mask[{b}, {j + 1}] marks a real box after padding; expected real boxes first "
                             f"and padding at the end, as mmyolo pads")
        a["pad_gt_mask"] = m.astype(np.uint8)
        real = m == 1
    elif a["pad_gt_mask"] is not None:
        raise ValueError(f"pad_gt_mask: given for one image (gt_bboxes {_shape(gt)}); it belongs to a batch, "
                         f"[B, Gmax] with gt_bboxes [B, Gmax, 4]. Pass only the real boxes of one image")

    if labels.size:
        low = np.where(real, 0, -(classes or 0))  # padding rows may hold -C..C-1 (torch indexing)
        bad = labels < low
        if classes is not None:
            bad |= labels >= classes
        if bad.any():
            at = tuple(np.argwhere(bad)[0])
            expected = f"[0, {classes})" if classes is not None else "[0, C)"
            origin = " (C from cls_scores)" if c is not None else (" (C from num_classes)" if classes else "")
            pad = " (a padding row: [-C, C))" if not real[at] else ""
            raise ValueError(f"gt_labels{_index(at)} is {labels[at]}; expected a class index in {expected}"
                             f"{origin}{pad}")

    if a["gt_centers"] is not None:
        gc = a["gt_centers"]
        if gc.ndim == 1 and gc.size == 0 and g == 0 and not batch:
            gc = a["gt_centers"] = gc.reshape(0, 2)
        if gc.shape != gt.shape[:-1] + (2,):
            want = "[B, Gmax, 2]" if batch else "[G, 2]"
            raise ValueError(f"gt_centers: shape {_shape(gc)} but expected {want} "
                             f"(G{'max' if batch else ''} = {g} from gt_bboxes {_shape(gt)}): one (x, y) per GT")

    if a["gt_bboxes_ignore"] is not None:
        ig = a["gt_bboxes_ignore"]
        if batch:
            raise ValueError("gt_bboxes_ignore: not supported in a stacked batch; dump each image on its own "
                             "(a directory of one-image dumps is a batch too)")
        if ig.ndim == 1 and ig.size == 0:
            ig = a["gt_bboxes_ignore"] = ig.reshape(0, 4)
        if ig.ndim != 2 or ig.shape[1] != 4:
            raise ValueError(f"gt_bboxes_ignore: shape {_shape(ig)} but expected [K, 4]")

    # Values: finiteness, ranges, box orientation.
    for name in ("priors", "anchors", "cls_scores", "objectness", "centerness", "pred_bboxes", "pred_distances",
                 "pred_dist", "gt_bboxes", "gt_centers", "gt_bboxes_ignore"):
        x = a[name]
        if x is None or x.size == 0:
            continue
        if name in ("gt_bboxes", "gt_centers") and batch:
            x = np.where(real[..., None], x, 0)  # padding rows are never read
        if x.dtype.itemsize == 8:
            big = np.isfinite(x) & (np.abs(x) > _FLOAT32_MAX)
            if big.any():
                at = np.argwhere(big)[0]
                raise ValueError(f"{name}{_index(at)} is {x[tuple(at)]!r}; expected a value in float32 range "
                                 f"(assignscope computes in float32, as the references do)")
        if not allow_nonfinite:
            bad = ~np.isfinite(x)
            if bad.any():
                at = np.argwhere(bad)[0]
                raise ValueError(f"{name}{_index(at)} is {x[tuple(at)]}; expected finite values "
                                 f"(pass allow_nonfinite=True to write it anyway)")
    if scores == "probs":
        for name in ("cls_scores", "objectness"):
            x = a[name]
            if x is not None and x.size:
                bad = (x < 0) | (x > 1)
                if bad.any():
                    at = np.argwhere(bad)[0]
                    raise ValueError(f"{name}{_index(at)} is {x[tuple(at)]}; scores='probs', expected values in "
                                     f"[0, 1] (pass scores='logits' for logits)")

    pri = a["priors"]
    if pri is not None and pri.size:
        strides = pri[..., 2:4]
        strideless = bool((strides == 0).all())  # DETR-style queries: accepted for hungarian only
        if not strideless:
            bad = ~(strides > 0) & np.isfinite(strides)
            if bad.any():
                at = np.argwhere(bad)[0]
                row = tuple(at[:-1])
                raise ValueError(f"priors{_index(row)} = {tuple(float(v) for v in pri[row])}: stride must be > 0; "
                                 f"expected priors as (cx, cy, stride_w, stride_h)")

    cxcywh = box_format == "cxcywh"
    for name in ("gt_bboxes", "gt_bboxes_ignore", "anchors"):
        x = a[name]
        if x is None or x.size == 0:
            continue
        if cxcywh and name != "anchors":  # (cx, cy, w, h): sizes must not be negative
            inverted = (x[..., 2] < 0) | (x[..., 3] < 0)
        else:
            inverted = (x[..., 2] < x[..., 0]) | (x[..., 3] < x[..., 1])
        if name == "gt_bboxes":
            inverted &= real
        if inverted.any():
            at = tuple(np.argwhere(inverted)[0])
            box = ", ".join(f"{float(v):.6g}" for v in x[at])
            if cxcywh and name != "anchors":
                raise ValueError(f"{name}{_index(at)} = ({box}) has w < 0 or h < 0 ({int(inverted.sum())} such "
                                 f"rows); expected (cx, cy, w, h) boxes (box_format='cxcywh'): is this "
                                 f"(x1, y1, x2, y2)?")
            raise ValueError(f"{name}{_index(at)} = ({box}) has x2 < x1 or y2 < y1 ({int(inverted.sum())} such rows); "
                             f"expected (x1, y1, x2, y2) boxes: is this (cx, cy, w, h) or (x, y, w, h)?")
    x = a["pred_bboxes"]
    if x is not None and x.size:
        if cxcywh:
            inverted = (x[..., 2] < 0) | (x[..., 3] < 0)
            what = "w < 0 or h < 0"
        else:
            inverted = (x[..., 2] < x[..., 0]) | (x[..., 3] < x[..., 1])
            what = "x2 < x1 or y2 < y1"
        if inverted.any():
            warnings.warn(f"pred_bboxes: {int(inverted.sum())} boxes have {what} (legal for an "
                          f"untrained head; the references process them as they are)", stacklevel=3)

    return {name: a[name] for name in _FIELDS if a[name] is not None}


def _meta(image_size, num_classes, scores, source, box_format=None, extra=None):
    meta = {"version": FORMAT_VERSION}
    if image_size is not None:
        size = _to_numpy("image_size", image_size).reshape(-1)
        if size.shape != (2,) or size.dtype.kind not in "iuf" or not np.isfinite(size).all() \
                or (size <= 0).any() or (np.floor(size) != size).any():
            raise ValueError(f"image_size is {image_size!r}; expected (height, width) of the network input, two "
                             f"positive integers (mmdet: img_meta['img_shape'][:2])")
        meta["image_size"] = [int(v) for v in size]
    if num_classes is not None:
        meta["num_classes"] = int(num_classes)
    meta["scores"] = scores
    if box_format is not None:
        meta["box_format"] = box_format
    if source is not None:
        if not isinstance(source, str):
            raise ValueError(f"source is {type(source).__name__}; expected free text (a str)")
        meta["source"] = source
    if extra is not None:
        meta.update(_check_meta(extra))
    return meta


def _json_value(what, value):
    """value as it will be stored in JSON; ValueError naming `what` when JSON cannot hold it."""
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{what} is {value!r}; expected a JSON value (str, number, bool, None, list, dict with "
                         f"str keys; finite numbers) ({e})") from None
    return value


def _check_meta(extra):
    """The extra meta.json keys, checked: reserved keys refused, the contract's keys typed, all JSON."""
    if not isinstance(extra, dict):
        raise ValueError(f"meta is {type(extra).__name__}; expected a dict of meta.json keys")
    out = {}
    for key, value in extra.items():
        if not isinstance(key, str) or not key:
            raise ValueError(f"meta key {key!r}: expected a non-empty str")
        if key in _OWN_META:
            raise ValueError(f"meta[{key!r}]: dump() writes this key from its own argument"
                             + ("" if key == "version" else f" ({key}=...)") + "; not through meta=")
        want = _META_TYPES.get(key)
        if want == "image_id":
            value = None if value is None else _image_id(value)
        elif want is int:
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, np.integer))
                                      or value < 0):
                raise ValueError(f"meta[{key!r}] is {value!r}; expected an integer >= 0 (or None)")
            value = None if value is None else int(value)
        elif want is bool:
            if not isinstance(value, (bool, np.bool_)):
                raise ValueError(f"meta[{key!r}] is {value!r}; expected true or false")
            value = bool(value)
        elif want is not None and value is not None and not isinstance(value, want):
            raise ValueError(f"meta[{key!r}] is {type(value).__name__} {value!r}; expected "
                             f"{'a dict' if want is dict else 'a str'}")
        if value is None:
            continue  # an unknown value is left out rather than written as null
        out[key] = _json_value(f"meta[{key!r}]", value)
    return out


def _image_id(value):
    """meta.image_id checked: a non-empty str of at most 1000 characters (UTF-8 bytes) or an integer in
    [0, 2**63), returned as a str or a Python int; ValueError naming meta['image_id'] otherwise."""
    if isinstance(value, str):
        try:
            size = len(value.encode("utf-8"))
        except UnicodeEncodeError:
            size = -1  # a lone surrogate: not text JSON can carry to the loader
        if 0 < size <= _IMAGE_ID_MAX:
            return value
    elif isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)) \
            and 0 <= int(value) < 2 ** 63:
        return int(value)
    shown = repr(value)
    if len(shown) > 80:
        shown = shown[:60] + "..."
        if isinstance(value, str):
            shown += f" ({len(value)} characters" + (f", {size} UTF-8 bytes)" if size != len(value) else ")")
    raise ValueError(f"meta['image_id'] is {type(value).__name__} {shown}; expected the image's id in its "
                     f"dataset: a non-empty str of at most {_IMAGE_ID_MAX} characters (UTF-8 bytes; a file path) "
                     f"or an integer in [0, 2**63) (a COCO img_id)")


def _dims(fields):
    """(B or None, N or None, real GT count per image) of checked fields."""
    gt = fields["gt_bboxes"]
    batch = gt.shape[0] if gt.ndim == 3 else None
    n = None
    for name in ("priors", "anchors", "cls_scores", "pred_bboxes", "pred_distances"):
        if name in fields:
            n = fields[name].shape[-2]
            break
    if n is None and "objectness" in fields:
        n = fields["objectness"].shape[-1]
    if batch is None:
        real = [gt.shape[0]]
    else:
        real = [int(v) for v in fields["pad_gt_mask"].sum(axis=1)]
    return batch, n, real


def _check_expected(expected, fields, num_classes):
    """expected= checked and converted: {label: (params.json dict, {file name: array})}."""
    if not isinstance(expected, dict) or not expected:
        raise ValueError("expected: expected a non-empty dict {label: {'assigner': ..., 'results': {...}, ...}}")
    batch, n, real = _dims(fields)
    gmax = fields["gt_bboxes"].shape[-2]
    classes = fields["cls_scores"].shape[-1] if "cls_scores" in fields else num_classes
    lead = () if batch is None else (batch,)
    out = {}
    for label, entry in expected.items():
        where = f"expected[{label!r}]"
        if not isinstance(label, str) or not label or label[0] in ".+-" or not set(label) <= _LABEL_CHARS:
            raise ValueError(f"expected label {label!r}: expected a directory name of letters, digits and . _ + - "
                             f"(not starting with . + -)")
        if not isinstance(entry, dict):
            raise ValueError(f"{where} is {type(entry).__name__}; expected a dict with 'assigner' and 'results'")
        params = {k: v for k, v in entry.items() if k != "results"}
        if not isinstance(params.get("assigner"), str) or not params["assigner"]:
            raise ValueError(f"{where}['assigner']: missing or not a str; expected the registry name that replays "
                             f"it (assignscope list)")
        if "params" in params and not isinstance(params["params"], dict):
            raise ValueError(f"{where}['params'] is {type(params['params']).__name__}; expected a dict")
        if "files" in params:
            raise ValueError(f"{where}['files']: filled in by dump() from 'results'; leave it out")
        for key, value in params.items():
            _json_value(f"{where}[{key!r}]", value)
        results = entry.get("results")
        if not isinstance(results, dict) or "assigned_gt_inds" not in results:
            raise ValueError(f"{where}['results']: expected a dict of result arrays holding at least "
                             f"assigned_gt_inds (assignscope check compares the decisions)")
        arrays = {}
        for name, value in results.items():
            if name not in _RESULT_FILES:
                raise ValueError(f"{where}['results'][{name!r}]: unknown result; expected one of "
                                 f"{', '.join(sorted(_RESULT_FILES))}")
            what = f"{where}['results'][{name!r}]"
            x = _to_numpy(what, value)
            per, kind = _RESULT_FILES[name]
            count = n if per == "prior" else gmax
            want = lead + (count,)
            if count is None or x.shape != want:
                axis = "N" if per == "prior" else ("Gmax" if batch is not None else "G")
                raise ValueError(f"{what}: shape {_shape(x)} but expected "
                                 f"[{'B, ' if batch is not None else ''}{axis}] = {want}")
            if kind == "int":
                x = _as_int(what, x, "an integer")
                rows = x.reshape(len(real), -1)
                for i, g in enumerate(real):
                    if name == "assigned_gt_inds":
                        bad = (rows[i] < -1) | (rows[i] > g)
                        expect = f"0 (negative), -1 (ignored) or a GT number in [1, {g}]"
                    elif name == "assigned_labels":
                        bad = (rows[i] < -1) | ((rows[i] >= classes) if classes else False)
                        expect = f"-1 or a class index in [0, {classes if classes else 'C'})"
                    else:
                        bad = rows[i] < 0
                        expect = "a count >= 0"
                    if np.any(bad):
                        j = int(np.argwhere(bad)[0][0])
                        at = (i, j) if batch is not None else (j,)
                        raise ValueError(f"{what}{_index(at)} is {rows[i][j]}; expected {expect}")
            else:
                x = _as_float(what, x).astype(np.float32)
            arrays[name + ".npy"] = x
        params["files"] = sorted(arrays)
        out[label] = (params, arrays)
    return out


# --- writing ------------------------------------------------------------------

def _is_previous_dump(directory):
    """True when a directory holds nothing but a dump's files (so replacing it loses nothing else)."""
    for entry in os.scandir(directory):
        if entry.is_dir(follow_symlinks=False):
            if entry.name == "expected" and _is_stored_results(entry.path):
                continue
            return False
        if not (entry.name in ("meta.json", "image.png", "image.jpg")
                or (entry.name.endswith(".npy") and entry.name[:-4] in _FIELDS)):
            return False
    return True


def _is_stored_results(directory):
    """True when expected/ holds only result directories of .npy files and a params.json."""
    for label in os.scandir(directory):
        if not label.is_dir(follow_symlinks=False):
            return False
        for entry in os.scandir(label.path):
            if entry.is_dir(follow_symlinks=False) or not (entry.name == "params.json" or entry.name.endswith(".npy")):
                return False
    return True


def _free_name(target):
    """target, or the first of <stem>-2<suffix>, <stem>-3<suffix>, ... that does not exist."""
    if not (target.exists() or target.is_symlink()):
        return target
    stem, suffix = (target.stem, target.suffix) if target.suffix == ".npz" else (target.name, "")
    for i in range(2, 1000002):
        candidate = target.with_name(f"{stem}-{i}{suffix}")
        if not (candidate.exists() or candidate.is_symlink()):
            return candidate
    raise FileExistsError(f"{target}: it and a million numbered variants exist")


def _check_target(target, fmt, overwrite):
    if not (target.exists() or target.is_symlink()):
        target.parent.mkdir(parents=True, exist_ok=True)  # dumps/ on the first call of a training run
        return
    if not overwrite:
        raise FileExistsError(f"{target}: exists; pass overwrite=True to replace it")
    if target.is_symlink() or target.is_file():
        return
    if not target.is_dir():
        raise FileExistsError(f"{target}: exists and is not a regular file or directory; not replaced")
    resolved = target.resolve()
    if resolved == Path.cwd().resolve() or resolved in Path.cwd().resolve().parents:
        raise FileExistsError(f"{target}: is the current directory or one of its parents; not replaced")
    if not _is_previous_dump(target):
        raise FileExistsError(f"{target}: a directory that holds more than a dump's files (*.npy fields, "
                              f"meta.json); not replaced, even with overwrite=True")


def _replace(tmp, target):
    """Moves tmp (a file or a directory) to target; an existing target is moved aside first, removed last."""
    if target.is_dir() and not target.is_symlink():
        aside = _temp_name(target, ".old")
        os.rename(target, aside)
        try:
            os.rename(tmp, target)
        except OSError:
            os.rename(aside, target)
            raise
        shutil.rmtree(aside)
    elif tmp.is_dir() and (target.exists() or target.is_symlink()):
        os.unlink(target)  # a file where a directory dump goes (overwrite=True was checked)
        os.rename(tmp, target)
    else:
        os.replace(tmp, target)


def _temp_name(target, suffix):
    return target.parent / f".{target.name}.{os.getpid()}-{secrets.token_hex(4)}{suffix}"


def _write_npz(target, fields, meta, compress, png=None):
    tmp = _temp_name(target, ".tmp.npz")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(fd, "wb") as f:
            save = np.savez_compressed if compress else np.savez
            save(f, meta=np.array(json.dumps(meta)), **fields)
        with open(tmp, "r+b") as f:
            if png is not None:  # a member image.png, stored (a PNG is compressed already)
                with zipfile.ZipFile(f, "a") as z:
                    z.writestr("image.png", png, compress_type=zipfile.ZIP_STORED)
            f.flush()
            os.fsync(f.fileno())
        _replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def _write_dir(target, fields, meta, results=None, png=None):
    tmp = _temp_name(target, ".tmp")
    os.mkdir(tmp, 0o777)
    try:
        for name, arr in fields.items():
            np.save(tmp / f"{name}.npy", arr, allow_pickle=False)
        if png is not None:
            (tmp / "image.png").write_bytes(png)
        (tmp / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")
        for label, (params, arrays) in (results or {}).items():
            out = tmp / "expected" / label
            out.mkdir(parents=True)
            for name, arr in arrays.items():
                np.save(out / name, arr, allow_pickle=False)
            (out / "params.json").write_text(json.dumps(params, indent=1) + "\n")
        _replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
