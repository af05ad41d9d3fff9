#!/usr/bin/python3
"""tools/python/assignscope_hooks.py against fake frameworks: what the hooks write, and that training never notices.

    /usr/bin/python3 tests/python/test_assignscope_hooks.py BUILD/assignscope [SOURCE_DIR]

Needs numpy only: torch, ultralytics (8.2 and 8.4 shapes), YOLOX (both
get_assignments generations), mmdetection and mmyolo are small fakes written
into a temporary directory, with the real classes' names, signatures and
return conventions. Where a golden case is at hand, the fake assigner returns
the reference's stored result for that case's inputs, so the result the hook
records is checked against the golden files and, where the binary supports
the dump-format additions it needs, by `assignscope check`. Prints one line
per failed check, a `skip:` line per part the binary cannot run yet and, last,
how many checks ran; exits 1 when any failed. Run by ctest as the test
`python: assignscope_hooks.py dumps from patched framework assigners`.
"""

import json
import os
import subprocess
import sys
import tempfile
import textwrap
import traceback
import warnings
from pathlib import Path

import numpy as np

if len(sys.argv) not in (2, 3):
    sys.exit(__doc__)
BIN = Path(sys.argv[1]).resolve()
SRC = Path(sys.argv[2] if len(sys.argv) == 3 else Path(__file__).resolve().parents[2]).resolve()
GOLDEN_LOCAL = SRC / "testdata" / "golden"
GOLDEN_SHARED = SRC.parent / "shared" / "golden"
sys.dont_write_bytecode = True  # no __pycache__ in the source tree or the fakes
sys.path.insert(0, str(SRC / "tools" / "python"))

checks = 0
failures = []
skips = []


def check(cond, what):
    global checks
    checks += 1
    if not cond:
        failures.append(what)
        print(f"FAIL: {what}", flush=True)
    return cond


def skip(what):
    skips.append(what)
    print(f"skip: {what}", flush=True)


# --- the fakes ------------------------------------------------------------------

FAKE_TORCH = {
    "torch/__init__.py": '''
        """A stand-in for torch: the calls assignscope_hooks and the fake frameworks make."""
        import functools
        import numpy as np
        from . import nn

        __version__ = "0.0+fake"
        _state = {"grad": True, "inference": False, "autocast": False, "autocast_cpu": False}


        class dtype:
            def __init__(self, name):
                self.name = name

            def __repr__(self):
                return "torch." + self.name

            __str__ = __repr__


        class Tensor:
            """A numpy array with a device; detach() shares memory, as torch's does."""

            def __init__(self, array, device="cpu"):
                self.a = np.asarray(array)
                self.device = device

            @property
            def dtype(self):
                return dtype(str(self.a.dtype))

            @property
            def shape(self):
                return self.a.shape

            def detach(self):
                return Tensor(self.a, self.device)

            def cpu(self):
                return Tensor(self.a, "cpu")

            def numpy(self):
                if self.device != "cpu":
                    raise TypeError("can't convert " + self.device + " device type tensor to numpy; use .cpu()")
                return self.a

            def float(self):
                return Tensor(self.a.astype(np.float32), self.device)

            def __getitem__(self, i):
                return Tensor(self.a[i], self.device)

            def size(self, d=None):
                return self.a.shape if d is None else self.a.shape[d]

            def tolist(self):
                return self.a.tolist()

            def __int__(self):
                return int(self.a)


        def tensor(x, device="cpu"):
            return Tensor(np.asarray(x), device)


        class _Mode:
            def __init__(self, **changes):
                self.changes = changes

            def __enter__(self):
                self.saved = dict(_state)
                _state.update(self.changes)
                return self

            def __exit__(self, *exc):
                _state.clear()
                _state.update(self.saved)
                return False

            def __call__(self, func):
                @functools.wraps(func)
                def run(*args, **kwargs):
                    with _Mode(**self.changes):
                        return func(*args, **kwargs)
                return run


        def no_grad():
            return _Mode(grad=False)


        def inference_mode(mode=True):
            return _Mode(inference=mode, grad=not mode)


        def autocast(device_type="cuda", enabled=True):
            return _Mode(**{("autocast_cpu" if device_type == "cpu" else "autocast"): enabled})


        def is_grad_enabled():
            return _state["grad"]


        def is_inference_mode_enabled():
            return _state["inference"]


        def is_autocast_enabled(device_type=None):
            return _state["autocast_cpu" if device_type == "cpu" else "autocast"]
    ''',
    "torch/nn/__init__.py": '''
        class Module:
            def __call__(self, *args, **kwargs):
                return self.forward(*args, **kwargs)
    ''',
}

# ultralytics: tal.py and loss.py in the 8.4 shape (stride, topk2, E2ELoss) or the 8.2 shape.
ULTRALYTICS_TAL = '''
    import numpy as np
    import torch
    from torch import nn

    CALLS = []  # (assigner, result) of every forward call


    class TaskAlignedAssigner(nn.Module):
        oracle = None  # set by the test: f(self, *inputs) -> the reference's result for a golden input, or None

    %(init)s

        @torch.no_grad()
        def forward(self, pd_scores, pd_bboxes, anc_points, gt_labels, gt_bboxes, mask_gt):
            assert not torch.is_grad_enabled()
            out = type(self).oracle(self, pd_scores, pd_bboxes, anc_points, gt_labels, gt_bboxes, mask_gt) \\
                if type(self).oracle else None
            if out is None:
                out = simple(self, pd_scores, anc_points, gt_labels, gt_bboxes, mask_gt)
            CALLS.append((self, out))
            return out


    class RotatedTaskAlignedAssigner(TaskAlignedAssigner):
        pass


    def simple(self, pd_scores, anc_points, gt_labels, gt_bboxes, mask_gt):
        """Not ultralytics' algorithm: each real GT takes its topk2 inside points by score (enough to test hooks)."""
        s = pd_scores.a.astype(np.float32)
        pts = anc_points.a.astype(np.float32)
        gt, lab, m = gt_bboxes.a, gt_labels.a[..., 0].astype(np.int64), mask_gt.a[..., 0] > 0
        b_, n, c = s.shape
        g = gt.shape[1]
        metric = np.zeros((b_, g, n), np.float32)
        for b in range(b_):
            for j in range(g):
                if not m[b, j]:
                    continue
                inside = (pts[:, 0] > gt[b, j, 0]) & (pts[:, 0] < gt[b, j, 2]) & \\
                         (pts[:, 1] > gt[b, j, 1]) & (pts[:, 1] < gt[b, j, 3])
                metric[b, j] = np.where(inside, s[b, :, lab[b, j]] + 1e-3, 0)
                keep = np.argsort(-metric[b, j], kind="stable")[:getattr(self, "topk2", self.topk)]
                mask = np.zeros(n, bool)
                mask[keep] = True
                metric[b, j][~mask] = 0
        fg = metric.max(1) > 0 if g else np.zeros((b_, n), bool)
        idx = metric.argmax(1) if g else np.zeros((b_, n), np.int64)
        labels = np.take_along_axis(lab, idx, 1) if g else np.full((b_, n), self.num_classes)
        scores = np.zeros((b_, n, c), np.float32)
        bb, pp = np.nonzero(fg)
        scores[bb, pp, labels[bb, pp]] = metric.max(1)[bb, pp]
        boxes = np.take_along_axis(gt, idx[..., None], 1) if g else np.zeros((b_, n, 4), np.float32)
        return (torch.tensor(labels), torch.tensor(boxes), torch.tensor(scores), torch.tensor(fg),
                torch.tensor(idx))
'''
INIT_84 = '''
        def __init__(self, topk=13, num_classes=80, alpha=1.0, beta=6.0, stride=[8, 16, 32], eps=1e-9, topk2=None):
            self.topk = topk
            self.topk2 = topk2 or topk
            self.num_classes = num_classes
            self.alpha = alpha
            self.beta = beta
            self.stride = stride
            self.stride_val = self.stride[1] if len(self.stride) > 1 else self.stride[0]
            self.eps = eps
'''
INIT_82 = '''
        def __init__(self, topk=13, num_classes=80, alpha=1.0, beta=6.0, eps=1e-9):
            self.topk = topk
            self.num_classes = num_classes
            self.bg_idx = num_classes
            self.alpha = alpha
            self.beta = beta
            self.eps = eps
'''
ULTRALYTICS_LOSS_84 = '''
    from .tal import TaskAlignedAssigner


    class v8DetectionLoss:
        def __init__(self, model, tal_topk=10, tal_topk2=None):
            self.stride = model.stride
            self.nc = model.nc
            self.assigner = TaskAlignedAssigner(topk=tal_topk, num_classes=self.nc, alpha=0.5, beta=6.0,
                                                stride=list(self.stride), topk2=tal_topk2)
            self.returned = []

        def get_assigned_targets_and_loss(self, preds, batch):
            out = self.assigner(preds["pd_scores"], preds["pd_bboxes"], preds["anc_points"], batch["gt_labels"],
                                batch["gt_bboxes"], batch["mask_gt"])
            self.returned.append(out)
            return out, float(out[2].a.sum())

        def loss(self, preds, batch):
            return self.get_assigned_targets_and_loss(preds, batch)[1]

        def __call__(self, preds, batch):
            return self.loss(preds, batch)


    class E2ELoss:
        def __init__(self, model, loss_fn=v8DetectionLoss):
            self.one2many = loss_fn(model, tal_topk=10)
            self.one2one = loss_fn(model, tal_topk=7, tal_topk2=1)

        def __call__(self, preds, batch):
            return self.one2many.loss(preds["one2many"], batch) + self.one2one.loss(preds["one2one"], batch)
'''
ULTRALYTICS_LOSS_82 = '''
    from .tal import TaskAlignedAssigner


    class v8DetectionLoss:
        def __init__(self, model, tal_topk=10):
            self.stride = model.stride
            self.nc = model.nc
            self.assigner = TaskAlignedAssigner(topk=tal_topk, num_classes=self.nc, alpha=0.5, beta=6.0)
            self.returned = []

        def __call__(self, preds, batch):
            out = self.assigner(preds["pd_scores"], preds["pd_bboxes"], preds["anc_points"], batch["gt_labels"],
                                batch["gt_bboxes"], batch["mask_gt"])
            self.returned.append(out)
            return float(out[2].a.sum())


    class E2EDetectLoss:
        def __init__(self, model):
            self.one2many = v8DetectionLoss(model, tal_topk=10)
            self.one2one = v8DetectionLoss(model, tal_topk=1)

        def __call__(self, preds, batch):
            return self.one2many(preds["one2many"], batch) + self.one2one(preds["one2one"], batch)
'''


def ultralytics_fake(version, init, loss):
    return {
        "ultralytics/__init__.py": f'__version__ = "{version}"\n',
        "ultralytics/utils/__init__.py": "",
        "ultralytics/utils/tal.py": ULTRALYTICS_TAL % {"init": textwrap.indent(textwrap.dedent(init), " " * 8)},
        "ultralytics/utils/loss.py": loss,
    }


