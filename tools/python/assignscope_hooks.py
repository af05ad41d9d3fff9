"""Dump what a training framework's label assigner sees, without editing the framework.

Two lines at the top of a training script::

    import assignscope_hooks
    assignscope_hooks.install("dumps", every=200, max_dumps=100)

patch, at run time, the assigner call of every supported framework that is
installed (or the ones named by ``framework=``):

- ultralytics 8.2 / 8.3 / 8.4: ``ultralytics.utils.tal.TaskAlignedAssigner.forward``
  (YOLOv8/11, YOLO26 with its two branches ``one2many`` and ``one2one``,
  YOLOv10's ``E2EDetectLoss``); batch dumps for ``task-aligned.ultralytics``;
- YOLOX: ``yolox.models.yolo_head.YOLOXHead.get_assignments``; one-image dumps
  for ``simota.yolox`` (main, or the 0.3.0 release with geometry=box-or-center);
- mmdetection 3.x: ``DynamicSoftLabelAssigner.assign`` (RTMDet, RTMDet-Ins);
  one-image dumps for ``dynamic-soft-label``;
- mmyolo 0.6: ``BatchDynamicSoftLabelAssigner.forward`` (RTMDet); batch dumps
  for ``dynamic-soft-label.mmyolo``.

Every ``every``-th training call of each assigner (and branch) is written with
:func:`assignscope_dump.dump` under ``out_dir`` as
``<framework>[-<branch>]-r<rank>-p<pid>-s<step>``, a directory with the inputs,
a ``meta.json`` naming the framework, its version, the assigner and its live
parameters, and (``record_result=True``) what the framework's assigner
returned in that very call, as ``expected/<framework>-<version>/``, so that
``assignscope check dumps/`` compares the replay with the framework.

Where the framework hands it over, ``meta.image_id`` records the dumped
image's id in its dataset, so that ``assignscope trend`` follows the same GTs
across steps: ultralytics' ``batch["im_file"]`` (the image's path),
mmdetection's and mmyolo's ``batch_data_samples[i].metainfo`` ``img_id``
(COCO's integer id), else its ``img_path``. YOLOX's ``get_losses`` receives
no image ids: its dumps have none. A batch dump of B > 1 images (ultralytics,
mmyolo without ``image=True``) has no single image, so no ``image_id``; with
``image=True`` it is split into one-image dumps, each with its own.

Only training calls are dumped: a call made while gradients are disabled or
inference mode is on (a validator's loss) passes straight through. Nothing
raised while dumping reaches the training loop: it becomes one warning
(:class:`AssignscopeHookWarning`) per kind, and the framework's own result is
returned untouched; the original assigner is called exactly once, with the
original arguments, whatever happens. ``handle.remove()`` restores the
classes.

This module needs numpy at import time and nothing else; torch and the
frameworks are imported by :func:`install`. Python 3.8+.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import inspect
import os
import re
import shutil
import sys
import threading
import warnings
import weakref
from pathlib import Path

import numpy as np

from assignscope_dump import _free_name, _image_id, _to_numpy, dump

__all__ = ["install", "Hooks", "AssignscopeHookWarning", "FRAMEWORKS"]

# Framework names as install(framework=...) takes them, in the order auto-detection tries them.
FRAMEWORKS = ("ultralytics", "yolox", "mmdet", "mmyolo")

_MISSING = object()
_lock = threading.RLock()
_active = None  # the installed Hooks, if any


class AssignscopeHookWarning(UserWarning):
    """A dump was not written (or a framework could not be hooked); training goes on."""


class _NotDumped(Exception):
    """This call is not dumped, for a reason worth one warning (an unsupported subclass, rotated boxes...)."""


class _NoResult(Exception):
    """The framework's result cannot be stored with assignscope's meaning; the dump is written without it."""


def install(out_dir="dumps", *, every=500, max_dumps=100, max_bytes=1 << 30, framework=None, record_result=True,
            epoch=None, allow_nonfinite=False, image=False):
    """Patch the assigners of the installed frameworks so that training writes dumps; return a :class:`Hooks`.

    - ``out_dir``: where the dumps go (created when the first one is written).
    - ``every``: dump calls 1, 1 + every, 1 + 2 * every, ... of each assigner
      (counted per branch, training calls only). For the one-image assigners
      (YOLOX, mmdetection) a call is one image, for the batch ones
      (ultralytics, mmyolo) one training step.
    - ``max_dumps``, ``max_bytes``: budgets of this process (each rank has
      its own); when the next dump would exceed one, one warning and no more
      dumps. ``None`` for no limit.
    - ``framework``: ``None`` hooks every supported framework already
      imported, or, when none is, every one installed; or a name or a list
      of names from ``FRAMEWORKS``, each of which must be hookable.
    - ``record_result``: also store what the framework's assigner returned,
      as ``<dump>/expected/<framework>-<version>/``, for ``assignscope check``.
    - ``epoch``: a callable returning the current epoch, written to
      ``meta.epoch`` (``lambda: trainer.epoch``).
    - ``allow_nonfinite``: dump calls whose inputs hold NaN / Inf (replay
      them with ``--allow-nonfinite``); by default they are skipped with a
      warning.
    - ``image``: also store the network input of the dumped image as
      ``image.png`` (de-normalised as the framework normalised it, see
      :func:`assignscope_dump.dump`), so that ``assignscope run --format
      svg`` draws the assignment over it. The input is caught by one more
      patched method per framework, which keeps a reference for the step
      (no copy) and converts it only on dumped calls: ultralytics'
      ``v8DetectionLoss.__call__`` / ``.loss`` (``batch["img"]``, RGB,
      0..1), YOLOX's ``YOLOXHead.get_losses`` (``imgs``, BGR, 0..255),
      mmdetection's and mmyolo's ``SingleStageDetector.loss``
      (``batch_inputs`` after ``data_preprocessor``: its ``mean``, ``std``
      and channel flip). The loader takes an image only in a one-image dump:
      YOLOX and mmdetection dump one image per call and get theirs;
      ultralytics and mmyolo dump the batch, so with ``image=True`` a batch
      of B > 1 is written as a directory of one-image dumps ``img000``,
      ``img001``, ... (each with its image, its real GTs and its share of the
      framework's result; ``meta.image_index``), which assignscope reads as
      the same batch. Cost: ~0.1 - 1 MB and ~50 ms more per 640 x 640 image
      (times B for the batch frameworks).

    ``meta.image_id`` (the image's id in its dataset, see above) is recorded
    whatever ``image`` is: the same loss methods are patched for ultralytics,
    mmdetection and mmyolo to catch ``batch["im_file"]`` /
    ``batch_data_samples`` (a reference for the step, read on dumped calls
    only). A missing id is left out silently, an odd one (not a non-empty str
    of at most 1000 characters nor an integer >= 0, or a count that does not
    match the batch) with one warning.

    Installing again replaces the previous installation: each method is
    patched once. Raises ``ValueError`` for bad arguments, ``ImportError``
    when a framework named in ``framework`` cannot be hooked, and
    ``RuntimeError`` when auto-detection finds none.
    """
    global _active
    for name, value, least in (("every", every, 1), ("max_dumps", max_dumps, 0), ("max_bytes", max_bytes, 0)):
        if value is None and name != "every":
            continue
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < least:
            raise ValueError(f"{name} is {value!r}; expected an integer >= {least}"
                             + ("" if name == "every" else " or None"))
    if epoch is not None and not callable(epoch):
        raise ValueError(f"epoch is {type(epoch).__name__}; expected a callable returning the epoch (or None)")
    if framework is None:
        names, explicit = _detect(), False
        if not names:
            raise RuntimeError(f"assignscope_hooks.install: none of {', '.join(FRAMEWORKS)} is installed; "
                               f"nothing to hook")
    else:
        names = [framework] if isinstance(framework, str) else list(framework)
        explicit = True
        unknown = [n for n in names if n not in FRAMEWORKS]
        if unknown or not names:
            raise ValueError(f"framework {framework!r}: expected None or names from {', '.join(FRAMEWORKS)}")

    with _lock:
        if _active is not None:
            _active.remove()
        hooks = Hooks(out_dir, every=int(every), max_dumps=max_dumps, max_bytes=max_bytes,
                      record_result=record_result, epoch=epoch, allow_nonfinite=allow_nonfinite, image=image)
        for name in names:
            try:
                specs = _SPEC_BUILDERS[name]()
            except Exception as e:  # noqa: BLE001 - a framework that cannot be hooked is reported, not fatal
                if explicit:
                    hooks.remove()
                    raise ImportError(f"assignscope_hooks: cannot hook {name}: {e}") from e
                warnings.warn(f"assignscope_hooks: {name} is installed but cannot be hooked ({e}); not dumped",
                              AssignscopeHookWarning, stacklevel=2)
                continue
            for spec in specs:
                hooks._patch(spec)
            hooks.frameworks.append(name)
            if (hooks.image or name in _ID_FRAMEWORKS) and _STASH_KEY.get(name, name) not in hooks._stashed:
                try:
                    for cls, attr, pick in _STASH_BUILDERS[name]():
                        hooks._patch_stash(_STASH_KEY.get(name, name), cls, attr, pick)
                    hooks._stashed.add(_STASH_KEY.get(name, name))
                except Exception as e:  # noqa: BLE001 - the dumps are still worth writing without the image
                    what = (["image.png"] if hooks.image else []) + (["meta.image_id"] if name in _ID_FRAMEWORKS
                                                                     else [])
                    warnings.warn(f"assignscope_hooks: {name}: the network input cannot be caught ({e}); dumps "
                                  f"are written without {' nor '.join(what)}", AssignscopeHookWarning, stacklevel=2)
        if not hooks.frameworks:
            raise RuntimeError(f"assignscope_hooks.install: could not hook any of {', '.join(names)}")
        _active = hooks
    return hooks


def _detect():
    """Frameworks to hook when none is named: those already imported, else those installed."""
    imported = [n for n in FRAMEWORKS if n in sys.modules]
    if imported:
        return imported
    found = []
    for n in FRAMEWORKS:
        try:
            if importlib.util.find_spec(n) is not None:
                found.append(n)
        except (ImportError, ValueError):
            pass
    return found


class Hooks:
    """An installation of the hooks: what is patched, what was written, and :meth:`remove`.

    Attributes: ``out_dir`` (Path), ``frameworks`` (names hooked), ``patched``
    (``"module.Class.method"`` strings), ``written`` (paths of the dumps
    written), ``bytes_written``, ``calls`` (training calls seen, per
    ``(framework, branch)``), ``active``.
    """

    def __init__(self, out_dir, *, every, max_dumps, max_bytes, record_result, epoch, allow_nonfinite, image=False):
        self.out_dir = Path(os.fspath(out_dir))
        self.every = every
        self.max_dumps = max_dumps
        self.max_bytes = max_bytes
        self.record_result = bool(record_result)
        self.allow_nonfinite = bool(allow_nonfinite)
        self.image = bool(image)
        self._inputs = threading.local()  # per framework: the network input of the step in progress
        self._stashed = set()
        self.epoch = epoch
        self.frameworks = []
        self.patched = []
        self.written = []
        self.bytes_written = 0
        self.calls = {}
        self.active = True
        self._patches = []  # (cls, attr, original or _MISSING, wrapper)
        self._warned = set()
        self._stopped = False
        self._branches = weakref.WeakKeyDictionary()
        self._branches_by_id = {}

    def __repr__(self):
        state = "active" if self.active else "removed"
        return (f"<assignscope_hooks.Hooks {state}: {', '.join(self.patched) or 'nothing'}; "
                f"{len(self.written)} dumps, {self.bytes_written} bytes in {self.out_dir}>")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()
        return False

    def remove(self):
        """Restore every patched method; later calls go straight to the framework. Safe to call twice."""
        global _active
        with _lock:
            self.active = False
            for cls, attr, original, wrapper in reversed(self._patches):
                if cls.__dict__.get(attr) is not wrapper:
                    # Someone patched over ours: leave theirs; ours passes calls through now that we are inactive.
                    warnings.warn(f"assignscope_hooks: {cls.__name__}.{attr} was replaced after install(); "
                                  f"left as it is (the hook is inactive)", AssignscopeHookWarning, stacklevel=2)
                    continue
                if original is _MISSING:
                    delattr(cls, attr)
                else:
                    setattr(cls, attr, original)
            self._patches = []
            if _active is self:
                _active = None

    # --- patching -------------------------------------------------------------

    def _patch(self, spec):
        cls, attr = spec.cls, spec.attr
        restore = cls.__dict__.get(attr, _MISSING)  # what remove() puts back
        if restore is not _MISSING and getattr(restore, "__assignscope_hook__", False):
            restore = restore.__assignscope_restore__  # another copy of this module hooked it: wrap the real one
        func = restore
        if func is _MISSING:  # inherited: the first base class that defines it
            func = next(base.__dict__[attr] for base in cls.__mro__[1:] if attr in base.__dict__)
        spec.signature = inspect.signature(func)
        hooks = self

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            call = None
            if hooks.active:
                try:
                    call = hooks._begin(spec, args, kwargs)
                except Exception as e:  # noqa: BLE001 - never into the training loop
                    hooks._warn(spec, _kind("before", e), f"not dumped: {type(e).__name__}: {e}")
            result = func(*args, **kwargs)
            if call is not None:
                try:
                    hooks._finish(spec, call, result)
                except Exception as e:  # noqa: BLE001 - never into the training loop
                    hooks._warn(spec, _kind("after", e), f"dump at step {call['step']} not written: "
                                                         f"{type(e).__name__}: {e}")
            return result

        wrapper.__assignscope_hook__ = True
        wrapper.__assignscope_restore__ = restore
        setattr(cls, attr, wrapper)
        self._patches.append((cls, attr, restore, wrapper))
        self.patched.append(f"{cls.__module__}.{cls.__name__}.{attr}")

    def _patch_stash(self, framework, cls, attr, pick):
        """Patch cls.attr so that, during its call, the network input pick(args, kwargs) returns is at hand."""
        restore = cls.__dict__.get(attr, _MISSING)
        if restore is not _MISSING and getattr(restore, "__assignscope_hook__", False):
            restore = restore.__assignscope_restore__
        func = restore
        if func is _MISSING:
            func = next(base.__dict__[attr] for base in cls.__mro__[1:] if attr in base.__dict__)
        hooks = self

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            if not hooks.active:
                return func(*args, **kwargs)
            try:
                held = pick(args, kwargs)  # references only: nothing is copied unless the step is dumped
            except Exception:  # noqa: BLE001 - never into the training loop
                held = None
            previous = getattr(hooks._inputs, framework, None)
            setattr(hooks._inputs, framework, held)
            try:
                return func(*args, **kwargs)
            finally:
                setattr(hooks._inputs, framework, previous)

        wrapper.__assignscope_hook__ = True
        wrapper.__assignscope_restore__ = restore
        setattr(cls, attr, wrapper)
        self._patches.append((cls, attr, restore, wrapper))
        self.patched.append(f"{cls.__module__}.{cls.__name__}.{attr}")

    def _image(self, spec, owner, arguments):
        """dump()'s image arguments for this call (a numpy copy), or {} with one warning when there is none."""
        held = getattr(self._inputs, _STASH_KEY.get(spec.framework, spec.framework), None)
        try:
            return spec.image(owner, arguments, held)
        except Exception as e:  # noqa: BLE001 - the dump goes on without its image
            self._warn(spec, _kind("image", e), f"dump written without image.png: {e}")
            return {}

    def _image_ids(self, spec, owner, arguments, held):
        """The dumped images' ids in their dataset (one per image of the call, None where unknown), checked as
        meta.image_id; None when the framework handed over none. An odd value is left out with one warning."""
        try:
            ids = spec.image_ids(owner, arguments, held)
        except Exception as e:  # noqa: BLE001 - the dump goes on without its image ids
            self._warn(spec, _kind("image_id", e), f"meta.image_id left out: {e}")
            return None
        if ids is None:
            return None
        out = []
        for value in ids:
            try:
                value = os.fspath(value) if isinstance(value, os.PathLike) else value  # a pathlib.Path: its text
                out.append(None if value is None else _image_id(value))
            except ValueError as e:
                self._warn(spec, "image_id:value", f"meta.image_id left out: {e}")
                out.append(None)
        return out if any(v is not None for v in out) else None

    # --- one call -------------------------------------------------------------

    def _warn(self, spec, kind, message):
        key = (spec.framework, kind)
        with _lock:
            if key in self._warned:
                return
            self._warned.add(key)
        warnings.warn(f"assignscope_hooks: {spec.framework} {spec.qualname}: {message} "
                      f"(training goes on; shown once)", AssignscopeHookWarning, stacklevel=3)

    def _begin(self, spec, args, kwargs):
        """The call's snapshot when it is to be dumped, else None. Runs before the original."""
        torch = spec.torch
        if not torch.is_grad_enabled():
            return None
        inference = getattr(torch, "is_inference_mode_enabled", None)
        if inference is not None and inference():
            return None
        bound = spec.signature.bind(*args, **kwargs)
        bound.apply_defaults()
        arguments = dict(bound.arguments)
        owner = next(iter(arguments.values()))  # self
        why = spec.refuse(owner, arguments)
        if why:
            self._warn(spec, "refused:" + why, f"not dumped: {why}")
            return None
        held = getattr(self._inputs, _STASH_KEY.get(spec.framework, spec.framework), None)
        if isinstance(held, dict) and "calls" in held:
            held["calls"] += 1  # mmdetection: the n-th assign call of the step is image n - 1
        branch = self._branch(spec, owner)
        with _lock:
            key = (spec.framework, branch)
            step = self.calls.get(key, 0) + 1
            self.calls[key] = step
            if self._stopped or (step - 1) % self.every != 0:
                return None
            if self.max_dumps is not None and len(self.written) >= self.max_dumps:
                self._stop(spec, f"max_dumps = {self.max_dumps} reached")
                return None
        snapshot = spec.capture(owner, arguments)  # numpy copies, before the original can change anything
        if self.image and spec.image is not None:
            snapshot["image"] = self._image(spec, owner, arguments)
        if spec.image_ids is not None:
            snapshot["image_ids"] = self._image_ids(spec, owner, arguments, held)
        return {"step": step, "branch": branch, "owner": owner, "snapshot": snapshot, "torch": torch}

    def _stop(self, spec, why):
        self._stopped = True
        warnings.warn(f"assignscope_hooks: {why}: no more dumps in this process ({len(self.written)} written, "
                      f"{self.bytes_written} bytes, in {self.out_dir})", AssignscopeHookWarning, stacklevel=4)

    def _branch(self, spec, owner):
        if spec.branch is None:
            return None
        try:
            return self._branches[owner]
        except KeyError:
            pass
        except TypeError:  # not weak-referenceable
            if id(owner) in self._branches_by_id:
                return self._branches_by_id[id(owner)]
        branch = spec.branch(owner)
        try:
            self._branches[owner] = branch
        except TypeError:
            self._branches_by_id[id(owner)] = branch
        return branch

    def _finish(self, spec, call, result):
        """Write the dump of a selected call, with the framework's result. Runs after the original."""
        snap = call["snapshot"]
        step, branch = call["step"], call["branch"]
        fields = dict(snap["fields"])
        meta = dict(snap["meta"])
        epoch = None
        if self.epoch is not None:
            try:
                epoch = int(self.epoch())
            except Exception as e:  # noqa: BLE001
                self._warn(spec, "epoch", f"epoch() raised {type(e).__name__}: {e}; meta.epoch left out")
        rank = _rank(call["torch"])
        meta.update(framework=spec.framework, framework_version=spec.version, step=step, rank=rank)
        if epoch is not None:
            meta["epoch"] = epoch
        if branch is not None:
            meta["branch"] = branch
        source = (f"{spec.framework} {spec.version} {spec.qualname}" + (f" ({branch})" if branch else "")
                  + f", step {step}" + (f", epoch {epoch}" if epoch is not None else "")
                  + f", rank {rank}, pid {os.getpid()}")

        expected = None
        if self.record_result and spec.results is not None:
            try:
                results = spec.results(call["owner"], snap, result)
            except _NoResult as e:
                self._warn(spec, "no-result:" + str(e).split(":")[0], f"framework result not recorded: {e}")
                results = None
            except Exception as e:  # noqa: BLE001 - the dump is still worth writing without the result
                self._warn(spec, "result:" + type(e).__name__,
                           f"framework result not recorded: {type(e).__name__}: {e}")
                results = None
            if results:
                label = _label(f"{spec.framework}-{spec.version}")
                expected = {label: {
                    "assigner": meta["assigner"],
                    "params": meta.get("assigner_params", {}),
                    "reference": {"project": spec.framework, "version": spec.version, "class": spec.qualname,
                                  "recorded_by": "assignscope_hooks"},
                    "outputs": snap["outputs"],
                    "dtype": meta.get("dtype"),
                    "device": meta.get("device"),
                    "results": results,
                }}

        ids = snap.get("image_ids")
        one_image_meta = meta if not ids or len(ids) != 1 or ids[0] is None else dict(meta, image_id=ids[0])
        image = dict(snap.get("image") or {})
        per_image = image.pop("per_image", None)  # a batch's images: written as a directory of one-image dumps
        fields.update(image)
        estimate = 4096 + sum(int(np.asarray(v).nbytes) for v in fields.values() if isinstance(v, np.ndarray))
        estimate += sum(int(i["image"].size) for i in per_image or [])
        if expected:
            estimate += sum(int(v.nbytes) for e in expected.values() for v in e["results"].values())
        with _lock:
            if self._stopped:
                return
            if self.max_bytes is not None and self.bytes_written + estimate > self.max_bytes:
                self._stop(spec, f"max_bytes = {self.max_bytes} would be exceeded (next dump ~{estimate} bytes)")
                return
            name = f"{spec.framework}" + (f"-{branch}" if branch else "") + f"-r{rank}-p{os.getpid()}-s{step:08d}"
            # unique: a restarted run whose pid was reused (a container's) writes <name>-2, never raises
            with warnings.catch_warnings():
                # inverted predicted boxes are legal (an untrained head makes them): no warning per dump
                warnings.filterwarnings("ignore", message="pred_bboxes: ")
                def write_one(target, fields, expected, unique=True, source=source, meta=one_image_meta):
                    return dump(target, source=source, meta=meta, fmt="dir", unique=unique,
                                allow_nonfinite=self.allow_nonfinite, expected=expected, **fields)

                def write_any(expected, fields, per_image):
                    if per_image is None:
                        return write_one(self.out_dir / name, fields, expected)
                    return _write_split(self.out_dir / name, fields, expected, per_image, write_one, source, meta,
                                        ids)

                def write(expected):
                    try:
                        return write_any(expected, fields, per_image)
                    except ValueError as e:
                        if not (str(e).startswith("image") and (per_image or "image" in fields)):
                            raise
                        # an input that does not fit (another size than the assigner's grid): the dump without it
                        self._warn(spec, _kind("image", e), f"dump written without image.png: {e}")
                        plain = {k: v for k, v in fields.items() if not k.startswith("image") or k == "image_size"}
                        return write_any(expected, plain, None)
                try:
                    path = write(expected=expected)
                except ValueError as e:
                    if expected is None or not str(e).startswith("expected"):
                        raise
                    # the framework's result does not fit assignscope's meaning (mmyolo can match a padding
                    # column): the inputs are still worth having
                    self._warn(spec, _kind("result", e), f"framework result not recorded: {e}")
                    path = write(expected=None)
            self.written.append(path)
            self.bytes_written += _tree_size(path)
            if self.max_dumps is not None and len(self.written) >= self.max_dumps:
                self._stop(spec, f"max_dumps = {self.max_dumps} reached")


# --- helpers ------------------------------------------------------------------

def _split_batch(fields, expected):
    """A padded batch dump's fields and results, image by image: [(fields, expected)], padding dropped."""
    mask = np.asarray(fields["pad_gt_mask"]).reshape(np.asarray(fields["gt_bboxes"]).shape[:2]) == 1
    out = []
    for b in range(mask.shape[0]):
        g = int(mask[b].sum())  # real boxes first, as mmyolo and ultralytics pad
        if not mask[b, :g].all():
            raise ValueError(f"pad_gt_mask of image {b} marks padding before a real box; expected real boxes first")
        one = {}
        for key, value in fields.items():
            if key == "pad_gt_mask":
                continue
            if not isinstance(value, np.ndarray) or (key in ("priors", "anchors") and value.ndim == 2) \
                    or (key == "num_level_priors" and value.ndim == 1):
                one[key] = value  # shared, or not an array (scores, image_size, ...)
            elif key in ("gt_bboxes", "gt_labels", "gt_centers"):
                one[key] = value[b][:g]
            else:
                one[key] = value[b]
        results = None
        if expected:
            results = {label: dict(entry, results={k: (v[b][:g] if k == "dynamic_ks" else v[b])
                                                   for k, v in entry["results"].items()})
                       for label, entry in expected.items()}
        out.append((one, results))
    return out


def _write_split(target, fields, expected, per_image, write_one, source, meta, ids=None):
    """A batch as a directory of one-image dumps img000, img001, ..., each with its image (and its id in its
    dataset when known); appears at once."""
    final = _free_name(target)
    tmp = final.parent / f".{final.name}.{os.getpid()}.tmp"
    try:
        tmp.mkdir(parents=True)
        for b, (one, results) in enumerate(_split_batch(fields, expected)):
            one.update(per_image[b])
            more = {"image_id": ids[b]} if ids and len(ids) == len(per_image) and ids[b] is not None else {}
            write_one(tmp / f"img{b:03d}", one, results, unique=False,
                      source=f"{source}, image {b} of {len(per_image)}", meta=dict(meta, image_index=b, **more))
        os.rename(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def _kind(phase, error):
    """What makes two failures the same kind (warned once): the phase, the type, and the message's first word,
    which for dump()'s ValueErrors is the field (`cls_scores[0, 5, 1] is nan` and `gt_bboxes: shape ...` differ)."""
    head = re.split(r"[\[:;(, ]", str(error), maxsplit=1)[0][:40]
    return f"{phase}:{type(error).__name__}:{head}"


def _rank(torch=None):
    """The process's rank: torch.distributed's once initialised (YOLOX's spawned workers set no RANK), else the
    launcher's RANK / LOCAL_RANK, else 0."""
    dist = getattr(torch, "distributed", None)
    try:
        if dist is not None and dist.is_available() and dist.is_initialized():
            return int(dist.get_rank())
    except Exception:  # noqa: BLE001
        pass
    for var in ("RANK", "LOCAL_RANK"):
        value = os.environ.get(var)
        if value is not None and value.strip().lstrip("-").isdigit():
            return max(int(value), 0)
    return 0


def _label(text):
    safe = "".join(c if (c.isalnum() and c.isascii()) or c in "._+-" else "_" for c in text)
    return safe.lstrip(".+-") or "framework"


def _tree_size(path):
    total = 0
    for root, _dirs, files in os.walk(path):
        for f in files:
            try:
                total += os.path.getsize(os.path.join(root, f))
            except OSError:
                pass
    return total


def _np(value, name="tensor"):
    """A numpy copy of a tensor (bfloat16 as float32), an mmdet box type, or an array-like."""
    if value is not None and not isinstance(value, np.ndarray) and hasattr(value, "tensor") \
            and not hasattr(value, "numpy"):
        value = value.tensor  # mmdet BaseBoxes without numpy()
    return np.array(_to_numpy(name, value), copy=True)


def _dtype(value):
    text = str(getattr(value, "dtype", ""))
    return text[len("torch."):] if text.startswith("torch.") else text


def _device(value):
    return str(getattr(value, "device", "cpu"))


def _autocast(torch):
    """Whether autocast is on at the call, on CUDA or on the CPU."""
    on = False
    fn = getattr(torch, "is_autocast_enabled", None)
    if fn is not None:
        try:
            on = bool(fn())
        except Exception:  # noqa: BLE001
            pass
        try:
            on = on or bool(fn("cpu"))  # torch >= 2.4
            return on
        except Exception:  # noqa: BLE001 - older torch: no device argument
            pass
    cpu = getattr(torch, "is_autocast_cpu_enabled", None)
    if cpu is not None:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                on = on or bool(cpu())
        except Exception:  # noqa: BLE001
            pass
    return on


def _version(module_name):
    module = sys.modules.get(module_name)
    if module is None:
        module = importlib.import_module(module_name)
    return str(getattr(module, "__version__", "unknown"))


def _grid_levels(points, offset):
    """Levels of a flattened point grid (level -> row -> column, each level starting at offset * stride).

    Returns (strides [L], counts [L], rows of level 0, columns of level 0);
    ValueError when the points are no such grid. A level ends where the
    points stop continuing its rows (next column, or first column of the
    next row); its stride is the first point's x / offset.
    """
    pts = np.asarray(points)
    if pts.ndim != 2 or pts.shape[1] != 2 or pts.shape[0] == 0:
        raise ValueError(f"anchor points of shape {pts.shape}; expected [N, 2]")
    dt = pts.dtype if pts.dtype.kind == "f" else np.dtype(np.float32)
    x = pts[:, 0].astype(np.float64)
    y = pts[:, 1].astype(np.float64)
    if x[0] != y[0]:
        raise ValueError(f"the first point is ({x[0]}, {y[0]}); expected ({offset} s, {offset} s), a grid of "
                         f"points per level")
    starts = [0]
    s = x[0] / offset
    for i in np.flatnonzero(x == y)[1:]:
        # a point on the diagonal either continues the current level's row or starts the next level
        if x[i] - x[i - 1] == s and y[i] == y[i - 1]:
            continue
        starts.append(int(i))
        s = x[i] / offset
    bounds = starts + [len(x)]
    strides, counts, shape0 = [], [], None
    for a, b in zip(bounds[:-1], bounds[1:]):
        s = x[a] / offset
        if not s > 0:
            raise ValueError(f"point {a} = ({x[a]}, {y[a]}) starts a level with stride {s}; expected > 0")
        cols = int(np.argmax(y[a:b] != y[a])) if (y[a:b] != y[a]).any() else b - a
        if (b - a) % cols:
            raise ValueError(f"level starting at point {a}: {b - a} points are not rows of {cols}; expected a "
                             f"grid of points per level")
        rows = (b - a) // cols
        ar = lambda k: (np.arange(k, dtype=dt) + dt.type(offset)) * dt.type(s)  # noqa: E731 - as the framework computes
        gx = np.tile(ar(cols), rows).astype(np.float64)
        gy = np.repeat(ar(rows), cols).astype(np.float64)
        if not (np.array_equal(gx, x[a:b]) and np.array_equal(gy, y[a:b])):
            bad = int(np.flatnonzero((gx != x[a:b]) | (gy != y[a:b]))[0])
            raise ValueError(f"point {a + bad} = ({x[a + bad]}, {y[a + bad]}) is off the level's grid "
                             f"(stride {s:g}, {rows} x {cols}, offset {offset})")
        strides.append(float(s))
        counts.append(b - a)
        if shape0 is None:
            shape0 = (rows, cols)
    return np.array(strides), np.array(counts, dtype=np.int64), shape0[0], shape0[1]


def _params_of(owner, names):
    out = {}
    for name in names:
        value = getattr(owner, name)
        out[name] = int(value) if isinstance(value, (bool, int, np.integer)) and not isinstance(value, bool) \
            else float(value)
    return out


class _Spec:
    """One patched method: where, how a call is captured, how its result maps to assignscope's files."""

    def __init__(self, framework, version, cls, attr, torch, refuse, capture, results, branch=None, image=None,
                 image_ids=None):
        self.framework = framework
        self.version = version
        self.cls = cls
        self.attr = attr
        self.qualname = f"{cls.__name__}.{attr}"
        self.torch = torch
        self.refuse = refuse
        self.capture = capture
        self.results = results
        self.branch = branch
        self.image = image  # (owner, arguments, the caught input) -> dump()'s image arguments
        self.image_ids = image_ids  # (owner, arguments, the caught input) -> [id or None per image] or None
        self.signature = None


def _exact_class(cls, what):
    def refuse(owner, _args):
        if type(owner) is not cls:
            return (f"{type(owner).__name__} is a subclass of {cls.__name__}; assignscope replays {what} only "
                    f"as {cls.__name__} computes it")
        return None
    return refuse


def _common_meta(torch, scores, assigner, params, **more):
    meta = {"device": _device(scores), "dtype": _dtype(scores), "autocast": _autocast(torch),
            "assigner": assigner, "assigner_params": params}
    meta.update(more)
    return meta


# --- ultralytics ----------------------------------------------------------------

_ULTRALYTICS_PRESETS = {
    # assignscope's presets of task-aligned.ultralytics: the live parameters that make each
    "v8.2": {"topk": 10, "alpha": 0.5, "beta": 6.0, "eps": 1e-9},
    "v8.4": {"topk": 10, "alpha": 0.5, "beta": 6.0, "eps": 1e-9, "stride": [8.0, 16.0, 32.0], "topk2": None},
    "yolo26-o2o": {"topk": 7, "alpha": 0.5, "beta": 6.0, "eps": 1e-9, "stride": [8.0, 16.0, 32.0], "topk2": 1},
    "yolov10-o2o": {"topk": 1, "alpha": 0.5, "beta": 6.0, "eps": 1e-9},
}


def _ultralytics_specs():
    import torch
    tal = importlib.import_module("ultralytics.utils.tal")
    version = _version("ultralytics")
    cls = tal.TaskAlignedAssigner
    wanted = ["self", "pd_scores", "pd_bboxes", "anc_points", "gt_labels", "gt_bboxes", "mask_gt"]
    names = list(inspect.signature(cls.forward).parameters)
    if names != wanted:
        raise ImportError(f"TaskAlignedAssigner.forward{tuple(names)}; expected the arguments {tuple(wanted)} "
                          f"(ultralytics 8.2 - 8.4)")

    def capture(owner, a):
        gt = _np(a["gt_bboxes"])
        if gt.ndim != 3 or gt.shape[-1] != 4:
            raise _NotDumped(f"gt_bboxes of shape {gt.shape}; expected [B, G, 4] (xyxy)")
        anc = _np(a["anc_points"])
        strides, counts, rows, cols = _grid_levels(anc, 0.5)
        per_point = np.repeat(strides, counts).astype(anc.dtype)[:, None]
        priors = np.concatenate([anc, per_point, per_point], axis=1)
        params = _params_of(owner, ("topk", "alpha", "beta", "eps"))
        if hasattr(owner, "stride"):  # 8.4+: small-object widening (STAL) and topk2
            stride = owner.stride
            stride = stride.tolist() if hasattr(stride, "tolist") else list(stride)
            params["stride"] = [float(v) for v in stride]
            topk2 = getattr(owner, "topk2", owner.topk)
            params["topk2"] = None if int(topk2) == int(owner.topk) else int(topk2)
        more = {}
        preset = next((name for name, p in _ULTRALYTICS_PRESETS.items() if p == params), None)
        if preset:
            more["preset"] = preset
        scores = a["pd_scores"]
        return {
            "fields": dict(priors=priors, num_level_priors=counts, cls_scores=_np(scores),
                           pred_bboxes=_np(a["pd_bboxes"]), gt_bboxes=gt, gt_labels=_np(a["gt_labels"]),
                           pad_gt_mask=_np(a["mask_gt"]), scores="probs",
                           image_size=(int(rows * strides[0]), int(cols * strides[0]))),
            "meta": _common_meta(torch, scores, "task-aligned.ultralytics", params, **more),
            "outputs": {
                "assigned_gt_inds": "target_gt_idx + 1 where fg_mask (as returned), 0 elsewhere",
                "assigned_labels": "target_labels where fg_mask, -1 elsewhere",
                "assign_metrics": "max over classes of the returned target_scores (the normalised alignment "
                                  "metric), 0 for negatives",
            },
        }

    def results(_owner, _snap, result):
        target_labels, _target_bboxes, target_scores, fg_mask, target_gt_idx = result
        fg = _np(fg_mask) > 0
        inds = np.where(fg, _np(target_gt_idx).astype(np.int64) + 1, 0)
        labels = np.where(fg, _np(target_labels).astype(np.int64), -1)
        ts = _np(target_scores)
        metrics = ts.max(axis=-1) if ts.shape[-1] else np.zeros(fg.shape, np.float32)
        metrics = np.where(fg, metrics, 0).astype(np.float32)
        return {"assigned_gt_inds": inds, "assigned_labels": labels, "assign_metrics": metrics}

    def branch(assigner):
        """one2many / one2one when an E2E loss (YOLO26's E2ELoss, YOLOv10's E2EDetectLoss) owns this assigner."""
        frame = sys._getframe(1)
        for _ in range(16):
            if frame is None:
                break
            owner = frame.f_locals.get("self")
            attrs = getattr(owner, "__dict__", None)
            if isinstance(attrs, dict):
                for name in ("one2many", "one2one"):
                    loss = attrs.get(name)
                    if loss is not None and getattr(loss, "__dict__", {}).get("assigner") is assigner:
                        return name
            frame = frame.f_back
        return None

    def image(_owner, _a, held):
        return _batch_images(held.get("inputs") if isinstance(held, dict) else None, "v8DetectionLoss's batch['img']",
                             dict(image_scale=1 / 255, image_channel_order="rgb",
                                  image_source="ultralytics batch['img'] (RGB, 0..1): pixel = x * 255"))

    def image_ids(_owner, a, held):
        files = held.get("ids") if isinstance(held, dict) else None  # batch["im_file"]: one path per image
        if files is None:
            return None
        if not isinstance(files, (list, tuple)):
            raise ValueError(f"batch['im_file'] is {type(files).__name__}; expected a list of paths")
        b = int(a["gt_bboxes"].shape[0])
        if len(files) != b:
            raise ValueError(f"batch['im_file'] holds {len(files)} paths for a batch of {b} images")
        return list(files)

    return [_Spec("ultralytics", version, cls, "forward", torch,
                  _exact_class(cls, "task-aligned.ultralytics"), capture, results, branch, image, image_ids)]


# --- YOLOX ----------------------------------------------------------------------

def _code_constants(func, kind):
    """The numeric literals of a function's code of one kind (float or int), nested code included."""
    found = set()
    stack = [getattr(func, "__code__", None)]
    while stack:
        code = stack.pop()
        if code is None:
            continue
        for c in code.co_consts:
            if hasattr(c, "co_consts"):
                stack.append(c)
            elif type(c) is kind:
                found.add(c)
    return found


def _yolox_specs():
    import torch
    head = importlib.import_module("yolox.models.yolo_head")
    version = _version("yolox")
    cls = head.YOLOXHead
    params = inspect.signature(cls.get_assignments).parameters
    needed = ("batch_idx", "num_gt", "gt_bboxes_per_image", "gt_classes", "bboxes_preds_per_image",
              "expanded_strides", "x_shifts", "y_shifts", "cls_preds", "obj_preds")
    missing = [n for n in needed if n not in params]
    if missing:
        raise ImportError(f"YOLOXHead.get_assignments has no argument {', '.join(missing)}")
    # YOLOX's main branch since 2022-11 (get_geometry_constraint: a centre square, +1e6) and the
    # 0.3.0 release (tag 2022-04, pip; get_in_boxes_info: box OR centre region of 2.5 strides,
    # +1e5 unless both) both call themselves 0.3.0; simota.yolox replays either, told apart by
    # its `geometry` parameter. Both take the grid at x_shifts * stride and add half a stride.
    geometry = getattr(cls, "get_geometry_constraint", None)
    assigner, shift, exact = "simota.yolox", 0.0, True
    if geometry is not None:
        geometry_name = "center"
        radii = _code_constants(geometry, float) - {0.0, 0.5}
        center_radius = radii.pop() if len(radii) == 1 else 1.5
        topks = _code_constants(getattr(cls, "simota_matching", None), int) - {0, 1, -1}
    else:
        geometry_name = "box-or-center"
        radii = _code_constants(getattr(cls, "get_in_boxes_info", None), float) - {0.0, 0.5}
        center_radius = radii.pop() if len(radii) == 1 else 2.5
        topks = _code_constants(getattr(cls, "dynamic_k_matching", None), int) - {0, 1, -1}
    candidate_topk = topks.pop() if len(topks) == 1 else 10
    fixed = {"center_radius": float(center_radius), "candidate_topk": int(candidate_topk),
             "iou_weight": 3.0, "cls_weight": 1.0, "geometry": geometry_name}

    def capture(owner, a):
        live = dict(fixed)
        for name in ("center_radius", "candidate_topk"):  # forks that made them attributes
            if isinstance(getattr(owner, name, None), (int, float, np.integer, np.floating)):
                live[name] = type(fixed[name])(getattr(owner, name))
        bi = int(a["batch_idx"])
        strides = _np(a["expanded_strides"]).astype(np.float64).reshape(-1)
        xs = _np(a["x_shifts"]).astype(np.float64).reshape(-1)
        ys = _np(a["y_shifts"]).astype(np.float64).reshape(-1)
        priors = np.stack([(xs + shift) * strides, (ys + shift) * strides, strides, strides], 1).astype(np.float32)
        change = np.flatnonzero(np.diff(strides) != 0) + 1
        counts = np.diff(np.concatenate([[0], change, [len(strides)]])).astype(np.int64)
        imgs = a.get("imgs")
        shape = getattr(imgs, "shape", None)
        if shape is not None and len(shape) == 4:
            image_size = (int(shape[2]), int(shape[3]))
        else:  # from the first level's grid: rows and columns times its stride
            n0 = int(counts[0])
            image_size = (int(round((ys[:n0].max() + 1) * strides[0])), int(round((xs[:n0].max() + 1) * strides[0])))
        cls_preds = a["cls_preds"][bi]
        return {
            "fields": dict(priors=priors, num_level_priors=counts, cls_scores=_np(cls_preds),
                           objectness=_np(a["obj_preds"][bi]), pred_bboxes=_np(a["bboxes_preds_per_image"]),
                           gt_bboxes=_np(a["gt_bboxes_per_image"]), gt_labels=_np(a["gt_classes"]),
                           box_format="cxcywh", image_size=image_size),
            "meta": _common_meta(torch, cls_preds, assigner, live, image_index=bi),
            "outputs": {
                "assigned_gt_inds": "matched_gt_inds + 1 on the returned fg_mask, 0 elsewhere",
                "assigned_labels": "gt_matched_classes on fg_mask, -1 elsewhere",
                "max_overlaps": "pred_ious_this_matching on fg_mask, 0 elsewhere",
            },
        }

    def results(_owner, snap, result):
        gt_matched_classes, fg_mask, pred_ious, matched_gt_inds, _num_fg = result
        fg = _np(fg_mask).astype(bool).reshape(-1)
        n = snap["fields"]["priors"].shape[0]
        if fg.shape != (n,):
            raise _NoResult(f"fg_mask: shape {fg.shape}; expected ({n},)")
        inds = np.zeros(n, np.int64)
        labels = np.full(n, -1, np.int64)
        overlaps = np.zeros(n, np.float32)
        inds[fg] = _np(matched_gt_inds).astype(np.int64).reshape(-1) + 1
        labels[fg] = _np(gt_matched_classes).astype(np.int64).reshape(-1)
        overlaps[fg] = _np(pred_ious).astype(np.float32).reshape(-1)
        return {"assigned_gt_inds": inds, "assigned_labels": labels, "max_overlaps": overlaps}

    def image(_owner, a, held):
        imgs = a.get("imgs")  # the 0.3.0 release passes them to get_assignments itself
        imgs = held if imgs is None else imgs
        if imgs is None:
            raise ValueError("no imgs: YOLOXHead.get_losses was not called around get_assignments")
        return dict(image=_np(imgs[int(a["batch_idx"])], "image"), image_channel_order="bgr",
                    image_source="YOLOX imgs[batch_idx] (BGR, 0..255, unnormalised)")

    return [_Spec("yolox", version, cls, "get_assignments", torch, lambda owner, a: None, capture,
                  results if exact else None, image=image)]


# --- mmdetection ------------------------------------------------------------------

def _iou_calculator_refusal(owner):
    calc = getattr(owner, "iou_calculator", None)
    if calc is not None and type(calc).__name__ != "BboxOverlaps2D":
        return f"iou_calculator is {type(calc).__name__}; assignscope replays BboxOverlaps2D"
    return None


def _mmdet_specs():
    import torch
    module = importlib.import_module("mmdet.models.task_modules.assigners.dynamic_soft_label_assigner")
    version = _version("mmdet")
    cls = module.DynamicSoftLabelAssigner
    exact = _exact_class(cls, "dynamic-soft-label")

    def refuse(owner, a):
        return exact(owner, a) or _iou_calculator_refusal(owner)

    def capture(owner, a):
        pred, gt, ignore = a["pred_instances"], a["gt_instances"], a.get("gt_instances_ignore")
        priors, gt_bboxes = _np(pred.priors), _np(gt.bboxes)
        if priors.ndim != 2 or priors.shape[1] != 4 or gt_bboxes.shape[-1:] != (4,):
            raise _NotDumped(f"priors {priors.shape} and gt boxes {gt_bboxes.shape}; expected [N, 4] and [G, 4]")
        fields = dict(priors=priors, cls_scores=_np(pred.scores), pred_bboxes=_np(pred.bboxes),
                      gt_bboxes=gt_bboxes, gt_labels=_np(gt.labels))
        center_of_mass = getattr(module, "center_of_mass", None)
        if center_of_mass is not None and hasattr(gt, "masks"):
            # The assigner's own centre (RTMDet-Ins): the framework's function, its eps.
            fields["gt_centers"] = _np(center_of_mass(gt.masks, eps=getattr(module, "EPS", 1e-7)))
        if ignore is not None and hasattr(ignore, "bboxes"):
            fields["gt_bboxes_ignore"] = _np(ignore.bboxes)
        params = _params_of(owner, ("soft_center_radius", "topk", "iou_weight"))
        return {
            "fields": fields,
            "meta": _common_meta(torch, pred.scores, "dynamic-soft-label", params),
            "outputs": {
                "assigned_gt_inds": "AssignResult.gt_inds as returned",
                "assigned_labels": "AssignResult.labels as returned (-1 off positives)",
                "max_overlaps": "AssignResult.max_overlaps as returned",
            },
        }

    def results(_owner, _snap, result):
        out = {"assigned_gt_inds": _np(result.gt_inds).astype(np.int64)}
        if getattr(result, "labels", None) is not None:
            out["assigned_labels"] = _np(result.labels).astype(np.int64)
        if getattr(result, "max_overlaps", None) is not None:
            out["max_overlaps"] = _np(result.max_overlaps).astype(np.float32)
        return out

    def image(_owner, _a, held):
        if not isinstance(held, dict) or held.get("inputs") is None:
            raise ValueError("no batch_inputs: the detector's loss() was not called around the assigner")
        index = held["calls"] - 1  # _get_targets_single assigns the images of the batch in order
        inputs = held["inputs"]
        if not 0 <= index < int(inputs.shape[0]):
            raise ValueError(f"assign call {index + 1} of a batch of {int(inputs.shape[0])} images")
        return dict(image=_np(inputs[index], "image"), **_mmdet_normalisation(held["preprocessor"], index))

    def image_ids(_owner, _a, held):
        if not isinstance(held, dict):
            return None  # called outside a detector's loss(): no data samples
        samples = _mmdet_samples(held.get("samples"))
        index = held["calls"] - 1  # as image(): the n-th assign call of the step is image n - 1
        if samples is None or not 0 <= index < len(samples):
            return None
        return [_mmdet_sample_id(samples[index])]

    return [_Spec("mmdet", version, cls, "assign", torch, refuse, capture, results, image=image,
                  image_ids=image_ids)]


# --- mmyolo ---------------------------------------------------------------------

def _mmyolo_specs():
    import torch
    module = importlib.import_module("mmyolo.models.task_modules.assigners.batch_dsl_assigner")
    version = _version("mmyolo")
    cls = module.BatchDynamicSoftLabelAssigner
    wanted = ["self", "pred_bboxes", "pred_scores", "priors", "gt_labels", "gt_bboxes", "pad_bbox_flag"]
    names = list(inspect.signature(cls.forward).parameters)
    if names != wanted:
        raise ImportError(f"BatchDynamicSoftLabelAssigner.forward{tuple(names)}; expected {tuple(wanted)} "
                          f"(mmyolo 0.6)")
    exact = _exact_class(cls, "dynamic-soft-label.mmyolo")

    def refuse(owner, a):
        return exact(owner, a) or _iou_calculator_refusal(owner)

    def capture(owner, a):
        pred_bboxes, gt_bboxes = _np(a["pred_bboxes"]), _np(a["gt_bboxes"])
        if pred_bboxes.shape[-1:] != (4,) or gt_bboxes.shape[-1:] != (4,):
            raise _NotDumped(f"boxes with {pred_bboxes.shape[-1]} columns (rotated?); expected xyxy")
        params = _params_of(owner, ("soft_center_radius", "topk", "iou_weight"))
        scores = a["pred_scores"]
        return {
            "fields": dict(priors=_np(a["priors"]), cls_scores=_np(scores), pred_bboxes=pred_bboxes,
                           gt_bboxes=gt_bboxes, gt_labels=_np(a["gt_labels"]), pad_gt_mask=_np(a["pad_bbox_flag"])),
            "meta": _common_meta(torch, scores, "dynamic-soft-label.mmyolo", params),
            "num_classes": int(owner.num_classes),
            "outputs": {
                "assigned_gt_inds": "the GT whose box the returned assigned_bboxes holds, + 1, at positives "
                                    "(assigned_labels != num_classes); 0 elsewhere. Recorded only when that GT "
                                    "is unique",
                "assigned_labels": "the returned assigned_labels, num_classes (background) as -1",
                "assign_metrics": "the returned assign_metrics (IoU with the matched GT, 0 elsewhere)",
            },
        }

    def results(_owner, snap, result):
        c = snap["num_classes"]
        labels = _np(result["assigned_labels"]).astype(np.int64)
        fg = labels != c
        boxes = _np(result["assigned_bboxes"])
        gt = snap["fields"]["gt_bboxes"]
        gt_labels = snap["fields"]["gt_labels"].reshape(gt.shape[:2]).astype(np.int64)
        inds = np.zeros(labels.shape, np.int64)
        for b, p in np.argwhere(fg):
            same = np.flatnonzero(np.all(gt[b] == boxes[b, p], axis=-1))
            if len(same) != 1 or gt_labels[b, same[0]] != labels[b, p]:
                raise _NoResult(f"ambiguous GT: prior {p} of image {b} holds a box that {len(same)} GTs have; "
                                f"the GT index is not recoverable from mmyolo's result")
            inds[b, p] = same[0] + 1
        return {"assigned_gt_inds": inds, "assigned_labels": np.where(fg, labels, -1),
                "assign_metrics": np.where(fg, _np(result["assign_metrics"]), 0).astype(np.float32)}

    def image(_owner, _a, held):
        if not isinstance(held, dict) or held.get("inputs") is None:
            raise ValueError("no batch_inputs: the detector's loss() was not called around the assigner")
        return _batch_images(held["inputs"], "the detector's batch_inputs",
                             _mmdet_normalisation(held["preprocessor"], None))

    def image_ids(_owner, a, held):
        samples = _mmdet_samples(held.get("samples")) if isinstance(held, dict) else None
        if samples is None:
            return None
        b = int(a["gt_bboxes"].shape[0])
        if len(samples) != b:
            raise ValueError(f"{len(samples)} data samples for a batch of {b} images")
        return [_mmdet_sample_id(sample) for sample in samples]

    return [_Spec("mmyolo", version, cls, "forward", torch, refuse, capture, results, image=image,
                  image_ids=image_ids)]


# --- the network input (install(image=True)) ---------------------------------------

def _batch_images(images, what, normalisation):
    """dump()'s image arguments for a batch dump: the image itself when B = 1, else ``per_image``, one set per
    image, which makes the hooks write the batch as a directory of one-image dumps (the loader takes an image
    only in a one-image dump)."""
    if images is None:
        raise ValueError(f"no {what} caught during the call")
    b = int(images.shape[0])
    if b == 1:
        return dict(image=_np(images[0], "image"), **normalisation)
    return {"per_image": [dict(image=_np(images[i], "image"), **normalisation) for i in range(b)]}


def _mmdet_normalisation(preprocessor, index):
    """dump()'s de-normalisation of DetDataPreprocessor's output: x = (flip(pixel) - mean) / std.

    mmcv loads BGR; ``bgr_to_rgb`` (or ``rgb_to_bgr``) sets ``_channel_conversion`` and the tensor is RGB
    then; ``mean`` / ``std`` are [C, 1, 1] buffers in the tensor's order, applied when ``_enable_normalize``.
    """
    if preprocessor is None:
        raise ValueError("the detector has no data_preprocessor")
    order = "rgb" if getattr(preprocessor, "_channel_conversion", False) else "bgr"
    out = dict(image_channel_order=order,
               image_source=f"{type(preprocessor).__name__} batch_inputs" + ("" if index is None else f"[{index}]")
                            + f" ({order.upper()}): pixel = x * std + mean")
    if getattr(preprocessor, "_enable_normalize", False):
        out["image_mean"] = _np(preprocessor.mean, "mean").reshape(-1)
        out["image_std"] = _np(preprocessor.std, "std").reshape(-1)
    return out


def _mmdet_samples(samples):
    """The per-image entries of a detector's batch_data_samples: a list of DetDataSample, or of dicts under
    "img_metas" (mmyolo's yolov5_collate path, whose metas hold no img_id nor img_path); None when neither."""
    if isinstance(samples, dict):
        samples = samples.get("img_metas")
    return samples if isinstance(samples, (list, tuple)) else None


def _mmdet_sample_id(sample):
    """An image's id in its dataset from its data sample: metainfo "img_id" (COCO's integer id), else
    "img_path"; None when it has neither."""
    info = sample if isinstance(sample, dict) else getattr(sample, "metainfo", None)
    if not isinstance(info, dict):
        return None
    value = info.get("img_id")
    return info.get("img_path") if value is None else value


def _argument(args, kwargs, position, name):
    """A call's argument by position (self at 0) or by keyword."""
    return args[position] if len(args) > position else kwargs.get(name)


def _ultralytics_stash():
    loss = importlib.import_module("ultralytics.utils.loss")

    def pick(args, kwargs):
        batch = _argument(args, kwargs, 2, "batch")
        return {"inputs": batch.get("img"), "ids": batch.get("im_file")} if isinstance(batch, dict) else None

    out = []
    for name in ("v8DetectionLoss", "E2ELoss", "E2EDetectLoss"):
        cls = getattr(loss, name, None)
        for attr in ("__call__", "loss"):
            if cls is not None and attr in cls.__dict__:
                out.append((cls, attr, pick))
    if not out:
        raise ImportError("ultralytics.utils.loss has no v8DetectionLoss.__call__")
    return out


def _yolox_stash():
    head = importlib.import_module("yolox.models.yolo_head")
    return [(head.YOLOXHead, "get_losses", lambda args, kwargs: _argument(args, kwargs, 1, "imgs"))]


def _mmdet_stash():
    single = importlib.import_module("mmdet.models.detectors.single_stage")

    def pick(args, kwargs):
        return {"inputs": _argument(args, kwargs, 1, "batch_inputs"),
                "samples": _argument(args, kwargs, 2, "batch_data_samples"),
                "preprocessor": getattr(args[0], "data_preprocessor", None), "calls": 0}

    return [(single.SingleStageDetector, "loss", pick)]


_STASH_BUILDERS = {"ultralytics": _ultralytics_stash, "yolox": _yolox_stash, "mmdet": _mmdet_stash,
                   "mmyolo": _mmdet_stash}
_STASH_KEY = {"mmyolo": "mmdet"}  # mmyolo's detectors are mmdetection's: one patch catches both
# Frameworks whose caught batch also holds the images' ids in their dataset: their input is caught even without
# image=True (a reference for the step, read on dumped calls only). YOLOX's get_losses receives no ids.
_ID_FRAMEWORKS = ("ultralytics", "mmdet", "mmyolo")


_SPEC_BUILDERS = {"ultralytics": _ultralytics_specs, "yolox": _yolox_specs, "mmdet": _mmdet_specs,
                  "mmyolo": _mmyolo_specs}