YOLOX_NEW = {
    "yolox/__init__.py": '__version__ = "0.3.0"\n',
    "yolox/models/__init__.py": "",
    "yolox/models/yolo_head.py": '''
        import numpy as np
        import torch
        from torch import nn


        class YOLOXHead(nn.Module):
            """get_assignments as on YOLOX's main branch since 2022-11 (get_geometry_constraint, simota_matching)."""
            oracle = None

            def __init__(self, num_classes):
                self.num_classes = num_classes
                self.calls = 0
                self.returned = []

            def get_losses(self, imgs, x_shifts, y_shifts, expanded_strides, labels, outputs):
                bbox_preds, obj_preds, cls_preds = outputs[:, :, :4], outputs[:, :, 4:5], outputs[:, :, 5:]
                nlabel = (labels.a.sum(2) > 0).sum(1)
                for batch_idx in range(outputs.shape[0]):
                    num_gt = int(nlabel[batch_idx])
                    if num_gt == 0:
                        continue
                    out = self.get_assignments(batch_idx, num_gt, labels[batch_idx, :num_gt, 1:5],
                                               labels[batch_idx, :num_gt, 0], bbox_preds[batch_idx],
                                               expanded_strides, x_shifts, y_shifts, cls_preds, obj_preds)
                    self.returned.append(out)

            @torch.no_grad()
            def get_assignments(self, batch_idx, num_gt, gt_bboxes_per_image, gt_classes, bboxes_preds_per_image,
                                expanded_strides, x_shifts, y_shifts, cls_preds, obj_preds, mode="gpu"):
                self.calls += 1
                out = type(self).oracle(self, batch_idx, gt_bboxes_per_image, gt_classes) if type(self).oracle else None
                if out is not None:
                    return out
                fg_mask, geometry = self.get_geometry_constraint(gt_bboxes_per_image, expanded_strides, x_shifts,
                                                                 y_shifts)
                matched = geometry.argmax(0)  # not YOLOX's matching: the first GT whose square holds the point
                fg = fg_mask.a.copy()
                classes = gt_classes.a[matched]
                return (torch.tensor(classes), torch.tensor(fg), torch.tensor(np.full(len(matched), 0.5, np.float32)),
                        torch.tensor(matched), int(fg.sum()))

            def get_geometry_constraint(self, gt_bboxes_per_image, expanded_strides, x_shifts, y_shifts):
                s = expanded_strides.a[0]
                x = (x_shifts.a[0] + 0.5) * s
                y = (y_shifts.a[0] + 0.5) * s
                center_radius = 1.5
                gt = gt_bboxes_per_image.a
                inside = (np.abs(x[None] - gt[:, 0:1]) < center_radius * s) & \\
                         (np.abs(y[None] - gt[:, 1:2]) < center_radius * s)
                anchor_filter = inside.sum(0) > 0.0
                return torch.tensor(anchor_filter), inside[:, anchor_filter]

            def simota_matching(self, cost, pair_wise_ious, gt_classes, num_gt, fg_mask):
                return min(10, pair_wise_ious.shape[1])
    ''',
}

YOLOX_OLD = {
    "yolox/__init__.py": '__version__ = "0.3.0"\n',
    "yolox/models/__init__.py": "",
    "yolox/models/yolo_head.py": '''
        import numpy as np
        import torch
        from torch import nn


        class YOLOXHead(nn.Module):
            """get_assignments as at the 0.3.0 tag (get_in_boxes_info, dynamic_k_matching)."""

            def __init__(self, num_classes):
                self.num_classes = num_classes
                self.calls = 0

            @torch.no_grad()
            def get_assignments(self, batch_idx, num_gt, total_num_anchors, gt_bboxes_per_image, gt_classes,
                                bboxes_preds_per_image, expanded_strides, x_shifts, y_shifts, cls_preds, bbox_preds,
                                obj_preds, labels, imgs, mode="gpu"):
                self.calls += 1
                n = total_num_anchors
                fg = np.zeros(n, bool)
                fg[:num_gt] = True
                return (gt_classes, torch.tensor(fg), torch.tensor(np.ones(num_gt, np.float32)),
                        torch.tensor(np.arange(num_gt)), num_gt)

            def get_in_boxes_info(self, gt_bboxes_per_image, expanded_strides, x_shifts, y_shifts, total_num_anchors,
                                  num_gt):
                center_radius = 2.5
                return center_radius * (x_shifts + 0.5) > 0.0

            def dynamic_k_matching(self, cost, pair_wise_ious, gt_classes, num_gt, fg_mask):
                return min(10, pair_wise_ious.size(1))
    ''',
}

MMDET = {
    "mmdet/__init__.py": '__version__ = "3.3.0"\n',
    "mmdet/models/__init__.py": "",
    "mmdet/models/task_modules/__init__.py": "",
    "mmdet/models/task_modules/assigners/__init__.py": "",
    "mmdet/models/detectors/__init__.py": "",
    "mmdet/models/detectors/single_stage.py": '''
        class SingleStageDetector:
            """loss(batch_inputs, batch_data_samples) after data_preprocessor, as mmdet 3.x calls it."""

            def __init__(self, data_preprocessor, head_loss):
                self.data_preprocessor = data_preprocessor
                self.head_loss = head_loss

            def loss(self, batch_inputs, batch_data_samples):
                return self.head_loss(batch_inputs, batch_data_samples)
    ''',
    "mmdet/models/task_modules/assigners/dynamic_soft_label_assigner.py": '''
        import numpy as np
        import torch

        INF = 100000000
        EPS = 1.0e-7
        CENTER_CALLS = []  # eps of every center_of_mass call


        def center_of_mass(masks, eps=1e-7):
            CENTER_CALLS.append(eps)
            m = masks.a.astype(np.float32)
            n, h, w = m.shape
            normalizer = np.maximum(m.sum((1, 2)), eps)
            cy = (m * np.arange(h)[:, None]).sum((1, 2)) / normalizer
            cx = (m * np.arange(w)).sum((1, 2)) / normalizer
            return torch.tensor(np.stack([cx, cy], 1).astype(np.float32))


        class BboxOverlaps2D:
            pass


        class AssignResult:
            def __init__(self, num_gts, gt_inds, max_overlaps, labels=None):
                self.num_gts, self.gt_inds, self.max_overlaps, self.labels = num_gts, gt_inds, max_overlaps, labels


        class DynamicSoftLabelAssigner:
            oracle = None

            def __init__(self, soft_center_radius=3.0, topk=13, iou_weight=3.0, iou_calculator=None):
                self.soft_center_radius = soft_center_radius
                self.topk = topk
                self.iou_weight = iou_weight
                self.iou_calculator = iou_calculator or BboxOverlaps2D()
                self.calls = 0

            def assign(self, pred_instances, gt_instances, gt_instances_ignore=None, **kwargs):
                self.calls += 1
                out = type(self).oracle(self, pred_instances, gt_instances) if type(self).oracle else None
                if out is not None:
                    return out
                n = pred_instances.priors.shape[0]
                g = gt_instances.bboxes.shape[0]
                inds = np.zeros(n, np.int64)
                inds[:g] = np.arange(g) + 1
                labels = np.full(n, -1, np.int64)
                labels[:g] = gt_instances.labels.a
                overlaps = np.full(n, -INF, np.float32)
                overlaps[:g] = 0.75
                return AssignResult(g, torch.tensor(inds), torch.tensor(overlaps), labels=torch.tensor(labels))
    ''',
}

MMYOLO = {
    "mmyolo/__init__.py": '__version__ = "0.6.0"\n',
    "mmyolo/models/__init__.py": "",
    "mmyolo/models/task_modules/__init__.py": "",
    "mmyolo/models/task_modules/assigners/__init__.py": "",
    "mmyolo/models/task_modules/assigners/batch_dsl_assigner.py": '''
        import numpy as np
        import torch
        from torch import nn


        class BboxOverlaps2D:
            pass


        class BatchDynamicSoftLabelAssigner(nn.Module):
            oracle = None

            def __init__(self, num_classes, soft_center_radius=3.0, topk=13, iou_weight=3.0, iou_calculator=None,
                         batch_iou=True):
                self.num_classes = num_classes
                self.soft_center_radius = soft_center_radius
                self.topk = topk
                self.iou_weight = iou_weight
                self.iou_calculator = iou_calculator or BboxOverlaps2D()
                self.batch_iou = batch_iou
                self.calls = 0

            @torch.no_grad()
            def forward(self, pred_bboxes, pred_scores, priors, gt_labels, gt_bboxes, pad_bbox_flag):
                self.calls += 1
                out = type(self).oracle(self, gt_bboxes) if type(self).oracle else None
                if out is not None:
                    return out
                b, n, _ = pred_bboxes.shape
                g = gt_bboxes.shape[1]
                labels = np.full((b, n), self.num_classes, np.int64)
                boxes = np.zeros((b, n, 4), np.float32)
                metrics = np.zeros((b, n), np.float32)
                for i in range(b):  # not the real algorithm: prior j takes GT j
                    for j in range(int(pad_bbox_flag.a[i].sum())):
                        labels[i, j], boxes[i, j], metrics[i, j] = gt_labels.a[i, j, 0], gt_bboxes.a[i, j], 0.5
                return dict(assigned_labels=torch.tensor(labels), assigned_labels_weights=torch.tensor(np.ones((b, n))),
                            assigned_bboxes=torch.tensor(boxes), assign_metrics=torch.tensor(metrics))
    ''',
}


class Fakes:
    """Writes fake packages into roots and switches which root a package is imported from."""

    def __init__(self, base):
        self.base = base
        self.roots = []

    def write(self, name, files):
        root = self.base / name
        for rel, text in files.items():
            p = root / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(textwrap.dedent(text).lstrip("\n"))
        self.roots.append(root)
        return root

    def use(self, *roots):
        """Only these fake roots on sys.path (first), every fake package forgotten so that it is imported anew."""
        sys.path[:] = [p for p in sys.path if Path(p) not in self.roots]
        sys.path[0:0] = [str(r) for r in roots]
        for name in list(sys.modules):
            if name.split(".")[0] in ("torch", "ultralytics", "yolox", "mmdet", "mmyolo"):
                del sys.modules[name]
        import importlib
        importlib.invalidate_caches()


# --- helpers --------------------------------------------------------------------

def sigmoid32(x):
    x = np.asarray(x, np.float32)
    return (np.float32(1) / (np.float32(1) + np.exp(-x))).astype(np.float32)


def make_anchors(hw_list, strides, dtype=np.float32):
    """(col + 0.5) * stride per level, row-major, in `dtype`: ultralytics' make_anchors times the stride tensor."""
    pts = []
    for (h, w), s in zip(hw_list, strides):
        sx = np.arange(w, dtype=dtype) + dtype(0.5)
        sy = np.arange(h, dtype=dtype) + dtype(0.5)
        yy, xx = np.meshgrid(sy, sx, indexing="ij")
        pts.append(np.stack([xx, yy], -1).reshape(-1, 2) * dtype(s))
    return np.concatenate(pts).astype(dtype)


def ultralytics_inputs(torch, seed=0, b=2, score_dtype=np.float32, device="cpu", anchors_dtype=np.float32):
    """A 64 x 64 batch, strides 8 / 16 / 32 (84 priors), 3 classes, GTs padded to 3."""
    rng = np.random.default_rng(seed)
    anc = make_anchors([(8, 8), (4, 4), (2, 2)], [8, 16, 32], anchors_dtype)
    n = len(anc)
    logits = rng.normal(-2, 1.5, (b, n, 3)).astype(np.float32)
    scores = sigmoid32(logits).astype(score_dtype)
    half = rng.uniform(4, 12, (b, n, 2)).astype(np.float32)
    boxes = np.concatenate([anc[None].astype(np.float32) - half, anc[None].astype(np.float32) + half], -1)
    gt = np.zeros((b, 3, 4), np.float32)
    labels = np.zeros((b, 3, 1), np.float32)
    mask = np.zeros((b, 3, 1), np.float32)
    for i in range(b):
        for j in range(3 - i):  # image i holds 3 - i real GTs, then padding
            x1, y1 = rng.uniform(0, 40, 2)
            gt[i, j] = [x1, y1, x1 + rng.uniform(8, 24), y1 + rng.uniform(8, 24)]
            labels[i, j, 0] = rng.integers(0, 3)
            mask[i, j, 0] = 1
    t = lambda a: torch.Tensor(a, device)  # noqa: E731
    preds = dict(pd_scores=t(scores), pd_bboxes=t(boxes), anc_points=t(anc))
    batch = dict(gt_labels=t(labels), gt_bboxes=t(gt), mask_gt=t(mask))
    return preds, batch


class Model:
    stride = [8.0, 16.0, 32.0]
    nc = 3


def catch():
    """A warnings recorder that keeps every AssignscopeHookWarning."""
    rec = warnings.catch_warnings(record=True)
    log = rec.__enter__()
    warnings.simplefilter("always")
    return rec, log


def hook_warnings(log):
    import assignscope_hooks
    return [str(w.message) for w in log if issubclass(w.category, assignscope_hooks.AssignscopeHookWarning)]


def names(d):
    return sorted(p.name for p in Path(d).iterdir()) if Path(d).is_dir() else []


def meta_of(dump_dir):
    return json.loads((Path(dump_dir) / "meta.json").read_text())


def tree_copy(out):
    """Arrays of a framework result, copied, to check later that nobody changed them."""
    return [np.array(t.a, copy=True) if hasattr(t, "a") else t for t in out]


def same_result(out, copies):
    return all((np.array_equal(t.a, c) and t.a.dtype == c.dtype) if hasattr(t, "a") else t == c
               for t, c in zip(out, copies))


def run_cli(*args):
    return subprocess.run([str(BIN), *map(str, args)], capture_output=True, text=True, timeout=300)


class Support:
    """Which dump-format additions (issue 12) the assignscope binary handles, probed once."""

    def __init__(self, tmp):
        from assignscope_dump import dump
        self.binary = BIN.is_file()
        self.stride_topk2 = self.box_format = self.gt_centers = self.no_assigner = False
        if not self.binary:
            return
        listing = run_cli("list").stdout
        self.stride_topk2 = "topk2" in listing and "stride" in listing
        base = dict(priors=[[4, 4, 8, 8], [12, 4, 8, 8], [4, 12, 8, 8], [12, 12, 8, 8]],
                    cls_scores=np.zeros((4, 2), np.float32), objectness=np.zeros(4, np.float32))
        # (8, 8, 4, 4) read as xyxy is an inverted box: a binary without box_format refuses it.
        d = dump(tmp / "probe-cxcywh", box_format="cxcywh", pred_bboxes=[[4, 4, 8, 8]] * 4,
                 gt_bboxes=[[8, 8, 4, 4]], gt_labels=[1], **base)
        self.box_format = run_cli("run", d, "-a", "simota.yolox", "-f", "json").returncode == 0
        d = dump(tmp / "probe-centers", pred_bboxes=[[0, 0, 8, 8]] * 4, gt_bboxes=[[2, 2, 14, 14]], gt_labels=[1],
                 gt_centers=[[9, 9]], meta={"assigner": "dynamic-soft-label", "assigner_params": {"topk": 13}},
                 **{k: v for k, v in base.items() if k != "objectness"})
        p = run_cli("run", d, "-a", "dynamic-soft-label", "-f", "json")
        self.gt_centers = p.returncode == 0 and "gt_centers" not in p.stderr
        p = run_cli("run", d, "-f", "npy", "-o", tmp / "probe-out")
        self.no_assigner = p.returncode == 0

    def missing(self, *features):
        what = {"binary": f"the binary {BIN}", "stride_topk2": "task-aligned.ultralytics parameters stride/topk2",
                "box_format": "meta.box_format = cxcywh", "gt_centers": "the gt_centers field",
                "no_assigner": "`assignscope run DUMP` without -a (meta.assigner)"}
        gone = [what[f] for f in ("binary",) + features if not getattr(self, f)]
        return ", ".join(gone)


def check_cli(dump_dir, what, support, *features):
    """`assignscope check DUMP` passes on a dump with its recorded result, when the binary can replay it."""
    missing = support.missing(*features)
    if missing:
        skip(f"{what}: `assignscope check` not run; the binary lacks {missing}")
        return
    p = run_cli("check", dump_dir)
    last = p.stdout.strip().splitlines()[-1] if p.stdout.strip() else p.stderr.strip()
    check(p.returncode == 0 and last.startswith("PASS") and " 0 differ" in last,
          f"{what}: assignscope check {dump_dir}: {last!r} (exit {p.returncode}) {p.stdout[-600:]}")


# --- the checks ---------------------------------------------------------------------

def import_checks(tmp, fakes, support):
    """Importing the module needs numpy only: no torch, no framework."""
    code = ("import sys; sys.path.insert(0, %r); import assignscope_hooks; "
            "print(sorted(m for m in ('torch', 'ultralytics', 'yolox', 'mmdet', 'mmyolo') if m in sys.modules))"
            % str(SRC / "tools" / "python"))
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                       env=dict(os.environ, PYTHONPATH=str(fakes.base / "torch")))
    check(p.returncode == 0 and p.stdout.strip() == "[]",
          f"import assignscope_hooks imports no torch nor framework: {p.stdout.strip()!r} {p.stderr[-300:]}")
    import assignscope_hooks
    raised = None
    try:
        assignscope_hooks.install(tmp / "d", every=0, framework="ultralytics")
    except ValueError as e:
        raised = str(e)
    check(raised is not None and "every" in raised, f"every=0 refused with a ValueError: {raised!r}")
    raised = None
    try:
        assignscope_hooks.install(tmp / "d", framework="detectron2")
    except ValueError as e:
        raised = str(e)
    check(raised is not None and "detectron2" in raised, f"unknown framework refused: {raised!r}")


def ultralytics84_checks(tmp, fakes, support):
    fakes.use(fakes.root("torch"), fakes.root("u84"))
    os.environ["RANK"] = "3"
    import assignscope_hooks
    import torch
    from ultralytics.utils import loss as uloss
    from ultralytics.utils import tal
    original_forward = tal.TaskAlignedAssigner.__dict__["forward"]
    out = tmp / "dumps"
    rec, log = catch()
    try:
        h = assignscope_hooks.install(out, every=2, framework="ultralytics", epoch=lambda: 7)
        # the assigner, and the losses that hand over batch["im_file"] (meta.image_id), even without image=True
        check(h.frameworks == ["ultralytics"] and h.patched == [
            "ultralytics.utils.tal.TaskAlignedAssigner.forward", "ultralytics.utils.loss.v8DetectionLoss.__call__",
            "ultralytics.utils.loss.v8DetectionLoss.loss", "ultralytics.utils.loss.E2ELoss.__call__"],
            f"hooked: {h.frameworks} {h.patched}")
        criterion = uloss.E2ELoss(Model())
        returned_copies = []
        for step in range(5):  # steps 1..5; each runs one2many then one2one
            preds, batch = ultralytics_inputs(torch, seed=step)
            criterion({"one2many": preds, "one2one": preds}, batch)
            for branch in (criterion.one2many, criterion.one2one):
                returned_copies.append((branch.returned[-1], tree_copy(branch.returned[-1])))
        # The validator: a new criterion on the EMA model, called under inference mode.
        ema_criterion = uloss.E2ELoss(Model())
        calls_before = dict(h.calls)
        with torch.inference_mode():
            preds, batch = ultralytics_inputs(torch, seed=99)
            ema_criterion({"one2many": preds, "one2one": preds}, batch)
        with torch.no_grad():
            criterion({"one2many": preds, "one2one": preds}, batch)
        check(h.calls == calls_before, f"validation (inference mode, no_grad) calls not counted: {h.calls}")
        check(ema_criterion.one2one.returned and ema_criterion.one2one.returned[-1][0] is tal.CALLS[-3][1][0],
              "the validator's criterion got its assigner's result")
    finally:
        rec.__exit__(None, None, None)
    pid = os.getpid()
    want = sorted(f"ultralytics-{b}-r3-p{pid}-s{s:08d}" for b in ("one2many", "one2one") for s in (1, 3, 5))
    check(names(out) == want, f"dumps of steps 1, 3, 5 of both branches: {names(out)}, expected {want}")
    check(not hook_warnings(log), f"no hook warning in a clean run: {hook_warnings(log)}")
    check(h.calls == {("ultralytics", "one2many"): 5, ("ultralytics", "one2one"): 5}, f"calls per branch {h.calls}")
    # The original ran exactly once per call and its results reached the loss untouched.
    check(len(tal.CALLS) == 5 * 2 + 2 + 2, f"the original forward ran once per call: {len(tal.CALLS)} runs")
    check(all(r is c[1] for r, c in zip([x for x, _ in returned_copies], tal.CALLS[:10])),
          "the loss received the very result objects the assigner returned")
    check(all(same_result(r, c) for r, c in returned_copies), "the results were not modified by the hook")

    d = out / f"ultralytics-one2one-r3-p{pid}-s00000003"
    m = meta_of(d)
    check(m.get("assigner") == "task-aligned.ultralytics" and m.get("scores") == "probs", f"meta: {m}")
    check(m.get("assigner_params") == {"topk": 7, "alpha": 0.5, "beta": 6.0, "eps": 1e-9,
                                       "stride": [8.0, 16.0, 32.0], "topk2": 1},
          f"one2one assigner_params from the live instance: {m.get('assigner_params')}")
    check(m.get("preset") == "yolo26-o2o" and m.get("branch") == "one2one", f"preset / branch: {m}")
    check(m.get("step") == 3 and m.get("epoch") == 7 and m.get("rank") == 3, f"step / epoch / rank: {m}")
    check(m.get("framework") == "ultralytics" and m.get("framework_version") == "8.4.52", f"framework: {m}")
    check(m.get("dtype") == "float32" and m.get("device") == "cpu" and m.get("autocast") is False, f"dtype: {m}")
    check(m.get("image_size") == [64, 64] and "one2one" in m.get("source", "") and "step 3" in m.get("source", ""),
          f"image_size / source: {m}")
    m2 = meta_of(out / f"ultralytics-one2many-r3-p{pid}-s00000001")
    check(m2.get("assigner_params", {}).get("topk2", "absent") is None and m2.get("preset") == "v8.4",
          f"one2many: topk2 null (= topk), preset v8.4: {m2.get('assigner_params')} {m2.get('preset')}")
    pri = np.load(d / "priors.npy")
    check(pri.shape == (84, 4) and np.array_equal(np.unique(pri[:, 2]), [8, 16, 32])
          and np.array_equal(pri[:, 2], pri[:, 3]) and pri[0].tolist() == [4, 4, 8, 8]
          and pri[64].tolist() == [8, 8, 16, 16] and pri[80].tolist() == [16, 16, 32, 32],
          f"priors (cx, cy, s, s) with strides inferred from the point grid: {pri[[0, 64, 80]].tolist()}")
    check(np.load(d / "num_level_priors.npy").tolist() == [64, 16, 4], "num_level_priors 64, 16, 4")
    preds, batch = ultralytics_inputs(torch, seed=2)  # step 3
    check(np.array_equal(np.load(d / "cls_scores.npy"), preds["pd_scores"].a), "cls_scores = pd_scores as given")
    check(np.array_equal(np.load(d / "pad_gt_mask.npy"), batch["mask_gt"].a[..., 0].astype(np.uint8)),
          "pad_gt_mask = mask_gt")
    exp = d / "expected" / "ultralytics-8.4.52"
    check(names(exp) == ["assign_metrics.npy", "assigned_gt_inds.npy", "assigned_labels.npy", "params.json"],
          f"recorded result files: {names(exp)}")
    params = json.loads((exp / "params.json").read_text()) if exp.is_dir() else {}
    check(params.get("assigner") == "task-aligned.ultralytics" and params.get("params") == m.get("assigner_params")
          and params.get("files") == ["assign_metrics.npy", "assigned_gt_inds.npy", "assigned_labels.npy"]
          and params.get("reference", {}).get("recorded_by") == "assignscope_hooks", f"params.json: {params}")
    res = returned_copies[5][1]  # step 3, one2one
    fg = res[3] > 0
    inds = np.load(exp / "assigned_gt_inds.npy")
    check(inds.dtype == np.int64 and np.array_equal(inds, np.where(fg, res[4] + 1, 0)),
          "assigned_gt_inds = target_gt_idx + 1 on fg_mask")
    check(np.array_equal(np.load(exp / "assigned_labels.npy"), np.where(fg, res[0], -1)), "assigned_labels")
    check(np.allclose(np.load(exp / "assign_metrics.npy"), res[2].max(-1)), "assign_metrics = max of target_scores")

    # Restart: the same process installs again into the same directory (a resumed run whose pid was reused).
    rec, log = catch()
    try:
        h2 = assignscope_hooks.install(out, every=2, framework="ultralytics")
        check(not h.active and h2.active, "installing again replaces the earlier installation")
        check(tal.TaskAlignedAssigner.__dict__["forward"].__wrapped__ is original_forward,
              "patched once: the wrapper wraps the framework's forward, not an earlier wrapper")
        calls = len(tal.CALLS)
        preds, batch = ultralytics_inputs(torch, seed=0)
        uloss.E2ELoss(Model())({"one2many": preds, "one2one": preds}, batch)
        check(len(tal.CALLS) == calls + 2, "one call each after a second install (no double wrapping)")
    finally:
        rec.__exit__(None, None, None)
    restarted = sorted(p.name for p in h2.written)
    check(restarted == [f"ultralytics-{b}-r3-p{pid}-s00000001-2" for b in ("one2many", "one2one")],
          f"a restart writes new names next to the old ones, never FileExistsError: {restarted}")
    check(not hook_warnings(log), f"no warning on restart: {hook_warnings(log)}")
    h2.remove()
    check(tal.TaskAlignedAssigner.__dict__["forward"] is original_forward, "remove() restores the class attribute")
    before = len(names(out))
    uloss.E2ELoss(Model())({"one2many": preds, "one2one": preds}, batch)
    check(len(names(out)) == before, "no dump after remove()")
    h2.remove()  # twice is fine


def amp_and_failure_checks(tmp, fakes, support):
    fakes.use(fakes.root("torch"), fakes.root("u84"))
    os.environ["RANK"] = "0"
    import assignscope_hooks
    import torch
    from ultralytics.utils import loss as uloss
    from ultralytics.utils import tal

    # AMP: float16 scores and anchor points, autocast on, tensors on "cuda:0".
    out = tmp / "amp"
    rec, log = catch()
    try:
        h = assignscope_hooks.install(out, every=1, framework="ultralytics")
        crit = uloss.v8DetectionLoss(Model())
        preds, batch = ultralytics_inputs(torch, score_dtype=np.float16, device="cuda:0", anchors_dtype=np.float16)
        with torch.autocast("cuda"):
            crit(preds, batch)
        h.remove()
    finally:
        rec.__exit__(None, None, None)
    d = h.written[0] if h.written else tmp / "none"
    m = meta_of(d) if d.is_dir() else {}
    check(m.get("dtype") == "float16" and m.get("autocast") is True and m.get("device") == "cuda:0",
          f"AMP meta: dtype / autocast / device: {m}")
    check(d.is_dir() and np.load(d / "cls_scores.npy").dtype == np.float16, "float16 scores written as float16")
    check(d.is_dir() and np.array_equal(np.load(d / "cls_scores.npy"), preds["pd_scores"].a),
          "float16 scores written bit for bit")
    check("branch" not in m and d.name.startswith("ultralytics-r0-"), f"no branch for a plain loss: {d.name}")
    check(not hook_warnings(log), f"AMP: no warnings: {hook_warnings(log)}")

    # An unwritable output: every step fails to dump, training goes on, one warning, results untouched.
    blocker = tmp / "a-file"
    blocker.write_text("not a directory")
    rec, log = catch()
    try:
        h = assignscope_hooks.install(blocker / "dumps", every=1, framework="ultralytics")
        crit = uloss.v8DetectionLoss(Model())
        ok = True
        for step in range(3):
            preds, batch = ultralytics_inputs(torch, seed=step)
            crit(preds, batch)
            ok &= crit.returned[-1] is tal.CALLS[-1][1] and same_result(crit.returned[-1], tree_copy(tal.CALLS[-1][1]))
        h.remove()
    finally:
        rec.__exit__(None, None, None)
    w = hook_warnings(log)
    check(ok and len(crit.returned) == 3, "training went on through 3 failed dumps with the framework's results")
    check(len(w) == 1 and "not written" in w[0], f"one warning for the failing dumps: {w}")

    # A disk budget: the first dump fits, the second would not: one warning, then nothing.
    out = tmp / "budget"
    rec, log = catch()
    try:
        h = assignscope_hooks.install(out, every=1, framework="ultralytics", max_bytes=16000)
        crit = uloss.v8DetectionLoss(Model())
        for step in range(4):
            crit(*ultralytics_inputs(torch, seed=step))
        h.remove()
    finally:
        rec.__exit__(None, None, None)
    w = hook_warnings(log)
    check(len(names(out)) == 1 and h.bytes_written <= 16000, f"max_bytes: {names(out)} {h.bytes_written} bytes")
    check(len(w) == 1 and "max_bytes" in w[0], f"one budget warning: {w}")
    check(len(crit.returned) == 4, "training went on past the budget")

    out = tmp / "count"
    rec, log = catch()
    try:
        h = assignscope_hooks.install(out, every=1, framework="ultralytics", max_dumps=2, record_result=False)
        crit = uloss.v8DetectionLoss(Model())
        for step in range(5):
            crit(*ultralytics_inputs(torch, seed=step))
        h.remove()
    finally:
        rec.__exit__(None, None, None)
    w = hook_warnings(log)
    check(len(names(out)) == 2 and len(w) == 1 and "max_dumps" in w[0], f"max_dumps 2: {names(out)} {w}")
    check(not (h.written[0] / "expected").exists(), "record_result=False writes no expected/")

    # An epoch callable that raises, points that are no grid, a rotated subclass: warnings, never exceptions.
    out = tmp / "odd"
    rec, log = catch()
    try:
        h = assignscope_hooks.install(out, every=1, framework="ultralytics", epoch=lambda: 1 / 0)
        crit = uloss.v8DetectionLoss(Model())
        preds, batch = ultralytics_inputs(torch)
        crit(preds, batch)
        shuffled = dict(preds, anc_points=torch.tensor(preds["anc_points"].a[::-1].copy()))
        crit(shuffled, batch)
        rotated = tal.RotatedTaskAlignedAssigner(topk=10, num_classes=3, alpha=0.5, beta=6.0)
        r = rotated(preds["pd_scores"], preds["pd_bboxes"], preds["anc_points"], batch["gt_labels"],
                    batch["gt_bboxes"], batch["mask_gt"])
        rotated(preds["pd_scores"], preds["pd_bboxes"], preds["anc_points"], batch["gt_labels"],
                batch["gt_bboxes"], batch["mask_gt"])
        h.remove()
    finally:
        rec.__exit__(None, None, None)
    w = hook_warnings(log)
    check(len(names(out)) == 1 and "epoch" not in meta_of(h.written[0]), f"dump written without epoch: {names(out)}")
    check(len(w) == 3 and any("epoch" in x for x in w) and any("grid" in x for x in w)
          and any("RotatedTaskAlignedAssigner" in x for x in w), f"three warnings, one per kind: {w}")
    check(r is tal.CALLS[-2][1], "a refused call still returns the framework's result")

    # NaN scores: not dumped, one warning naming the field; allow_nonfinite=True dumps them. Inverted predicted
    # boxes (an untrained head's) are dumped without a warning per dump.
    rec, log = catch()
    try:
        h = assignscope_hooks.install(tmp / "nan", every=1, framework="ultralytics")
        crit = uloss.v8DetectionLoss(Model())
        preds, batch = ultralytics_inputs(torch)
        scores = preds["pd_scores"].a.copy()
        scores[0, 5, 1] = np.nan
        nan = dict(preds, pd_scores=torch.tensor(scores))
        crit(nan, batch)
        crit(nan, batch)
        crit(dict(preds, pd_bboxes=torch.tensor(preds["pd_bboxes"].a[..., [2, 3, 0, 1]].copy())), batch)
        h.remove()
        h2 = assignscope_hooks.install(tmp / "nan-allowed", every=1, framework="ultralytics", allow_nonfinite=True)
        crit(nan, batch)
        h2.remove()
    finally:
        rec.__exit__(None, None, None)
    w = hook_warnings(log)
    check(len(w) == 1 and "cls_scores[0, 5, 1] is nan" in w[0], f"NaN scores: one warning naming them: {w}")
    check(len(h.written) == 1 and len(crit.returned) == 4, f"NaN calls skipped, the inverted one dumped: {h.written}")
    check(not [x for x in log if "pred_bboxes" in str(x.message)], "no warning about inverted predicted boxes")
    check(len(h2.written) == 1 and np.isnan(np.load(h2.written[0] / "cls_scores.npy")[0, 5, 1]),
          "allow_nonfinite=True dumps the NaN")


def ultralytics82_checks(tmp, fakes, support):
    fakes.use(fakes.root("torch"), fakes.root("u82"))
    import assignscope_hooks
    import torch
    from ultralytics.utils import loss as uloss
    out = tmp / "dumps"
    rec, log = catch()
    try:
        h = assignscope_hooks.install(out, every=1)  # auto-detected
        check(h.frameworks == ["ultralytics"], f"auto-detected the imported framework: {h.frameworks}")
        preds, batch = ultralytics_inputs(torch)
        uloss.E2EDetectLoss(Model())({"one2many": preds, "one2one": preds}, batch)
        h.remove()
    finally:
        rec.__exit__(None, None, None)
    pid = os.getpid()
    m1 = meta_of(out / f"ultralytics-one2one-r0-p{pid}-s00000001")
    m2 = meta_of(out / f"ultralytics-one2many-r0-p{pid}-s00000001")
    check(m1.get("assigner_params") == {"topk": 1, "alpha": 0.5, "beta": 6.0, "eps": 1e-9}
          and m1.get("preset") == "yolov10-o2o", f"8.2 one2one: no stride / topk2, preset yolov10-o2o: {m1}")
    check(m2.get("assigner_params") == {"topk": 10, "alpha": 0.5, "beta": 6.0, "eps": 1e-9}
          and m2.get("preset") == "v8.2", f"8.2 one2many: preset v8.2: {m2}")
    check(m1.get("framework_version") == "8.2.103", f"8.2 version: {m1.get('framework_version')}")
    check(not hook_warnings(log), f"no warnings: {hook_warnings(log)}")


def ultralytics_golden_checks(tmp, fakes, support):
    """ultralytics84-toy-a through the hooks: the fake returns the reference's result; the recording must equal it."""
    case = GOLDEN_SHARED / "ultralytics84-toy-a"
    if not case.is_dir():
        skip(f"{case} absent: the ultralytics golden replay did not run")
        return
    f = {p.stem: np.load(p) for p in case.glob("*.npy")}
    golden = {e.name.split("+")[1]: {p.stem: np.load(p) for p in e.glob("*.npy")}
              for e in (case / "expected").iterdir()}
    for root, version, label_of in (("u84", "8.4.52", lambda a: "v8.4" if a.topk2 == a.topk else "yolo26-o2o"),
                                    ("u82", "8.2.103", lambda a: "yolov10-o2o" if a.topk == 1 else None)):
        fakes.use(fakes.root("torch"), fakes.root(root))
        import assignscope_hooks
        import torch
        from ultralytics.utils import loss as uloss
        from ultralytics.utils import tal

        def oracle(self, pd_scores, pd_bboxes, anc_points, gt_labels, gt_bboxes, mask_gt, label_of=label_of):
            label = label_of(self)
            if label is None:
                return None
            e = golden[label]
            inds, labels, metrics = e["assigned_gt_inds"], e["assigned_labels"], e["assign_metrics"]
            fg = inds > 0
            idx = np.where(fg, inds - 1, 0)
            scores = np.zeros((1, len(inds), 3), np.float32)
            scores[0, fg, labels[fg]] = metrics[fg]
            target_labels = np.where(fg, labels, f["gt_labels"][0])  # ultralytics: GT 0's label off positives
            return (torch.tensor(target_labels[None]), torch.tensor(f["gt_bboxes"][idx][None]),
                    torch.tensor(scores), torch.tensor(fg[None]), torch.tensor(idx[None]))

        tal.TaskAlignedAssigner.oracle = oracle
        preds = dict(pd_scores=torch.tensor(sigmoid32(f["cls_scores"])[None]),
                     pd_bboxes=torch.tensor(f["pred_bboxes"][None]), anc_points=torch.tensor(f["priors"][:, :2]))
        batch = dict(gt_labels=torch.tensor(f["gt_labels"].astype(np.float32)[None, :, None]),
                     gt_bboxes=torch.tensor(f["gt_bboxes"][None]),
                     mask_gt=torch.tensor(np.ones((1, len(f["gt_labels"]), 1), np.float32)))
        out = tmp / root
        h = assignscope_hooks.install(out, every=1, framework="ultralytics")
        crit = (uloss.E2ELoss if root == "u84" else uloss.E2EDetectLoss)(Model())
        crit({"one2many": preds, "one2one": preds}, batch)
        h.remove()
        for d in h.written:
            m = meta_of(d)
            label = m.get("preset")
            if label not in golden:
                continue
            exp = d / "expected" / f"ultralytics-{version}"
            for name in ("assigned_gt_inds", "assigned_labels", "assign_metrics"):
                got = np.load(exp / f"{name}.npy")
                check(got.shape == (1, 84) and np.array_equal(got[0], golden[label][name]),
                      f"{root} {label}: recorded {name} equals the golden result")
            check(np.array_equal(np.load(d / "priors.npy"), f["priors"]),
                  f"{root} {label}: priors rebuilt from anc_points equal the golden priors")
            needs = ("stride_topk2",) if root == "u84" else ()
            check_cli(d, f"ultralytics {version} {label}", support, *needs)
            replay_without_assigner(d, exp, support, f"ultralytics {version} {label}", *needs)


def replay_without_assigner(d, exp, support, what, *features):
    """`assignscope run DUMP -f npy -o OUT` (meta.assigner and its params) gives the recorded decisions."""
    missing = support.missing("no_assigner", *features)
    if missing:
        skip(f"{what}: `assignscope run DUMP -f npy -o OUT` not run; the binary lacks {missing}")
        return
    o = d.parent / (d.name + "-replay")
    p = run_cli("run", d, "-f", "npy", "-o", o)
    same = p.returncode == 0 and all(np.array_equal(np.load(o / f), np.load(exp / f))
                                     for f in ("assigned_gt_inds.npy", "assigned_labels.npy"))
    check(same, f"{what}: run without -a replays meta.assigner to the recorded assignment: {p.stderr[-300:]}")


def yolox_checks(tmp, fakes, support):
    fakes.use(fakes.root("torch"), fakes.root("yolox-new"))
    import assignscope_hooks
    import torch
    from yolox.models import yolo_head
    case = GOLDEN_LOCAL / "yolox-toy-a"
    f = {p.stem: np.load(p) for p in case.glob("*.npy")}
    e = {p.stem: np.load(p) for p in (case / "expected" / "simota.yolox").glob("*.npy")}

    def cxcywh(b):  # as the golden reference call converted them, in float32
        return np.stack([(b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2, b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]], 1)

    def oracle(self, batch_idx, gt_bboxes_per_image, gt_classes):
        if batch_idx != 0:
            return None
        fg = e["assigned_gt_inds"] > 0
        matched = e["assigned_gt_inds"][fg] - 1
        return (torch.tensor(gt_classes.a[matched]), torch.tensor(fg), torch.tensor(e["max_overlaps"][fg]),
                torch.tensor(matched), int(fg.sum()))

    yolo_head.YOLOXHead.oracle = oracle
    n, g = len(f["priors"]), len(f["gt_labels"])
    s = f["priors"][:, 2]
    x_shifts = torch.tensor((f["priors"][:, 0] / s)[None])
    y_shifts = torch.tensor((f["priors"][:, 1] / s)[None])
    strides = torch.tensor(s[None])
    pred = cxcywh(f["pred_bboxes"])
    outputs = np.zeros((3, n, 5 + 3), np.float32)  # image 0: the golden case; 1: no GT; 2: another scene
    outputs[:, :, :4] = pred
    outputs[:, :, 4] = f["objectness"]
    outputs[:, :, 5:] = f["cls_scores"]
    labels = np.zeros((3, g, 5), np.float32)
    labels[0, :, 0] = f["gt_labels"]
    labels[0, :, 1:] = cxcywh(f["gt_bboxes"])
    labels[2, 0] = [1, 20, 20, 10, 10]
    head = yolo_head.YOLOXHead(3)
    out = tmp / "dumps"
    rec, log = catch()
    try:
        h = assignscope_hooks.install(out, every=1, framework="yolox")
        head.get_losses(None, x_shifts, y_shifts, strides, torch.tensor(labels), torch.tensor(outputs))
        with torch.no_grad():  # an evaluation pass: not dumped
            head.get_losses(None, x_shifts, y_shifts, strides, torch.tensor(labels), torch.tensor(outputs))
        h.remove()
    finally:
        rec.__exit__(None, None, None)
    check(head.calls == 4 and len(h.written) == 2, f"YOLOX: 2 training calls dumped of 4: {names(out)}")
    check(not hook_warnings(log), f"YOLOX: no warnings: {hook_warnings(log)}")
    if not h.written:
        return
    d = h.written[0]
    m = meta_of(d)
    check(m.get("assigner") == "simota.yolox" and m.get("box_format") == "cxcywh"
          and m.get("assigner_params") == {"center_radius": 1.5, "candidate_topk": 10, "iou_weight": 3.0,
                                           "cls_weight": 1.0, "geometry": "center"}, f"YOLOX meta: {m}")
    check(m.get("framework") == "yolox" and m.get("framework_version") == "0.3.0" and m.get("image_size") == [48, 48]
          and m.get("image_index") == 0, f"YOLOX meta: {m}")
    check(np.array_equal(np.load(d / "priors.npy"), f["priors"]), "YOLOX priors = shifts * stride (no + 0.5)")
    check(np.array_equal(np.load(d / "pred_bboxes.npy"), pred) and np.array_equal(np.load(d / "gt_bboxes.npy"),
                                                                                   labels[0, :, 1:]),
          "YOLOX boxes stored as given, (cx, cy, w, h)")
    check(np.array_equal(np.load(d / "objectness.npy"), f["objectness"]) and
          np.array_equal(np.load(d / "cls_scores.npy"), f["cls_scores"]), "YOLOX logits of this image")
    exp = d / "expected" / "yolox-0.3.0"
    for name in ("assigned_gt_inds", "assigned_labels", "max_overlaps"):
        check(np.array_equal(np.load(exp / f"{name}.npy"), e[name]), f"YOLOX: recorded {name} = the golden result")
    check(not (exp / "dynamic_ks.npy").exists(), "YOLOX: no dynamic_ks (not returned by get_assignments)")
    check(meta_of(h.written[1]).get("image_index") == 2, "YOLOX: the second dump is image 2 (image 1 has no GT)")
    check_cli(d, "YOLOX simota.yolox", support, "box_format")

    # The 0.3.0 tag's get_assignments: older signature and algorithm, dumped for `simota`, no result recorded.
    fakes.use(fakes.root("torch"), fakes.root("yolox-old"))
    import assignscope_hooks  # noqa: F811
    import torch  # noqa: F811
    from yolox.models import yolo_head  # noqa: F811
    rec, log = catch()
    try:
        h = assignscope_hooks.install(tmp / "old", every=1, framework="yolox")
        head = yolo_head.YOLOXHead(3)
        imgs = torch.tensor(np.zeros((3, 3, 48, 48), np.float32))
        bp = torch.tensor(outputs[:, :, :4])
        r = head.get_assignments(0, g, n, torch.tensor(labels[0, :, 1:]), torch.tensor(labels[0, :, 0]),
                                 bp[0], strides, x_shifts, y_shifts, torch.tensor(outputs[:, :, 5:]), bp,
                                 torch.tensor(outputs[:, :, 4:5]), torch.tensor(labels), imgs)
        h.remove()
    finally:
        rec.__exit__(None, None, None)
    w = hook_warnings(log)
    check(not w, f"old YOLOX: no install warning, simota.yolox replays the 0.3.0 release too: {w}")
    d = h.written[0] if h.written else tmp / "none"
    m = meta_of(d) if d.is_dir() else {}
    params = m.get("assigner_params", {})
    check(m.get("assigner") == "simota.yolox" and params.get("geometry") == "box-or-center"
          and params.get("center_radius") == 2.5,
          f"old YOLOX: replayed by simota.yolox with the release's geometry, radius 2.5 read from the code: {m}")
    check(d.is_dir() and np.array_equal(np.load(d / "priors.npy")[:, :2], f["priors"][:, :2]),
          "old YOLOX: priors at x_shifts * stride (simota.yolox adds the half stride, as get_in_boxes_info does)")
    check((d / "expected" / "yolox-0.3.0").is_dir() and r[4] == g,
          "old YOLOX: the framework's result recorded; the result returned")


class InstanceData:
    """mmengine's InstanceData as far as the assigner reads it: attributes, hasattr() for optional ones."""

    def __init__(self, **fields):
        self.__dict__.update(fields)


def mmdet_checks(tmp, fakes, support):
    fakes.use(fakes.root("torch"), fakes.root("mmdet"))
    import assignscope_hooks
    import torch
    from mmdet.models.task_modules.assigners import dynamic_soft_label_assigner as dsl
    case = GOLDEN_LOCAL / "toy-two-overlapping-gts"
    f = {p.stem: np.load(p) for p in case.glob("*.npy")}
    e = {p.stem: np.load(p) for p in (case / "expected" / "dynamic-soft-label").glob("*.npy")}

    def oracle(self, pred, gt):
        if gt.bboxes.shape[0] != len(f["gt_labels"]) or hasattr(gt, "masks"):
            return None
        return dsl.AssignResult(2, torch.tensor(e["assigned_gt_inds"]), torch.tensor(e["max_overlaps"]),
                                labels=torch.tensor(e["assigned_labels"]))

    dsl.DynamicSoftLabelAssigner.oracle = oracle
    t = torch.tensor
    pred = InstanceData(priors=t(f["priors"]), scores=t(f["cls_scores"]), bboxes=t(f["pred_bboxes"]))
    gt = InstanceData(bboxes=t(f["gt_bboxes"]), labels=t(f["gt_labels"]))
    masks = np.zeros((2, 64, 64), np.uint8)
    masks[0, 10:20, 12:30] = 1
    masks[1, 30:60, 5:9] = 1
    gt_masked = InstanceData(bboxes=t([[12, 10, 30, 20], [5, 30, 9, 60]]), labels=t([0, 2]), masks=t(masks))
    ignore = InstanceData(bboxes=t(np.array([[0, 0, 4, 4]], np.float32)))
    assigner = dsl.DynamicSoftLabelAssigner()
    out = tmp / "dumps"
    rec, log = catch()
    try:
        h = assignscope_hooks.install(out, every=1, framework="mmdet")
        r1 = assigner.assign(pred, gt)
        assigner.assign(pred, gt_masked, ignore)

        class Mine(dsl.DynamicSoftLabelAssigner):
            pass
        Mine().assign(pred, gt)
        rotated = dsl.DynamicSoftLabelAssigner()
        rotated.iou_calculator = type("RBboxOverlaps2D", (), {})()
        rotated.assign(pred, gt)
        h.remove()
    finally:
        rec.__exit__(None, None, None)
    w = hook_warnings(log)
    check(len(h.written) == 2 and assigner.calls == 2, f"mmdet: two dumps: {names(out)}")
    check(len(w) == 2 and any("Mine" in x for x in w) and any("RBboxOverlaps2D" in x for x in w),
          f"mmdet: a subclass and another IoU calculator refused, one warning each: {w}")
    check(r1.gt_inds.a is not None and np.array_equal(r1.gt_inds.a, e["assigned_gt_inds"]), "mmdet: result returned")
    if len(h.written) < 2:
        return
    d1, d2 = h.written
    m = meta_of(d1)
    check(m.get("assigner") == "dynamic-soft-label" and m.get("assigner_params") == {
        "soft_center_radius": 3.0, "topk": 13, "iou_weight": 3.0} and m.get("framework_version") == "3.3.0",
        f"mmdet meta: {m}")
    check(not (d1 / "gt_centers.npy").exists(), "mmdet: no gt_centers without masks")
    exp = d1 / "expected" / "mmdet-3.3.0"
    for name in ("assigned_gt_inds", "assigned_labels", "max_overlaps"):
        check(np.array_equal(np.load(exp / f"{name}.npy"), e[name]), f"mmdet: recorded {name} = the golden result")
    check_cli(d1, "mmdet dynamic-soft-label", support)
    replay_without_assigner(d1, exp, support, "mmdet dynamic-soft-label")
    centers = np.load(d2 / "gt_centers.npy")
    check(dsl.CENTER_CALLS == [1e-7] and np.allclose(centers, [[20.5, 14.5], [6.5, 44.5]]),
          f"mmdet: gt_centers = the framework's center_of_mass(masks, eps=1e-7): {centers.tolist()}")
    check(np.array_equal(np.load(d2 / "gt_bboxes_ignore.npy"), [[0, 0, 4, 4]]), "mmdet: gt_bboxes_ignore written")
    if support.missing("gt_centers"):
        skip(f"mmdet RTMDet-Ins (gt_centers): not replayed; the binary lacks {support.missing('gt_centers')}")
    else:
        p = run_cli("run", d2, "-a", "dynamic-soft-label", "-f", "json")
        check(p.returncode == 0, f"mmdet: a dump with gt_centers replays: {p.stderr[-300:]}")


def mmyolo_checks(tmp, fakes, support):
    fakes.use(fakes.root("torch"), fakes.root("mmdet"), fakes.root("mmyolo"))
    import assignscope_hooks
    import torch
    from mmyolo.models.task_modules.assigners import batch_dsl_assigner as bdsl
    case = GOLDEN_LOCAL / "mmyolo-toy-a"
    f = {p.stem: np.load(p) for p in case.glob("*.npy")}
    e = {p.stem: np.load(p) for p in (case / "expected" / "dynamic-soft-label.mmyolo").glob("*.npy")}

    def oracle(self, gt_bboxes):
        if gt_bboxes.shape == (1, 2, 4) and not gt_bboxes.a[0, 1].any():
            # mmyolo's multi-GT argmin also sees padding columns: prior 0 goes to the padding GT 1
            labels = np.full((1, 45), 3)
            labels[0, :2] = [0, 1]
            boxes = np.zeros((1, 45, 4), np.float32)
            boxes[0, 1] = gt_bboxes.a[0, 0]
            return dict(assigned_labels=torch.tensor(labels), assigned_bboxes=torch.tensor(boxes),
                        assigned_labels_weights=torch.tensor(np.ones((1, 45), np.float32)),
                        assign_metrics=torch.tensor(np.full((1, 45), 0.5, np.float32)))
        if not np.array_equal(gt_bboxes.a[0], f["gt_bboxes"]):
            return None
        inds = e["assigned_gt_inds"]
        fg = inds > 0
        boxes = np.zeros((1, len(inds), 4), np.float32)
        boxes[0, fg] = f["gt_bboxes"][inds[fg] - 1]
        return dict(assigned_labels=torch.tensor(np.where(fg, e["assigned_labels"], 3)[None]),
                    assigned_labels_weights=torch.tensor(np.ones((1, len(inds)), np.float32)),
                    assigned_bboxes=torch.tensor(boxes), assign_metrics=torch.tensor(e["assign_metrics"][None]))

    bdsl.BatchDynamicSoftLabelAssigner.oracle = oracle
    t = torch.tensor
    g = len(f["gt_labels"])
    args = (t(f["pred_bboxes"][None]), t(f["cls_scores"][None]), t(f["priors"]),
            t(f["gt_labels"].astype(np.float32)[None, :, None]), t(f["gt_bboxes"][None]),
            t(np.ones((1, g, 1), np.float32)))
    dup = np.array([[[1, 1, 30, 30], [1, 1, 30, 30]]], np.float32)  # two identical GTs: the index is not recoverable
    dup_args = args[:3] + (t(np.zeros((1, 2, 1), np.float32)), t(dup), t(np.ones((1, 2, 1), np.float32)))
    padded = np.array([[[1, 1, 30, 30], [0, 0, 0, 0]]], np.float32)
    pad_args = args[:3] + (t(np.array([[[1], [0]]], np.float32)), t(padded), t(np.array([[[1], [0]]], np.float32)))
    assigner = bdsl.BatchDynamicSoftLabelAssigner(num_classes=3)
    out = tmp / "dumps"
    rec, log = catch()
    try:
        h = assignscope_hooks.install(out, every=1, framework=["mmyolo"])
        r = assigner(*args)
        assigner(*dup_args)
        assigner(*pad_args)
        h.remove()
    finally:
        rec.__exit__(None, None, None)
    w = hook_warnings(log)
    check(len(h.written) == 3 and isinstance(r, dict), f"mmyolo: three dumps: {names(out)}")
    check(len(w) == 2 and "ambiguous" in w[0] and "[1, 1]" in w[1],
          f"mmyolo: one warning each for an unrecoverable GT index and a padding GT: {w}")
    if len(h.written) < 3:
        return
    d, d_dup, d_pad = h.written
    check(not (d_pad / "expected").exists() and (d_pad / "meta.json").exists(),
          "mmyolo: a result naming a padding GT is not recorded; the inputs are")
    m = meta_of(d)
    check(m.get("assigner") == "dynamic-soft-label.mmyolo" and m.get("assigner_params") == {
        "soft_center_radius": 3.0, "topk": 13, "iou_weight": 3.0} and m.get("framework_version") == "0.6.0",
        f"mmyolo meta: {m}")
    check(np.load(d / "pad_gt_mask.npy").shape == (1, g), "mmyolo: a batch dump with pad_gt_mask")
    exp = d / "expected" / "mmyolo-0.6.0"
    for name in ("assigned_gt_inds", "assigned_labels", "assign_metrics"):
        got = np.load(exp / f"{name}.npy")
        check(got.shape == (1, 45) and np.array_equal(got[0], e[name]), f"mmyolo: recorded {name} = the golden result")
    check(not (d_dup / "expected").exists() and (d_dup / "meta.json").exists(),
          "mmyolo: the ambiguous call is dumped without a recorded result")
    check_cli(d, "mmyolo dynamic-soft-label.mmyolo", support)


def dump_extension_checks(tmp, fakes, support):
    """assignscope_dump.dump's new arguments: gt_centers, box_format, meta, expected; errors before writing."""
    from assignscope_dump import dump
    base = dict(priors=[[4, 4, 8, 8], [12, 4, 8, 8]], cls_scores=np.zeros((2, 3), np.float32),
                pred_bboxes=[[0, 0, 8, 8], [8, 0, 16, 8]], gt_bboxes=[[1, 1, 9, 9]], gt_labels=[2])

    def raises(fn, *needles, what):
        try:
            fn()
        except ValueError as e:
            check(all(n in str(e) for n in needles), f"{what}: message {str(e)!r} lacks one of {needles}")
            return
        check(False, f"{what}: no ValueError")

    d = dump(tmp / "plain", **base)
    check(meta_of(d) == {"version": 1, "scores": "logits"}, f"no new meta keys by default: {meta_of(d)}")
    d = dump(tmp / "full", gt_centers=[[5, 5]], box_format="xyxy",
             meta={"framework": "mmdet", "step": 3, "autocast": False, "assigner_params": {"topk": 13},
                   "note": [1, 2], "epoch": None},
             expected={"mmdet-3.3.0": {"assigner": "dynamic-soft-label", "params": {"topk": 13},
                                       "results": {"assigned_gt_inds": [0, 1], "assigned_labels": [-1, 2],
                                                   "max_overlaps": np.array([0, 0.5], np.float64)}}}, **base)
    m = meta_of(d)
    check(m.get("box_format") == "xyxy" and m.get("step") == 3 and m.get("note") == [1, 2] and "epoch" not in m,
          f"meta keys written, None left out: {m}")
    exp = d / "expected" / "mmdet-3.3.0"
    pj = json.loads((exp / "params.json").read_text())
    check(pj.get("files") == ["assigned_gt_inds.npy", "assigned_labels.npy", "max_overlaps.npy"]
          and np.load(exp / "max_overlaps.npy").dtype == np.float32
          and np.load(exp / "assigned_gt_inds.npy").dtype == np.int64, f"expected/ written: {pj}")
    check(np.array_equal(np.load(d / "gt_centers.npy"), [[5, 5]]), "gt_centers written")
    dump(tmp / "full", overwrite=True, **base)
    check(not (tmp / "full" / "expected").exists(), "overwrite=True replaces a dump that has expected/")
    dump(tmp / "cx", box_format="cxcywh", **dict(base, gt_bboxes=[[9, 9, 4, 4]]))
    check(meta_of(tmp / "cx").get("box_format") == "cxcywh", "cxcywh: (9, 9, 4, 4) accepted, box_format written")

    def bad(**over):
        args = dict(base)
        args.update(over)
        return lambda: dump(tmp / "bad", **args)

    raises(bad(gt_centers=[[1, 2, 3]]), "gt_centers", "[G, 2]", what="gt_centers with 3 columns")
    raises(bad(gt_centers=[[np.nan, 2]]), "gt_centers[0, 0]", "finite", what="NaN centre")
    raises(bad(box_format="xywh"), "box_format", "'cxcywh'", what="unknown box format")
    raises(bad(box_format="cxcywh", gt_bboxes=[[9, 9, -4, 4]]), "gt_bboxes[0]", "w < 0", "box_format='cxcywh'",
           what="negative width")
    raises(bad(meta={"scores": "probs"}), "meta['scores']", "scores=", what="reserved meta key")
    raises(bad(meta={"step": -1}), "meta['step']", "integer >= 0", what="negative step")
    raises(bad(meta={"autocast": "yes"}), "meta['autocast']", "true or false", what="autocast not a bool")
    raises(bad(meta={"assigner_params": [1]}), "meta['assigner_params']", "dict", what="params not a dict")
    raises(bad(meta={"x": float("nan")}), "meta['x']", "JSON", what="NaN in meta")
    ok = {"assigner": "dynamic-soft-label", "results": {"assigned_gt_inds": [0, 1]}}
    raises(bad(expected={"../up": ok}), "label", what="label leaving expected/")
    raises(bad(expected={"x": {"assigner": "a", "results": {"assigned_labels": [0, 1]}}}), "assigned_gt_inds",
           what="no assigned_gt_inds")
    raises(bad(expected={"x": {"assigner": "a", "results": {"assigned_gt_inds": [0, 1, 0]}}}), "shape (3,)",
           "(2,)", what="result of the wrong length")
    raises(bad(expected={"x": {"assigner": "a", "results": {"assigned_gt_inds": [0, 2]}}}), "[1]", "[1, 1]",
           what="GT number out of range")
    raises(bad(expected={"x": {"assigner": "a", "results": {"assigned_gt_inds": [0, 1], "loss": [1, 2]}}}),
           "unknown result", what="unknown result file")
    raises(bad(expected={"x": {"results": {"assigned_gt_inds": [0, 1]}}}), "assigner", what="no assigner")
    raises(lambda: dump(tmp / "z.npz", expected={"x": ok}, **base), "directory dump", what="expected in an npz")
    check(not (tmp / "bad").exists() and not (tmp / "z.npz").exists(), "nothing written by the refused calls")

    first = dump(tmp / "u", unique=True, **base)
    second = dump(tmp / "u", unique=True, **base)
    third = dump(tmp / "u.npz", unique=True, **base)
    fourth = dump(tmp / "u.npz", unique=True, **base)
    check([p.name for p in (first, second, third, fourth)] == ["u", "u-2", "u.npz", "u-2.npz"],
          f"unique=True picks the next free name: {[p.name for p in (first, second, third, fourth)]}")
    raises(lambda: dump(tmp / "u", unique=True, overwrite=True, **base), "unique", "overwrite",
           what="unique with overwrite")


def png_pixels(path):
    """Pixels of an image.png as assignscope_dump writes it (8-bit RGB, rows filtered None or Up): zlib only."""
    import struct
    import zlib
    data = Path(path).read_bytes()
    at, idat, size = 8, b"", None
    while at < len(data):
        (n,) = struct.unpack(">I", data[at:at + 4])
        if data[at + 4:at + 8] == b"IHDR":
            size = struct.unpack(">II", data[at + 8:at + 16])
        elif data[at + 4:at + 8] == b"IDAT":
            idat += data[at + 8:at + 8 + n]
        at += 12 + n
    w, h = size
    raw = np.frombuffer(zlib.decompress(idat), np.uint8).reshape(h, 1 + 3 * w).astype(np.int64)
    rows = np.where(raw[:, :1] == 2, np.cumsum(raw[:, 1:], axis=0), raw[:, 1:]) % 256  # all-Up as written
    return rows.reshape(h, w, 3)


def image_hook_checks(tmp, fakes, support):
    """install(image=True): each framework's network input reaches the dump, de-normalised as it normalised it."""
    rng = np.random.default_rng(5)
    rgb = rng.integers(0, 256, (64, 64, 3)).astype(np.uint8)

    # ultralytics: batch["img"] RGB 0..1 [B, 3, H, W]; B = 1 gets its image, B = 2 a warning and none.
    fakes.use(fakes.root("torch"), fakes.root("u84"))
    import assignscope_hooks
    import torch
    from ultralytics.utils import loss as uloss
    out = tmp / "u"
    rec, log = catch()
    try:
        h = assignscope_hooks.install(out, every=1, framework="ultralytics", image=True)
        check("ultralytics.utils.loss.v8DetectionLoss.__call__" in h.patched, f"ultralytics input caught: {h.patched}")
        criterion = uloss.v8DetectionLoss(Model())
        preds, batch = ultralytics_inputs(torch, b=1)
        batch["img"] = torch.Tensor((rgb.transpose(2, 0, 1)[None] / 255).astype(np.float32))
        criterion(preds, batch)
        preds, batch = ultralytics_inputs(torch, b=2)
        batch["img"] = torch.Tensor(np.zeros((2, 3, 64, 64), np.float32))
        criterion(preds, batch)
        h.remove()
    finally:
        rec.__exit__(None, None, None)
    check(len(h.written) == 2, f"ultralytics: two dumps: {h.written}")
    if len(h.written) == 2:
        one, two = h.written
        check(np.array_equal(png_pixels(one / "image.png"), rgb), "ultralytics: 0..1 RGB back to the uint8 pixels")
        check(meta_of(one)["image"]["scale"] == 1 / 255, f"ultralytics meta.image: {meta_of(one).get('image')}")
        check(names(two) == ["img000", "img001"], f"ultralytics B = 2: a directory of one-image dumps: {names(two)}")
        check(not hook_warnings(log), f"ultralytics: no warnings: {hook_warnings(log)}")
        if names(two) == ["img000", "img001"]:
            check(np.array_equal(png_pixels(two / "img001" / "image.png"), np.zeros((64, 64, 3))),
                  "ultralytics B = 2: image 1 in img001")
            g = [len(np.load(two / f"img00{i}" / "gt_bboxes.npy")) for i in range(2)]
            check(g == [3, 2] and meta_of(two / "img001")["image_index"] == 1,
                  f"ultralytics B = 2: each image its real GTs (image i holds 3 - i, padding dropped): {g}")
            exp = [np.load(two / f"img00{i}" / "expected" / "ultralytics-8.4.52" / "assigned_gt_inds.npy")
                   for i in range(2)]
            check([e.shape for e in exp] == [(84,), (84,)], f"each image its share of the result: {exp}")
            if BIN.is_file():  # the split batch replays as the stacked one does
                h = assignscope_hooks.install(tmp / "stacked", every=1, framework="ultralytics")
                criterion(preds, batch)
                h.remove()
                a, b = (run_cli("run", d, "-f", "json") for d in (two, h.written[0]))
                check(a.returncode == 0 and b.returncode == 0, f"both replay: {a.stderr[:200]} {b.stderr[:200]}")
                if a.returncode == 0 and b.returncode == 0:
                    pa, pb = ([img["positives"] for img in json.loads(r.stdout)["images"]] for r in (a, b))
                    check(pa == pb and len(pa) == 2, "the directory of one-image dumps replays as the stacked batch")
        if BIN.is_file():
            p = run_cli("run", one, "-f", "svg")
            check(p.returncode == 0 and "data:image/png;base64," in p.stdout,
                  f"ultralytics dump with its image: the svg embeds it ({p.returncode}, {p.stderr[:300]})")

    # YOLOX: imgs BGR 0..255 floats, [B, 3, H, W], caught by get_losses; image batch_idx of each call.
    fakes.use(fakes.root("torch"), fakes.root("yolox-new"))
    import assignscope_hooks
    import torch
    from yolox.models import yolo_head
    yolo_head.YOLOXHead.oracle = None
    anc = make_anchors([(8, 8), (4, 4), (2, 2)], [8, 16, 32])
    s = np.repeat([8.0, 16.0, 32.0], [64, 16, 4]).astype(np.float32)
    x_shifts, y_shifts = torch.Tensor((anc[:, 0] / s - 0.5)[None]), torch.Tensor((anc[:, 1] / s - 0.5)[None])
    outputs = np.zeros((2, len(s), 8), np.float32)
    outputs[:, :, :2], outputs[:, :, 2:4] = anc, 16
    labels = np.zeros((2, 1, 5), np.float32)
    labels[:, 0] = [1, 30, 30, 12, 12]
    imgs = np.stack([rgb[..., ::-1].transpose(2, 0, 1), rgb.transpose(2, 0, 1)]).astype(np.float32)  # BGR, 0..255
    out = tmp / "yolox"
    rec, log = catch()
    try:
        h = assignscope_hooks.install(out, every=1, framework="yolox", image=True)
        yolo_head.YOLOXHead(3).get_losses(torch.Tensor(imgs), x_shifts, y_shifts, torch.Tensor(s[None]),
                                          torch.Tensor(labels), torch.Tensor(outputs))
        h.remove()
    finally:
        rec.__exit__(None, None, None)
    rec, log2 = catch()
    try:  # an input of another size than the assigner's grid: the dump without its image, one warning
        h2 = assignscope_hooks.install(tmp / "yolox-wrong", every=1, framework="yolox", image=True)
        yolo_head.YOLOXHead(3).get_losses(torch.Tensor(imgs[:, :, :32]), x_shifts, y_shifts, torch.Tensor(s[None]),
                                          torch.Tensor(labels), torch.Tensor(outputs))
        h2.remove()
    finally:
        rec.__exit__(None, None, None)
    check(len(h2.written) == 2 and not any((d / "image.png").exists() for d in h2.written)
          and any("image: 32 x 64" in w for w in hook_warnings(log2)),
          f"YOLOX: a wrong-size input is left out with a warning: {h2.written} {hook_warnings(log2)}")
    check(len(h.written) == 2 and not hook_warnings(log), f"YOLOX: two dumps, no warning: {hook_warnings(log)}")
    if len(h.written) == 2:
        check(np.array_equal(png_pixels(h.written[0] / "image.png"), rgb), "YOLOX: BGR image 0 flipped to RGB")
        check(np.array_equal(png_pixels(h.written[1] / "image.png"), rgb[..., ::-1]), "YOLOX: image 1 of call 2")
        check(meta_of(h.written[0])["image"]["channel_order"] == "bgr", "YOLOX meta.image: bgr")
        if BIN.is_file():
            p = run_cli("run", h.written[0], "-f", "json")
            check(p.returncode == 0, f"YOLOX dump with its image replays: {p.stderr[:300]}")

    # mmdetection: the detector's loss(batch_inputs) after DetDataPreprocessor (bgr_to_rgb, mean, std).
    fakes.use(fakes.root("torch"), fakes.root("mmdet"))
    import assignscope_hooks
    import torch
    from mmdet.models.detectors.single_stage import SingleStageDetector
    from mmdet.models.task_modules.assigners import dynamic_soft_label_assigner as dsl
    dsl.DynamicSoftLabelAssigner.oracle = None

    class Preprocessor:  # DetDataPreprocessor's attributes: mean / std buffers [C, 1, 1]
        _channel_conversion = True
        _enable_normalize = True
        mean = torch.Tensor(np.array([123.675, 116.28, 103.53], np.float32).reshape(3, 1, 1))
        std = torch.Tensor(np.array([58.395, 57.12, 57.375], np.float32).reshape(3, 1, 1))

    inputs = np.stack([rgb, rgb[::-1]]).transpose(0, 3, 1, 2).astype(np.float32)  # RGB after bgr_to_rgb
    inputs = (inputs - Preprocessor.mean.a[None]) / Preprocessor.std.a[None]
    pred = InstanceData(priors=torch.Tensor(np.concatenate([anc, s[:, None], s[:, None]], 1)),
                        scores=torch.Tensor(np.zeros((len(s), 3), np.float32)),
                        bboxes=torch.Tensor(np.concatenate([anc - 8, anc + 8], 1)))
    gt = InstanceData(bboxes=torch.Tensor(np.array([[10, 10, 30, 30]], np.float32)), labels=torch.Tensor([1]))
    assigner = dsl.DynamicSoftLabelAssigner()

    def head_loss(batch_inputs, samples):
        for _ in range(batch_inputs.shape[0]):
            assigner.assign(pred, gt)

    out = tmp / "mmdet"
    rec, log = catch()
    try:
        h = assignscope_hooks.install(out, every=2, framework="mmdet", image=True)
        SingleStageDetector(Preprocessor(), head_loss).loss(torch.Tensor(inputs), [None, None])
        h.remove()
    finally:
        rec.__exit__(None, None, None)
    check(len(h.written) == 1 and not hook_warnings(log), f"mmdet: one dump (calls 1, 3...), {hook_warnings(log)}")
    if h.written:
        check(np.array_equal(png_pixels(h.written[0] / "image.png"), rgb),
              "mmdet: image 0 de-normalised with the preprocessor's mean / std, RGB kept")
        check(meta_of(h.written[0])["image_size"] == [64, 64], "mmdet: image_size from the input")
    h = assignscope_hooks.install(tmp / "mmdet2", every=1, framework="mmdet", image=True)
    SingleStageDetector(Preprocessor(), head_loss).loss(torch.Tensor(inputs), [None, None])
    h.remove()
    if check(len(h.written) == 2, f"mmdet every=1: two dumps {h.written}"):
        check(np.array_equal(png_pixels(h.written[1] / "image.png"), rgb[::-1]), "mmdet: call 2 gets image 1")

    # mmyolo: YOLOv5DetDataPreprocessor (mean 0, std 255, bgr_to_rgb) before a batch assigner; B = 1.
    fakes.use(fakes.root("torch"), fakes.root("mmdet"), fakes.root("mmyolo"))
    import assignscope_hooks
    import torch
    from mmdet.models.detectors.single_stage import SingleStageDetector
    from mmyolo.models.task_modules.assigners import batch_dsl_assigner as bdsl
    bdsl.BatchDynamicSoftLabelAssigner.oracle = None
    case = {p.stem: np.load(p) for p in (GOLDEN_LOCAL / "mmyolo-toy-a").glob("*.npy")}
    g = len(case["gt_labels"])
    args = (torch.tensor(case["pred_bboxes"][None]), torch.tensor(case["cls_scores"][None]),
            torch.tensor(case["priors"]), torch.tensor(case["gt_labels"].astype(np.float32)[None, :, None]),
            torch.tensor(case["gt_bboxes"][None]), torch.tensor(np.ones((1, g, 1), np.float32)))
    batch_assigner = bdsl.BatchDynamicSoftLabelAssigner(num_classes=3)

    class YOLOv5Preprocessor:
        _channel_conversion = True
        _enable_normalize = True
        mean = torch.Tensor(np.zeros((3, 1, 1), np.float32))
        std = torch.Tensor(np.full((3, 1, 1), 255, np.float32))

    out = tmp / "mmyolo"
    rec, log = catch()
    try:
        h = assignscope_hooks.install(out, every=1, framework="mmyolo", image=True)
        SingleStageDetector(YOLOv5Preprocessor(), lambda inputs, samples: batch_assigner(*args)).loss(
            torch.Tensor((rgb.transpose(2, 0, 1)[None] / 255).astype(np.float32)), [None])
        h.remove()
    finally:
        rec.__exit__(None, None, None)
    check(len(h.written) == 1 and not hook_warnings(log), f"mmyolo: one dump, no warning: {hook_warnings(log)}")
    if h.written:
        check(np.array_equal(png_pixels(h.written[0] / "image.png"), rgb), "mmyolo: x * 255 back to the pixels")
        check(meta_of(h.written[0])["image"]["std"] == [255.0] * 3, f"mmyolo meta.image {meta_of(h.written[0])}")
    check(SingleStageDetector.__dict__["loss"].__name__ == "loss" and
          not getattr(SingleStageDetector.__dict__["loss"], "__assignscope_hook__", False),
          "remove() restores the detector's loss")


class DataSample:
    """mmengine's DetDataSample as far as the hooks read it: ``metainfo``, a dict."""

    def __init__(self, **meta):
        self._meta = meta

    @property
    def metainfo(self):
        return dict(self._meta)


def image_id_hook_checks(tmp, fakes, support):
    """meta.image_id: each dumped image's id in its dataset, always (no image=True needed), never raising."""
    rng = np.random.default_rng(7)
    rgb = rng.integers(0, 256, (64, 64, 3)).astype(np.uint8)

    # ultralytics: batch["im_file"], one path per image.
    fakes.use(fakes.root("torch"), fakes.root("u84"))
    import assignscope_hooks
    import torch
    from ultralytics.utils import loss as uloss

    def ultra(b, files, **extra):
        preds, batch = ultralytics_inputs(torch, b=b)
        if files is not _ABSENT:
            batch["im_file"] = files
        batch.update(extra)
        return preds, batch

    rec, log = catch()
    try:
        h = assignscope_hooks.install(tmp / "u", every=1, framework="ultralytics")
        criterion = uloss.v8DetectionLoss(Model())
        criterion(*ultra(1, ("images/train/a.jpg",)))  # the dataloader collates im_file as a tuple
        criterion(*ultra(2, ["images/train/a.jpg", "images/train/b.jpg"]))  # a stacked batch dump: no id
        criterion(*ultra(1, [Path("images/train/p.jpg")]))  # a pathlib.Path: its text
        uloss.E2ELoss(Model())({"one2many": ultra(1, ["c.jpg"])[0], "one2one": ultra(1, ["c.jpg"])[0]},
                               ultra(1, ["c.jpg"])[1])
        h.remove()
    finally:
        rec.__exit__(None, None, None)
    check(len(h.written) == 5 and not hook_warnings(log), f"ultralytics: five dumps, no warning: {hook_warnings(log)}")
    if len(h.written) == 5:
        ids = [meta_of(d).get("image_id") for d in h.written]
        check(ids == ["images/train/a.jpg", None, "images/train/p.jpg", "c.jpg", "c.jpg"],
              f"ultralytics: B = 1 its im_file, B = 2 stacked none, both E2E branches theirs: {ids}")

    rec, log = catch()
    try:
        h = assignscope_hooks.install(tmp / "u-img", every=1, framework="ultralytics", image=True)
        criterion = uloss.v8DetectionLoss(Model())
        img = torch.Tensor(np.zeros((2, 3, 64, 64), np.float32))
        criterion(*ultra(2, ["a.jpg", "b.jpg"], img=img))
        criterion(*ultra(2, ["a.jpg", None], img=img))  # an image without its path: that dump without the id
        h.remove()
    finally:
        rec.__exit__(None, None, None)
    check(len(h.written) == 2 and not hook_warnings(log), f"ultralytics image=True: {h.written} {hook_warnings(log)}")
    if len(h.written) == 2 and names(h.written[0]) == ["img000", "img001"]:
        ids = [[meta_of(d / f"img00{i}").get("image_id") for i in range(2)] for d in h.written]
        check(ids == [["a.jpg", "b.jpg"], ["a.jpg", None]], f"ultralytics B = 2 split: each image its path: {ids}")
        if BIN.is_file():
            p = run_cli("run", h.written[0], "-f", "json")
            check(p.returncode == 0, f"a split batch with image ids replays: {p.stderr[:300]}")

    rec, log = catch()
    try:  # odd im_file values: the dump is written without the id, one warning per kind, training goes on
        h = assignscope_hooks.install(tmp / "u-odd", every=1, framework="ultralytics")
        criterion = uloss.v8DetectionLoss(Model())
        losses = [criterion(*ultra(1, files)) for files in ("a.jpg", [""], ["a.jpg", "b.jpg"], [-1], [True],
                                                          ["x" * 1001], [{"path": "a.jpg"}])]
        h.remove()
    finally:
        rec.__exit__(None, None, None)
    w = hook_warnings(log)
    check(len(h.written) == 7 and all(isinstance(v, float) for v in losses)
          and not any("image_id" in meta_of(d) for d in h.written),
          f"ultralytics: odd im_file values leave image_id out, the dumps are written: {h.written}")
    check(len(w) == 2 and "batch['im_file'] is str" in w[0] and "meta['image_id'] is str ''" in w[1],
          f"ultralytics: odd im_file values warned about, once per kind: {w}")

    # YOLOX: get_losses receives no image ids; none recorded, with or without image=True.
    fakes.use(fakes.root("torch"), fakes.root("yolox-new"))
    import assignscope_hooks
    import torch
    from yolox.models import yolo_head
    yolo_head.YOLOXHead.oracle = None
    anc = make_anchors([(8, 8), (4, 4), (2, 2)], [8, 16, 32])
    s = np.repeat([8.0, 16.0, 32.0], [64, 16, 4]).astype(np.float32)
    x_shifts, y_shifts = torch.Tensor((anc[:, 0] / s - 0.5)[None]), torch.Tensor((anc[:, 1] / s - 0.5)[None])
    outputs = np.zeros((2, len(s), 8), np.float32)
    outputs[:, :, :2], outputs[:, :, 2:4] = anc, 16
    labels = np.zeros((2, 1, 5), np.float32)
    labels[:, 0] = [1, 30, 30, 12, 12]
    imgs = torch.Tensor(np.zeros((2, 3, 64, 64), np.float32))
    for image in (False, True):
        rec, log = catch()
        try:
            h = assignscope_hooks.install(tmp / f"yolox-{image}", every=1, framework="yolox", image=image)
            check(("yolox.models.yolo_head.YOLOXHead.get_losses" in h.patched) == image,
                  f"YOLOX: get_losses caught only for image=True: {h.patched}")
            yolo_head.YOLOXHead(3).get_losses(imgs, x_shifts, y_shifts, torch.Tensor(s[None]),
                                              torch.Tensor(labels), torch.Tensor(outputs))
            h.remove()
        finally:
            rec.__exit__(None, None, None)
        check(len(h.written) == 2 and not any("image_id" in meta_of(d) for d in h.written) and not hook_warnings(log),
              f"YOLOX (image={image}): no image_id, no warning: {hook_warnings(log)}")

    # mmdetection: batch_data_samples[i].metainfo img_id (COCO's), else img_path; the n-th assign call is image n - 1.
    fakes.use(fakes.root("torch"), fakes.root("mmdet"))
    import assignscope_hooks
    import torch
    from mmdet.models.detectors.single_stage import SingleStageDetector
    from mmdet.models.task_modules.assigners import dynamic_soft_label_assigner as dsl
    dsl.DynamicSoftLabelAssigner.oracle = None

    class Preprocessor:
        _channel_conversion = False
        _enable_normalize = False

    pred = InstanceData(priors=torch.Tensor(np.concatenate([anc, s[:, None], s[:, None]], 1)),
                        scores=torch.Tensor(np.zeros((len(s), 3), np.float32)),
                        bboxes=torch.Tensor(np.concatenate([anc - 8, anc + 8], 1)))
    gt = InstanceData(bboxes=torch.Tensor(np.array([[10, 10, 30, 30]], np.float32)), labels=torch.Tensor([1]))
    assigner = dsl.DynamicSoftLabelAssigner()

    def head_loss(batch_inputs, samples):
        for _ in range(batch_inputs.shape[0]):
            assigner.assign(pred, gt)

    inputs = torch.Tensor(np.stack([rgb, rgb[::-1]]).transpose(0, 3, 1, 2).astype(np.float32))
    detector = SingleStageDetector(Preprocessor(), head_loss)
    for image in (False, True):
        rec, log = catch()
        try:
            h = assignscope_hooks.install(tmp / f"mmdet-{image}", every=1, framework="mmdet", image=image)
            detector.loss(inputs, [DataSample(img_id=139, img_path="val/139.jpg"), DataSample(img_path="b.jpg")])
            detector.loss(inputs, batch_data_samples=[DataSample(img_id=np.int64(285)), DataSample(img_id=632)])
            detector.loss(inputs, [DataSample(img_id=-5), DataSample(img_id=True)])  # odd: left out, warned
            detector.loss(inputs, [DataSample(), None])  # nothing to record: no warning
            assigner.assign(pred, gt)  # outside the detector's loss: no samples
            h.remove()
        finally:
            rec.__exit__(None, None, None)
        ids = [meta_of(d).get("image_id") for d in h.written]
        check(ids == [139, "b.jpg", 285, 632, None, None, None, None, None],
              f"mmdet (image={image}): each assign call its image's id: {ids}")
        w = [x for x in hook_warnings(log) if "image.png" not in x]  # the call outside loss(): no image either
        check(len(w) == 1 and "meta['image_id'] is int -5" in w[0],
              f"mmdet (image={image}): one warning for odd ids: {w}")
        if image and len(h.written) == 9:  # BGR (no channel conversion), stored as RGB
            check(np.array_equal(png_pixels(h.written[1] / "image.png"), rgb[::-1, :, ::-1]),
                  "mmdet: call 2 gets image 1 and its id")
    h = assignscope_hooks.install(tmp / "mmdet-every", every=2, framework="mmdet")
    detector.loss(inputs, [DataSample(img_id=1), DataSample(img_id=2)])
    detector.loss(inputs, [DataSample(img_id=3), DataSample(img_id=4)])
    h.remove()
    ids = [meta_of(d).get("image_id") for d in h.written]
    check(ids == [1, 3], f"mmdet every=2: calls 1 and 3, images 0 of each step: {ids}")

    # mmyolo: the same data samples in the non-fast path; yolov5_collate's img_metas hold no id.
    fakes.use(fakes.root("torch"), fakes.root("mmdet"), fakes.root("mmyolo"))
    import assignscope_hooks
    import torch
    from mmdet.models.detectors.single_stage import SingleStageDetector
    from mmyolo.models.task_modules.assigners import batch_dsl_assigner as bdsl
    bdsl.BatchDynamicSoftLabelAssigner.oracle = None
    case = {p.stem: np.load(p) for p in (GOLDEN_LOCAL / "mmyolo-toy-a").glob("*.npy")}
    g = len(case["gt_labels"])

    def batch_args(b):
        rep = lambda a: torch.tensor(np.repeat(a[None], b, 0))  # noqa: E731
        return (rep(case["pred_bboxes"]), rep(case["cls_scores"]), torch.tensor(case["priors"]),
                rep(case["gt_labels"].astype(np.float32)[:, None]), rep(case["gt_bboxes"]),
                rep(np.ones((g, 1), np.float32)))

    batch_assigner = bdsl.BatchDynamicSoftLabelAssigner(num_classes=3)

    class YOLOv5Preprocessor:
        _channel_conversion = True
        _enable_normalize = True
        mean = torch.Tensor(np.zeros((3, 1, 1), np.float32))
        std = torch.Tensor(np.full((3, 1, 1), 255, np.float32))

    def yolo_loss(batch_inputs, samples):
        return batch_assigner(*batch_args(int(batch_inputs.shape[0])))

    one = torch.Tensor((rgb.transpose(2, 0, 1)[None] / 255).astype(np.float32))
    two = torch.Tensor(np.concatenate([one.a, one.a]))
    for image in (False, True):
        rec, log = catch()
        try:
            h = assignscope_hooks.install(tmp / f"mmyolo-{image}", every=1, framework="mmyolo", image=image)
            detector = SingleStageDetector(YOLOv5Preprocessor(), yolo_loss)
            detector.loss(one, [DataSample(img_id=9, img_path="9.jpg")])
            detector.loss(two, [DataSample(img_path="a.jpg"), DataSample(img_id=10)])
            detector.loss(one, {"bboxes_labels": None, "img_metas": [{"batch_input_shape": (64, 64)}]})
            h.remove()
        finally:
            rec.__exit__(None, None, None)
        check(len(h.written) == 3 and not hook_warnings(log), f"mmyolo (image={image}): {hook_warnings(log)}")
        if len(h.written) == 3:
            ids = [meta_of(h.written[0]).get("image_id"), meta_of(h.written[2]).get("image_id")]
            check(ids == [9, None], f"mmyolo (image={image}): B = 1 its img_id; yolov5_collate's metas none: {ids}")
            if image:
                split = [meta_of(h.written[1] / f"img00{i}").get("image_id") for i in range(2)]
                check(split == ["a.jpg", 10], f"mmyolo B = 2 split: each image its id: {split}")
            else:
                check("image_id" not in meta_of(h.written[1]), "mmyolo B = 2 stacked: no image_id")
                if BIN.is_file():
                    p = run_cli("run", h.written[0], "-f", "json")
                    check(p.returncode == 0, f"mmyolo dump with an image id replays: {p.stderr[:300]}")


_ABSENT = object()


def main():
    if not BIN.is_file():
        print(f"note: {BIN} absent; the replays by the binary are skipped")
    with tempfile.TemporaryDirectory(prefix="assignscope-hooks-") as t:
        tmp = Path(t)
        fakes = Fakes(tmp / "fakes")
        roots = {"torch": fakes.write("torch", FAKE_TORCH),
                 "u84": fakes.write("u84", ultralytics_fake("8.4.52", INIT_84, ULTRALYTICS_LOSS_84)),
                 "u82": fakes.write("u82", ultralytics_fake("8.2.103", INIT_82, ULTRALYTICS_LOSS_82)),
                 "yolox-new": fakes.write("yolox-new", YOLOX_NEW), "yolox-old": fakes.write("yolox-old", YOLOX_OLD),
                 "mmdet": fakes.write("mmdet", MMDET), "mmyolo": fakes.write("mmyolo", MMYOLO)}
        fakes.root = roots.__getitem__
        support = Support(tmp)
        for group in (import_checks, dump_extension_checks, ultralytics84_checks, amp_and_failure_checks,
                      ultralytics82_checks, ultralytics_golden_checks, yolox_checks, mmdet_checks, mmyolo_checks,
                      image_hook_checks, image_id_hook_checks):
            sub = tmp / group.__name__
            sub.mkdir()
            try:
                group(sub, fakes, support)
            except Exception:  # noqa: BLE001 - an unexpected exception fails the group, the others still run
                check(False, f"{group.__name__} raised:\n{traceback.format_exc()}")
            finally:
                hooks = sys.modules.get("assignscope_hooks")
                if hooks is not None and hooks._active is not None:
                    hooks._active.remove()
    print(f"python hooks: {checks} checks, {checks - len(failures)} passed, {len(failures)} failed, "
          f"{len(skips)} parts skipped")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
