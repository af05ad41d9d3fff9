#!/usr/bin/python3
"""Writes testdata/upstream/: the inputs of mmdetection's and mmyolo's own
unit tests of the assigners assignscope replays, each as a small case (a dump
plus expected/<label>/ holding what the REAL reference class returns on it).

The frameworks' unit tests are a corpus of deliberately odd inputs: no GT, no
priors, ignore boxes, all-zero priors, tuple thresholds, DETR's softmax
columns, padded batches, priors repeated 21 times. This script reproduces
each test's tensors literally (the test files are not imported), feeds the
reference class exactly as the test does (constructor arguments, assign() /
forward() arguments), checks the test's own assertions on what it returns,
runs it twice (bit-identical or it stops), converts the result to
assignscope's conventions (docs/format.md, "Stored results") and writes

  testdata/upstream/<framework>-<test-file>-<test-name>[-<call>]/
      *.npy + meta.json                  the dump (docs/format.md)
      expected/<label>/params.json       assigner, params, reference, files, ...
      expected/<label>/*.npy             assigned_gt_inds, assigned_labels, ...

Tests whose inputs the dump format cannot hold, and tests of assigners
assignscope does not have, are listed at the end with the reason.

Needs the real frameworks (mmdetection 3.3.0, mmyolo 0.6.0, mmengine, mmcv
2.0 with or without compiled ops, torch, scipy) on PYTHONPATH, e.g. the
scratch environment of /work/scratch/real (its run_mm.sh):

  R=/work/scratch/real; MM=$R/mm
  PYTHONPATH=$MM/mmengine-0.10.7:$MM/mmcv-2.0.1:$MM/mmdet-3.3.0:$MM/mmyolo-0.6.0:$R/build/cocoapi/PythonAPI:$R/stubs \\
      /usr/bin/python3 tools/make_upstream_cases.py

(`mmcv_ext_stub`, when importable, stands in for mmcv's uncompiled ops; no op
is on these assigners' path.) Run it once; it refuses to touch an existing
testdata/upstream unless given --force, which replaces it. Deterministic: the
tensors are literals, and the tests that draw torch.rand / torch.randn
(unseeded upstream) draw them here after torch.manual_seed(SEED), with one
CPU thread. The reference source files are checked against the git blob
hashes of the commits named below before anything runs.
"""
import argparse
import hashlib
import inspect
import json
import shutil
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools" / "python"))
from assignscope_dump import dump  # noqa: E402

try:  # mmcv without compiled ops: a stand-in for mmcv._ext (scratch environment)
    import mmcv_ext_stub
    mmcv_ext_stub.install()
except ImportError:
    pass

import torch  # noqa: E402
import scipy  # noqa: E402
import mmdet  # noqa: E402
import mmyolo  # noqa: E402
import mmengine  # noqa: E402
from mmengine import ConfigDict  # noqa: E402
from mmengine.structures import InstanceData  # noqa: E402
from mmdet.models.task_modules.assigners import (  # noqa: E402
    ATSSAssigner, DynamicSoftLabelAssigner, HungarianAssigner, MaxIoUAssigner, SimOTAAssigner,
    TaskAlignedAssigner, TopkHungarianAssigner)
from mmdet.structures.bbox import HorizontalBoxes  # noqa: E402
from mmyolo.models.task_modules.assigners import (  # noqa: E402
    BatchATSSAssigner, BatchDynamicSoftLabelAssigner, BatchTaskAlignedAssigner)
import mmyolo.models.task_modules.assigners.batch_atss_assigner as yolo_atss_module  # noqa: E402
import mmyolo.models.task_modules.assigners.batch_task_aligned_assigner as yolo_tal_module  # noqa: E402
import mmdet.models.task_modules.assigners.topk_hungarian_assigner as topk_hungarian_module  # noqa: E402

SEED = 0
OUT = ROOT / "testdata" / "upstream"

MMDET = {"project": "open-mmlab/mmdetection", "version": "3.3.0",
         "commit": "44ebd17b145c2372c4b700bfb9cb20dbd28ab64a",
         "commit_note": "\"bump version to 3.3.0 (#11347)\"; read from the fork BitStrawber/mmdetection, which "
                        "carries upstream history (open-mmlab/mmdetection's snapshot exceeds the fetch limit)"}
MMYOLO = {"project": "open-mmlab/mmyolo", "version": "0.6.0",
          "commit": "8c4d9dc503dc8e327bec8147e8dc97124052f693", "commit_note": "\"Bump version to 0.6.0\""}
MMDET_TESTS = "tests/test_models/test_task_modules/test_assigners"
MMYOLO_TESTS = "tests/test_models/test_task_modules/test_assigners"

# git blob hashes at those commits: the reference code that runs must be this code.
SOURCE_BLOBS = {
    "mmdet/models/task_modules/assigners/atss_assigner.py": "2796b990c5ae4c56bcf314e1342671d950232ae6",
    "mmdet/models/task_modules/assigners/dynamic_soft_label_assigner.py": "3fc7af39b22cd6dc00248e330547176787c23963",
    "mmdet/models/task_modules/assigners/hungarian_assigner.py": "a6745a36cdc713c74f801f62dae0d8fe3d03828f",
    "mmdet/models/task_modules/assigners/max_iou_assigner.py": "71da54429ae0526bf52277bc3b1d24630acceaed",
    "mmdet/models/task_modules/assigners/sim_ota_assigner.py": "d54a8b91d132d9bf661267de666bfed7e915a65a",
    "mmdet/models/task_modules/assigners/task_aligned_assigner.py": "220ea8485933ab3243f6c1e205dbf1b973df08d7",
    "mmdet/models/task_modules/assigners/topk_hungarian_assigner.py": "e48f092ac1ae99eadfdf7502b591b57c782e6354",
    "mmdet/models/task_modules/assigners/match_cost.py": "5fc62f01f29138cba31ef2b41254f497351fe0d0",
    "mmdet/models/task_modules/assigners/iou2d_calculator.py": "b6daa94feb46ac2f188df41c7be59ffdc3905e58",
    "mmdet/models/task_modules/assigners/assign_result.py": "56ca2c3c18fee94cc4a039b769e42521bd14907d",
    "mmdet/structures/bbox/bbox_overlaps.py": "8e3435d28b38a5479a6c791f52a76d8ba293a6eb",
    "mmyolo/models/task_modules/assigners/batch_atss_assigner.py": "45b3069afde73e240890273c58e3860da59ad854",
    "mmyolo/models/task_modules/assigners/batch_dsl_assigner.py": "5ae0f80239590f9c906778e6e4c7c6b4bd10c488",
    "mmyolo/models/task_modules/assigners/batch_task_aligned_assigner.py":
        "202d678986c3a398de63675c004592b98ea092e0",
    "mmyolo/models/task_modules/assigners/utils.py": "5843200936ef7a269109517e6d2952cceea02059",
}
TEST_BLOBS = {
    "test_atss_assigner.py": "8cce7e3bfc03c71182ecc6225396c4f167b60cd8",
    "test_dynamic_soft_label_assigner.py": "233f6a1bc1d060e5281ca9f213193bc53110e28d",
    "test_hungarian_assigner.py": "923d3b79f1a88cb2b217b47e3f46b1b5671be435",
    "test_max_iou_assigner.py": "958933a784835116e495208ea5d0514bc3b58546",
    "test_simota_assigner.py": "0517f75d23a73e68a9bbc8b34338357167f9276e",
    "test_task_aligned_assigner.py": "9603b897f87b2f87bc0bce55f11e8adeefedd761",
    "test_topk_hungarian_assigner.py": "7273787bf0474b9bc825630f88bfe4b8b8feeaac",
    "test_batch_atss_assigner.py": "a01e4fce390965bb16a489237464c74851f09a25",
    "test_batch_dsl_assigner.py": "9644896ca2b609ae161de9eb74c2a520e13b76db",
    "test_batch_task_aligned_assigner.py": "fe474b53122703af556ff11a3ef42fa0a3ced736",
}

RUNTIME = None  # filled in by main()
CASES = []      # (directory name, framework, test, assigner labels, what is odd) for the summary
SKIPPED = []    # (framework, test, reason)


# --- helpers ---------------------------------------------------------------------------------------------------------

def git_blob(path):
    data = Path(path).read_bytes()
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def check_sources():
    roots = {"mmdet": Path(inspect.getfile(mmdet)).parent.parent, "mmyolo": Path(inspect.getfile(mmyolo)).parent.parent}
    for rel, want in SOURCE_BLOBS.items():
        got = git_blob(roots[rel.split("/")[0]] / rel)
        if got != want:
            sys.exit(f"make_upstream_cases: {rel} has blob {got}, expected {want}: not the reference version")


def np_(t):
    return t.detach().cpu().numpy()


def same(a, b):
    """Bit-identical results (arrays, tensors, None, dicts/tuples of them)."""
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if a is None or b is None:
        return a is None and b is None
    x, y = np.asarray(a), np.asarray(b)
    return x.dtype == y.dtype and x.shape == y.shape and x.tobytes() == y.tobytes()


def twice(run):
    """Runs a reference call twice on fresh inputs; the two results must be bit-identical. run() returns
    (the reference's raw result, the converted arrays, ...); the raw result is not compared, the rest is."""
    first, second = run(), run()
    if not same(first[1:], second[1:]):
        sys.exit("make_upstream_cases: a reference call gave two different results on the same inputs")
    return first


def assign_result_arrays(ar, with_overlaps=True):
    out = {"assigned_gt_inds": np_(ar.gt_inds).astype(np.int64),
           "assigned_labels": np_(ar.labels).astype(np.int64)}
    if with_overlaps and ar.max_overlaps is not None:
        out["max_overlaps"] = np_(ar.max_overlaps).astype(np.float32)
    return out


def reference(base, cls, path, test_file, test_name, call, tests_dir):
    return {**base, "file": path, "blob": SOURCE_BLOBS[path], "class": cls.__name__,
            "test": {"file": f"{tests_dir}/{test_file}", "blob": TEST_BLOBS[test_file], "name": test_name,
                     "call": call}}


def entry(assigner, params, ref, *, init_params, call_kwargs, inputs, outputs, checks, results, **extra):
    e = {"assigner": assigner, "params": params, "reference": ref, "init_params": init_params,
         "call_kwargs": call_kwargs, "inputs": inputs, "outputs": outputs,
         "checks": {**checks, "deterministic": "ran twice, bit-identical"},
         "runtime": RUNTIME, "generator": "tools/make_upstream_cases.py", "results": results}
    e.update(extra)
    return e


def write_case(name, framework, test, odd, fields, expected, *, image_size=None, num_classes=None, scores="logits",
               source=None, by_hand=False):
    """One case: via assignscope_dump.dump(); by hand (same layout) when the test gives no priors at all."""
    target = OUT / name
    src = source or f"{framework} unit test {test}"
    if not by_hand:
        dump(target, image_size=image_size, num_classes=num_classes, scores=scores, source=src,
             expected=expected, **fields)
    else:
        target.mkdir(parents=True)
        for k, v in fields.items():
            v = np.asarray(v)
            v = v.astype(np.int64) if k == "gt_labels" else v.astype(np.float32)
            np.save(target / f"{k}.npy", v, allow_pickle=False)
        meta = {"version": 1, "scores": scores, "source": src}
        if image_size is not None:
            meta["image_size"] = list(image_size)
        if num_classes is not None:
            meta["num_classes"] = num_classes
        (target / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")
        for label, e in expected.items():
            d = target / "expected" / label
            d.mkdir(parents=True)
            params = {k: v for k, v in e.items() if k != "results"}
            arrays = {}
            for rname, arr in e["results"].items():
                arr = np.asarray(arr)
                arrays[rname + ".npy"] = arr.astype(np.float32 if arr.dtype.kind == "f" else np.int64)
            params["files"] = sorted(arrays)
            for f, arr in arrays.items():
                np.save(d / f, arr, allow_pickle=False)
            (d / "params.json").write_text(json.dumps(params, indent=1) + "\n")
    CASES.append((name, framework, test, sorted(expected), odd))


def skip(framework, test, reason):
    SKIPPED.append((framework, test, reason))


def expect(cond, what):
    if not cond:
        sys.exit(f"make_upstream_cases: the unit test's assertion fails on the reference's result: {what}")


# --- shared literals -------------------------------------------------------------------------------------------------

def anchors4():  # test_atss_assigner / test_max_iou_assigner: priors are anchor boxes (x1, y1, x2, y2)
    return torch.FloatTensor([[0, 0, 10, 10], [10, 10, 20, 20], [5, 5, 15, 15], [32, 32, 38, 42]])


def anchors4_ignore():  # the *_with_ignore tests move the last anchor
    return torch.FloatTensor([[0, 0, 10, 10], [10, 10, 20, 20], [5, 5, 15, 15], [30, 32, 40, 42]])


def gts2():
    return torch.FloatTensor([[0, 0, 10, 9], [0, 10, 10, 19]]), torch.LongTensor([2, 3])


def ignore1():
    return torch.Tensor([[30, 30, 40, 40]])


ANCHOR_INPUTS = {"pred_instances.priors": "anchor boxes (x1, y1, x2, y2) as the test writes them -> the dump's "
                                          "anchors field (no priors field)"}

# --- mmdetection: ATSSAssigner ---------------------------------------------------------------------------------------

ATSS_PATH = "mmdet/models/task_modules/assigners/atss_assigner.py"
ATSS_OUT = {"assigned_gt_inds": "AssignResult.gt_inds", "assigned_labels": "AssignResult.labels",
            "max_overlaps": "AssignResult.max_overlaps (IoU(anchor, assigned GT) for positives, -1e8 otherwise; "
                            "all 0.0 on the early return of G = 0 or N = 0)"}


def mmdet_atss():
    f = "test_atss_assigner.py"

    def one(test, call, odd, anchors, gt_bboxes, gt_labels, nlp, ignore=None, check=None):
        def run():
            a = ATSSAssigner(topk=9)
            pred = InstanceData(priors=anchors())
            gt = InstanceData(bboxes=gt_bboxes().clone(), labels=gt_labels().clone())
            if ignore is None:
                r = a.assign(pred, nlp, gt)
            else:
                r = a.assign(pred, nlp, gt, gt_instances_ignore=InstanceData(bboxes=ignore()))
            return r, assign_result_arrays(r)
        ar, res = twice(run)
        checks = check(ar) if check else {}
        fields = dict(anchors=np_(anchors()), num_level_priors=np.array(nlp, np.int64),
                      gt_bboxes=np_(gt_bboxes()), gt_labels=np_(gt_labels()))
        if ignore is not None:
            fields["gt_bboxes_ignore"] = np_(ignore())
        ref = reference(MMDET, ATSSAssigner, ATSS_PATH, f, f"TestATSSAssigner.{test}", call, MMDET_TESTS)
        e = entry("atss", {"topk": 9, "ignore_iof_thr": -1}, ref,
                  init_params={"topk": 9, "alpha": None, "iou_calculator": {"type": "BboxOverlaps2D"},
                               "ignore_iof_thr": -1},
                  call_kwargs={"num_level_priors": nlp,
                               "gt_instances_ignore": "InstanceData(bboxes=gt_bboxes_ignore)" if ignore else None},
                  inputs={**ANCHOR_INPUTS, "num_level_bboxes": f"{nlp} -> num_level_priors",
                          **({"gt_instances_ignore": "gt_bboxes_ignore; unused by the reference: ignore_iof_thr "
                                                     "is the constructor default -1"} if ignore else {})},
                  outputs=ATSS_OUT, checks=checks, results=res)
        write_case(f"mmdet-test_atss_assigner-{test}", "mmdet", f"{f}::{test}", odd, fields, {"atss": e})

    def t1(ar):
        expect(len(ar.gt_inds) == 4 and len(ar.labels) == 4, "4 results")
        expect(torch.all(ar.gt_inds == torch.LongTensor([1, 0, 0, 0])), "gt_inds == [1, 0, 0, 0]")
        return {"test_assertions": "len(gt_inds) == len(labels) == 4; gt_inds == [1, 0, 0, 0]: hold"}

    def t_ign(ar):
        expect(torch.all(ar.gt_inds == torch.LongTensor([1, 0, 0, 0])), "gt_inds == [1, 0, 0, 0]")
        return {"test_assertions": "gt_inds == [1, 0, 0, 0]: hold"}

    def t_empty_gt(ar):
        expect(torch.all(ar.gt_inds == torch.LongTensor([0, 0, 0, 0])), "gt_inds == [0, 0, 0, 0]")
        return {"test_assertions": "gt_inds == [0, 0, 0, 0]: hold"}

    def t_empty_boxes(ar):
        expect(len(ar.gt_inds) == 0 and tuple(ar.labels.shape) == (0,), "no results")
        return {"test_assertions": "len(gt_inds) == 0; labels.shape == (0,): hold"}

    empty_gt = (lambda: torch.empty(0, 4), lambda: torch.empty(0))
    one("test_atss_assigner", "assign(pred_instances, num_level_bboxes, gt_instances)",
        "topk 9 > the 4 anchors of the only level (all are candidates); a non-square anchor", anchors4,
        lambda: gts2()[0], lambda: gts2()[1], [4], check=t1)
    one("test_atss_assigner_with_ignore", "assign(..., gt_instances_ignore=gt_instances_ignore)",
        "an ignore box, unused (ignore_iof_thr -1)", anchors4_ignore, lambda: gts2()[0], lambda: gts2()[1], [4],
        ignore=ignore1, check=t_ign)
    one("test_atss_assigner_with_empty_gt", "assign(pred_instances, num_level_bboxes, gt_instances)",
        "no GT (labels an empty float tensor)", anchors4, *empty_gt, [4], check=t_empty_gt)
    one("test_atss_assigner_with_empty_boxes", "assign(pred_instances, num_level_bboxes, gt_instances)",
        "no anchors (N = 0, num_level_bboxes [0])", lambda: torch.empty((0, 4)), lambda: gts2()[0],
        lambda: gts2()[1], [0], check=t_empty_boxes)
    one("test_atss_assigner_with_empty_boxes_and_ignore", "assign(..., gt_instances_ignore=gt_instances_ignore)",
        "no anchors and an ignore box", lambda: torch.empty((0, 4)), lambda: gts2()[0], lambda: gts2()[1], [0],
        ignore=ignore1, check=t_empty_boxes)
    one("test_atss_assigner_with_empty_boxes_and_gt", "assign(pred_instances, num_level_bboxes, gt_instances)",
        "no anchors and no GT", lambda: torch.empty((0, 4)), lambda: torch.empty((0, 4)), lambda: torch.empty(0),
        [0], check=lambda ar: (expect(len(ar.gt_inds) == 0, "no results"),
                               {"test_assertions": "len(gt_inds) == 0: holds"})[1])


# --- mmdetection: MaxIoUAssigner -------------------------------------------------------------------------------------

MAXIOU_PATH = "mmdet/models/task_modules/assigners/max_iou_assigner.py"
MAXIOU_OUT = {"assigned_gt_inds": "AssignResult.gt_inds (0 negative, -1 ignored, g + 1)",
              "assigned_labels": "AssignResult.labels",
              "max_overlaps": "AssignResult.max_overlaps: max IoU over all GTs per anchor, -1 for anchors ignored "
                              "through gt_bboxes_ignore; all 0.0 on the early return (G = 0 or N = 0)"}


def maxiou_params(kw):
    p = {"pos_iou_thr": kw["pos_iou_thr"],
         "neg_iou_thr": list(kw["neg_iou_thr"]) if isinstance(kw["neg_iou_thr"], tuple) else kw["neg_iou_thr"],
         "min_pos_iou": 0.0, "gt_max_assign_all": True, "ignore_iof_thr": kw.get("ignore_iof_thr", -1),
         "ignore_wrt_candidates": kw.get("ignore_wrt_candidates", True), "match_low_quality": True}
    return p


def mmdet_max_iou():
    f = "test_max_iou_assigner.py"

    def results_for(kw, anchors, gt_bboxes, gt_labels, ignore):
        def run():
            a = MaxIoUAssigner(**kw)
            pred = InstanceData(priors=anchors())
            gt = InstanceData(bboxes=gt_bboxes(), labels=gt_labels())
            if ignore is None:
                r = a.assign(pred, gt)
            else:
                r = a.assign(pred, gt, gt_instances_ignore=InstanceData(bboxes=ignore()))
            return r, assign_result_arrays(r)
        return twice(run)

    def one(test, odd, variants, anchors, gt_bboxes, gt_labels, ignore=None):
        expected = {}
        for label, kw, check, call in variants:
            ar, res = results_for(kw, anchors, gt_bboxes, gt_labels, ignore)
            ref = reference(MMDET, MaxIoUAssigner, MAXIOU_PATH, f, test, call, MMDET_TESTS)
            init = {**{k: (list(v) if isinstance(v, tuple) else v) for k, v in kw.items()}}
            expected[label] = entry(
                "max-iou", maxiou_params(kw), ref, init_params=init,
                call_kwargs={"gt_instances_ignore": "InstanceData(bboxes=gt_bboxes_ignore)" if ignore else None},
                inputs={**ANCHOR_INPUTS, **({"gt_instances_ignore": "gt_bboxes_ignore"} if ignore else {})},
                outputs=MAXIOU_OUT, checks=check(ar), results=res,
                **({"neg_iou_thr_note": "the tuple (0, 0.5): negative where 0 <= max IoU < 0.5"}
                   if isinstance(kw["neg_iou_thr"], tuple) else {}))
        fields = dict(anchors=np_(anchors()), gt_bboxes=np_(gt_bboxes()), gt_labels=np_(gt_labels()))
        if ignore is not None:
            fields["gt_bboxes_ignore"] = np_(ignore())
        write_case(f"mmdet-test_max_iou_assigner-{test}", "mmdet", f"{f}::{test}", odd, fields, expected)

    def gt_is(want):
        def c(ar):
            expect(torch.all(ar.gt_inds == torch.LongTensor(want)), f"gt_inds == {want}")
            return {"test_assertions": f"gt_inds == {want}: hold"}
        return c

    def empty_priors(ar):
        expect(len(ar.gt_inds) == 0 and tuple(ar.labels.shape) == (0,), "no results")
        return {"test_assertions": "len(gt_inds) == 0; labels.shape == (0,): hold"}

    def first(ar):
        expect(len(ar.gt_inds) == 4 and len(ar.labels) == 4, "4 results")
        return gt_is([1, 0, 2, 0])(ar)

    one("test_max_iou_assigner", "pytest.mark.parametrize neg_iou_thr over 0.5 and the tuple (0, 0.5)",
        [("max-iou+neg0.5", dict(pos_iou_thr=0.5, neg_iou_thr=0.5), first,
          "test_max_iou_assigner[0.5]: MaxIoUAssigner(pos_iou_thr=0.5, neg_iou_thr=0.5).assign(pred_instances, "
          "gt_instances)"),
         ("max-iou+neg0-0.5", dict(pos_iou_thr=0.5, neg_iou_thr=(0, 0.5)), first,
          "test_max_iou_assigner[neg_iou_thr1]: MaxIoUAssigner(pos_iou_thr=0.5, neg_iou_thr=(0, 0.5))"
          ".assign(pred_instances, gt_instances)")],
        anchors4, lambda: gts2()[0], lambda: gts2()[1])
    one("test_max_iou_assigner_with_ignore", "an ignore box with IoF over the ignore box's area "
        "(ignore_wrt_candidates=False): the last anchor ignored (-1, max_overlaps -1)",
        [("max-iou", dict(pos_iou_thr=0.5, neg_iou_thr=0.5, ignore_iof_thr=0.5, ignore_wrt_candidates=False),
          gt_is([1, 0, 2, -1]), "assign(pred_instances, gt_instances, gt_instances_ignore=gt_instances_ignore)")],
        anchors4_ignore, lambda: gts2()[0], lambda: gts2()[1], ignore=ignore1)
    one("test_max_iou_assigner_with_empty_gt", "no GT (labels an empty float tensor)",
        [("max-iou", dict(pos_iou_thr=0.5, neg_iou_thr=0.5), gt_is([0, 0, 0, 0]),
          "assign(pred_instances, gt_instances)")],
        anchors4, lambda: torch.empty(0, 4), lambda: torch.empty(0))
    one("test_max_iou_assigner_with_empty_priors", "no anchors (N = 0)",
        [("max-iou", dict(pos_iou_thr=0.5, neg_iou_thr=0.5), empty_priors, "assign(pred_instances, gt_instances)")],
        lambda: torch.empty((0, 4)), lambda: gts2()[0], lambda: gts2()[1])
    one("test_max_iou_assigner_with_empty_boxes_and_ignore", "no anchors, an ignore box, ignore_iof_thr 0.5",
        [("max-iou", dict(pos_iou_thr=0.5, neg_iou_thr=0.5, ignore_iof_thr=0.5), empty_priors,
          "assign(pred_instances, gt_instances, gt_instances_ignore=gt_instances_ignore)")],
        lambda: torch.empty((0, 4)), lambda: gts2()[0], lambda: gts2()[1], ignore=ignore1)
    one("test_max_iou_assigner_with_empty_priors_and_gt", "no anchors and no GT",
        [("max-iou", dict(pos_iou_thr=0.5, neg_iou_thr=0.5),
          lambda ar: (expect(len(ar.gt_inds) == 0, "no results"), {"test_assertions": "len(gt_inds) == 0: holds"})[1],
          "assign(pred_instances, gt_instances)")],
        lambda: torch.empty(0, 4), lambda: torch.empty(0, 4), lambda: torch.empty(0))


# --- mmdetection: DynamicSoftLabelAssigner and SimOTAAssigner --------------------------------------------------------

def with_dynamic_ks(assigner, topk_attr):
    """Wraps the instance's dynamic_k_matching: records the dynamic k exactly as its first lines compute it (the
    same torch calls on the same pairwise_ious), then runs the reference's own method unchanged."""
    seen = {}
    orig = assigner.dynamic_k_matching

    def wrapped(cost, pairwise_ious, num_gt, valid_mask):
        candidate_topk = min(getattr(assigner, topk_attr), pairwise_ious.size(0))
        topk_ious, _ = torch.topk(pairwise_ious, candidate_topk, dim=0)
        seen["dynamic_ks"] = np_(torch.clamp(topk_ious.sum(0).int(), min=1)).astype(np.int64)
        return orig(cost, pairwise_ious, num_gt, valid_mask)

    assigner.dynamic_k_matching = wrapped
    return seen


def mmdet_dsla_simota():
    two_preds = lambda: torch.Tensor([[23, 23, 43, 43], [4, 5, 6, 7]])  # noqa: E731
    scores = lambda: torch.FloatTensor([[0.2], [0.8]])  # noqa: E731
    two_priors = lambda: torch.Tensor([[30, 30, 8, 8], [4, 5, 6, 7]])  # noqa: E731
    far_preds = lambda: torch.Tensor([[123, 123, 143, 143], [114, 151, 161, 171]])  # noqa: E731
    far_priors = lambda: torch.Tensor([[30, 30, 8, 8], [55, 55, 8, 8]])  # noqa: E731

    fams = [
        ("dynamic-soft-label", DynamicSoftLabelAssigner, "test_dynamic_soft_label_assigner.py",
         "TestDynamicSoftLabelAssigner", "mmdet/models/task_modules/assigners/dynamic_soft_label_assigner.py",
         dict(soft_center_radius=3.0, topk=1, iou_weight=3.0), "topk", "logits",
         "logits (the assigner takes sigmoid / BCE-with-logits itself)", -100000000.0),
        ("simota", SimOTAAssigner, "test_simota_assigner.py", "TestSimOTAAssigner",
         "mmdet/models/task_modules/assigners/sim_ota_assigner.py",
         dict(center_radius=2.5, candidate_topk=1, iou_weight=3.0, cls_weight=1.0), "candidate_topk", "probs",
         "probabilities (F.binary_cross_entropy on them as given) -> meta.scores = \"probs\"", -100000.0),
    ]
    for assigner_name, cls, f, klass, path, kw, topk_attr, scores_kind, scores_note, sentinel in fams:
        stem = f[:-3]
        cases = [("test_assign", "C = 1; the second prior has stride_w 6, stride_h 7", two_preds, two_priors,
                  lambda: torch.Tensor([[23, 23, 43, 43]]), False, [1, 0]),
                 ("test_assign_with_no_valid_bboxes", "a 1x1 GT no prior centre lies in: the early return after "
                  "the candidate test", far_preds, far_priors, lambda: torch.Tensor([[0, 0, 1, 1]]), False, [0, 0])]
        if assigner_name == "dynamic-soft-label":
            cases.append(("test_box_type_input", "GT boxes as HorizontalBoxes (find_inside_points: inclusive "
                          "edges; no prior centre lies on an edge here, so the Tensor path decides the same)",
                          two_preds, two_priors, lambda: torch.Tensor([[23, 23, 43, 43]]), True, [1, 0]))
        for test, odd, preds, priors, gtb, horizontal, want in cases:
            def run():
                a = cls(**kw)
                seen = with_dynamic_ks(a, topk_attr)
                pred = InstanceData(bboxes=preds(), scores=scores(), priors=priors())
                g = gtb()
                gt = InstanceData(bboxes=HorizontalBoxes(g) if horizontal else g, labels=torch.LongTensor([0]))
                r = a.assign(pred_instances=pred, gt_instances=gt)
                res = assign_result_arrays(r)
                early = "dynamic_ks" not in seen
                res["dynamic_ks"] = seen.get("dynamic_ks", np.zeros(1, np.int64))
                return r, res, early
            ar, res, early = twice(run)
            expect(torch.all(ar.gt_inds == torch.LongTensor(want)), f"gt_inds == {want}")  # assert_allclose
            ref = reference(MMDET, cls, path, f, f"{klass}.{test}",
                            "assign(pred_instances=pred_instances, gt_instances=gt_instances)", MMDET_TESTS)
            e = entry(assigner_name, dict(kw), ref, init_params=dict(kw), call_kwargs={},
                      inputs={"pred_instances.priors": "point priors (cx, cy, stride_w, stride_h) -> priors",
                              "pred_instances.scores": scores_note + " -> cls_scores",
                              "pred_instances.bboxes": "xyxy -> pred_bboxes",
                              **({"gt_instances.bboxes": "HorizontalBoxes -> its tensor, gt_bboxes"}
                                 if horizontal else {})},
                      outputs={"assigned_gt_inds": "AssignResult.gt_inds", "assigned_labels": "AssignResult.labels",
                               "max_overlaps": f"AssignResult.max_overlaps: IoU(pred, GT) for positives, {sentinel} "
                                               f"otherwise; all 0.0 on an early return",
                               "dynamic_ks": "the k of dynamic_k_matching, recorded from its own first lines on its "
                                             "pairwise_ious; zeros when the reference returns before matching "
                                             "(never computed), as the golden cases store it"},
                      checks={"test_assertions": f"gt_inds == {want} (assert_allclose): holds",
                              "early_return": early},
                      results=res)
            write_case(f"mmdet-{stem}-{test}", "mmdet", f"{f}::{test}", odd,
                       dict(priors=np_(priors()), cls_scores=np_(scores()), pred_bboxes=np_(preds()),
                            gt_bboxes=np_(gtb()), gt_labels=np.array([0], np.int64)),
                       {assigner_name: e}, scores=scores_kind)
        skip("mmdet", f"{f}::test_assign_with_empty_gt",
             "pred_instances.bboxes has shape (2, 1, 4) (torch.Tensor([[[30, 40, 50, 60]], [[4, 5, 6, 7]]])); "
             "the dump's pred_bboxes is [N, 4] (assignscope_dump: \"pred_bboxes: shape (2, 1, 4) but expected "
             "[N, 4]\")")


# --- mmdetection: TaskAlignedAssigner --------------------------------------------------------------------------------

def mmdet_task_aligned():
    f = "test_task_aligned_assigner.py"
    path = "mmdet/models/task_modules/assigners/task_aligned_assigner.py"
    pred_score = lambda: torch.FloatTensor([[0.1, 0.2], [0.2, 0.3], [0.3, 0.4], [0.4, 0.5]])  # noqa: E731
    pred_bbox = lambda: torch.FloatTensor([[1, 1, 12, 8], [4, 4, 20, 20], [1, 5, 15, 15], [30, 5, 32, 42]])  # noqa
    anchor = anchors4

    def run():
        a = TaskAlignedAssigner(topk=13)
        pred = InstanceData()
        pred.priors = anchor()
        pred.bboxes = pred_bbox()
        pred.scores = pred_score()
        gt = InstanceData()
        gt.bboxes = torch.FloatTensor([[0, 0, 10, 9], [0, 10, 10, 19]])
        gt.labels = torch.LongTensor([0, 1])
        r = a.assign(pred, gt)
        res = assign_result_arrays(r)
        res["assign_metrics_raw"] = np_(r.assign_metrics).astype(np.float32)
        return r, res
    ar, res = twice(run)
    expect(len(ar.gt_inds) == 4 and len(ar.labels) == 4, "4 results")
    ref = reference(MMDET, TaskAlignedAssigner, path, f, "TestTaskAlignedAssigner.test_task_aligned_assigner",
                    "the first assign(pred_instances, gt_instances) (two GTs)", MMDET_TESTS)
    e = entry("task-aligned", {"topk": 13, "alpha": 1, "beta": 6}, ref,
              init_params={"topk": 13, "iou_calculator": {"type": "BboxOverlaps2D"}},
              call_kwargs={"alpha": "1 (default)", "beta": "6 (default)"},
              inputs={**ANCHOR_INPUTS, "pred_instances.scores": "probabilities as the test writes them (TOODHead "
                      "passes sigmoid scores) -> cls_scores with meta.scores = \"probs\"",
                      "pred_instances.bboxes": "xyxy -> pred_bboxes"},
              outputs={"assigned_gt_inds": "AssignResult.gt_inds", "assigned_labels": "AssignResult.labels",
                       "max_overlaps": "AssignResult.max_overlaps: IoU(pred, assigned GT) for positives, -1e8 "
                                       "otherwise",
                       "assign_metrics_raw": "AssignResult.assign_metrics (score**1 * IoU**6 of the assigned GT, 0 "
                                             "elsewhere); TOODHead's normalised assign_metrics is not part of the "
                                             "test and not stored"},
              checks={"test_assertions": "len(gt_inds) == len(labels) == 4: holds"}, results=res)
    write_case("mmdet-test_task_aligned_assigner-test_task_aligned_assigner", "mmdet",
               f"{f}::test_task_aligned_assigner (first assign call)",
               "scores given as probabilities; predicted boxes reaching outside the anchors; topk 13 > N = 4",
               dict(anchors=np_(anchor()), cls_scores=np_(pred_score()), pred_bboxes=np_(pred_bbox()),
                    gt_bboxes=np.array([[0, 0, 10, 9], [0, 10, 10, 19]], np.float32),
                    gt_labels=np.array([0, 1], np.int64)),
               {"task-aligned": e}, scores="probs")
    skip("mmdet", f"{f}::test_task_aligned_assigner (second assign call, empty GT)",
         "gt_labels = torch.empty(0, 2).long() has shape (0, 2); the dump's gt_labels is [G] or [G, 1] "
         "(assignscope_dump: \"gt_labels: shape (0, 2) but expected [G] or [G, 1] (G = 0 from gt_bboxes (0, 4))\")")
    skip("mmdet", f"{f}::test_task_aligned_assigner (TaskAlignedAssigner(topk=0))",
         "a constructor assertion; no assign() call, no inputs")


# --- mmdetection: HungarianAssigner and TopkHungarianAssigner --------------------------------------------------------

def min_increase(cost, rows, cols, k=1):
    """How much the optimum rises when any one matched (query, GT) pair is forbidden: > 0 means the matching is
    the unique optimum among assignments differing in that pair (scipy, float64 copy of the float32 cost)."""
    from scipy.optimize import linear_sum_assignment
    c = np.asarray(cost, np.float64)
    if k > 1:
        c = np.repeat(c, k, axis=1)
    base = c[rows, cols].sum()
    big = np.abs(c).max() * 1e3 + 1e3
    worst = None
    for r, col in zip(rows, cols):
        d = c.copy()
        g = col // k
        d[r, g * k:(g + 1) * k] = big
        rr, cc = linear_sum_assignment(d)
        inc = float(d[rr, cc].sum() - base)
        worst = inc if worst is None else min(worst, inc)
    return worst


def canonical(cost_cfg):
    return {k: v for k, v in dict(cost_cfg).items()}


TIE_DEPENDENT = []  # results that hold a choice among equal optima


def mmdet_hungarian():
    f = "test_hungarian_assigner.py"
    path = "mmdet/models/task_modules/assigners/hungarian_assigner.py"
    img_meta = dict(img_shape=(10, 8))
    gt_b, gt_l = torch.FloatTensor([[0, 0, 5, 7], [3, 5, 7, 8]]), torch.LongTensor([1, 20])

    def draw():
        torch.manual_seed(SEED)
        return torch.rand((10, 81)), torch.rand((10, 4))

    def solve(costs_cfg, scores, bboxes, gtb, gtl, where):
        seen = {}

        def run():
            a = HungarianAssigner(costs_cfg)
            pred = InstanceData()
            pred.scores, pred.bboxes = scores.clone(), bboxes.clone()
            gt = InstanceData()
            gt.bboxes, gt.labels = gtb.clone(), gtl.clone()
            r = a.assign(pred, gt, img_meta=img_meta)
            if len(gtb):
                cost = torch.stack([m(pred_instances=pred, gt_instances=gt, img_meta=img_meta)
                                    for m in a.match_costs]).sum(0)
                seen["cost"] = np_(cost)
            return r, assign_result_arrays(r, with_overlaps=False)
        ar, res = twice(run)
        checks = {}
        if len(gtb):
            inds = res["assigned_gt_inds"]
            rows = np.flatnonzero(inds > 0)
            inc = min_increase(seen["cost"], rows, inds[rows] - 1)
            checks["min_cost_increase_when_a_matched_pair_is_forbidden"] = inc
            if inc <= 0:
                flat = [g for g in range(len(gtb)) if np.all(seen["cost"][:, g] == seen["cost"][0, g])]
                checks["ties"] = (
                    "the optimum is NOT unique: forbidding a matched pair leaves the total unchanged"
                    + (f"; GT {flat} costs the same for every query (its IoU with every predicted box is 0), so it "
                       f"may take any query the other GT leaves" if flat else "")
                    + ". Stored is scipy's choice among the equal optima; assignscope does not promise scipy's "
                      "order among equal optima (docs/assigners.md, hungarian, Ties)")
                TIE_DEPENDENT.append(f"mmdet {f}::{where}")
            expect(torch.all(ar.gt_inds > -1) and int((ar.gt_inds > 0).sum()) == len(gtb)
                   and int((ar.labels > -1).sum()) == len(gtb), "every GT matched once")
            checks["test_assertions"] = "gt_inds > -1; (gt_inds > 0).sum() == (labels > -1).sum() == 2: hold"
        else:
            expect(torch.all(ar.gt_inds == 0) and torch.all(ar.labels == -1), "all negative")
            checks["test_assertions"] = "gt_inds == 0; labels == -1: hold"
        return res, checks

    def ent(costs_cfg, test, call, res, checks, num_classes_note):
        costs = costs_cfg if isinstance(costs_cfg, list) else [costs_cfg]
        ref = reference(MMDET, HungarianAssigner, path, f, f"TestHungarianAssigner.{test}", call, MMDET_TESTS)
        ref["support_files"] = {"mmdet/models/task_modules/assigners/match_cost.py":
                                SOURCE_BLOBS["mmdet/models/task_modules/assigners/match_cost.py"]}
        return entry("hungarian", {"match_costs": [canonical(c) for c in costs]}, ref,
                     init_params={"match_costs": [canonical(c) for c in costs] if isinstance(costs_cfg, list)
                                  else canonical(costs_cfg)},
                     call_kwargs={"img_meta": {"img_shape": [10, 8]}},
                     inputs={"pred_instances.scores": f"torch.rand((10, 81)) used as logits -> cls_scores; "
                                                      f"{num_classes_note}",
                             "pred_instances.bboxes": "torch.rand((10, 4)) used as xyxy pixels (8 of 10 rows have "
                                                      "x2 < x1 or y2 < y1) -> pred_bboxes",
                             "priors": "none: the test gives none and HungarianAssigner reads none (dump written "
                                       "without a priors field)",
                             "img_meta": "img_shape (10, 8) -> meta.image_size",
                             "random": f"upstream draws scores then bboxes from the unseeded global torch RNG; "
                                       f"here after torch.manual_seed({SEED})"},
                     outputs={"assigned_gt_inds": "AssignResult.gt_inds", "assigned_labels": "AssignResult.labels",
                              "max_overlaps": "not stored: HungarianAssigner returns max_overlaps = None"},
                     checks=checks, results=res)

    scores, bboxes = draw()
    detr = [dict(type='ClassificationCost', weight=1.), dict(type='BBoxL1Cost', weight=5.0),
            dict(type='IoUCost', iou_mode='giou', weight=2.0)]
    softmax_note = "81 columns = 80 classes + the no-object column that ClassificationCost's softmax runs over " \
                   "-> meta.num_classes = 80"
    for suffix, gtb, gtl, odd in (("empty-gt", torch.empty((0, 4)).float(), torch.empty((0,)).long(), "no GT"),
                                  ("gt2", gt_b, gt_l, "")):
        test = "test_hungarian_match_assigner"
        res, checks = solve(detr, scores, bboxes, gtb, gtl, f"{test} ({suffix}), label hungarian")
        call = ("first" if suffix == "empty-gt" else "second") + " assign(pred_instances, gt_instances, img_meta)"
        write_case(f"mmdet-test_hungarian_assigner-{test}-{suffix}", "mmdet", f"{f}::{test} ({call})",
                   "DETR's softmax class cost over C + 1 = 81 random 'logits'; BBoxL1Cost's xyxy default; "
                   "predicted boxes mostly inverted; 10x8 image" + (f"; {odd}" if odd else ""),
                   dict(cls_scores=np_(scores), pred_bboxes=np_(bboxes), gt_bboxes=np_(gtb), gt_labels=np_(gtl)),
                   {"hungarian": ent(detr, test, call, res, checks, softmax_note)},
                   image_size=(10, 8), num_classes=80, by_hand=True)

    plain_note = "81 columns, no meta.num_classes: C = 81 (no cost here reads the no-object column as such; " \
                 "a softmax over the row is over the same 81 columns either way)"
    for test, variants, odd in (
            ("test_bbox_match_cost",
             [("hungarian+iou-cost", ConfigDict(dict(type='IoUCost', iou_mode='iou')),
               "HungarianAssigner(ConfigDict(dict(type='IoUCost', iou_mode='iou')))"),
              ("hungarian+bbox-l1-cost", ConfigDict(dict(type='BBoxL1Cost')),
               "HungarianAssigner(ConfigDict(dict(type='BBoxL1Cost')))")],
             "a single cost given as one ConfigDict (not a list): IoUCost(iou) alone, BBoxL1Cost (xyxy) alone"),
            ("test_cls_match_cost",
             [("hungarian+focal-loss-cost", dict(type='FocalLossCost'),
               "HungarianAssigner(dict(type='FocalLossCost'))"),
              ("hungarian+classification-cost", dict(type='ClassificationCost'),
               "HungarianAssigner(dict(type='ClassificationCost'))")],
             "a class cost alone: focal with weight 1 on 81 sigmoid columns; softmax over 81 columns")):
        scores, bboxes = draw()
        expected = {}
        for label, cfg, call in variants:
            res, checks = solve(cfg, scores, bboxes, gt_b, gt_l, f"{test}, label {label}")
            expected[label] = ent(cfg, test, call + ".assign(pred_instances, gt_instances, img_meta=img_meta)",
                                  res, checks, plain_note)
        write_case(f"mmdet-test_hungarian_assigner-{test}", "mmdet", f"{f}::{test}", odd,
                   dict(cls_scores=np_(scores), pred_bboxes=np_(bboxes), gt_bboxes=np_(gt_b), gt_labels=np_(gt_l)),
                   expected, image_size=(10, 8), by_hand=True)
    skip("mmdet", f"{f}::test_init", "HungarianAssigner([]) raising AssertionError; no assign() call, no inputs")
    skip("mmdet", f"{f}::test_mask_match_cost",
         "mask inputs (gt masks (2, 10, 10), pred masks (4, 10, 10)) and mask costs (DiceCost, CrossEntropyLossCost, "
         "FocalLossCost(binary_input=True)) without boxes: the dump has no mask fields and assignscope refuses "
         "these costs")


def mmdet_topk_hungarian():
    f = "test_topk_hungarian_assigner.py"
    path = "mmdet/models/task_modules/assigners/topk_hungarian_assigner.py"
    img_meta = dict(img_shape=(10, 8))
    gt_b, gt_l = torch.FloatTensor([[0, 0, 5, 7], [3, 5, 7, 8]]), torch.LongTensor([1, 20])
    defaults = dict(cls_cost=dict(type='FocalLossCost', weight=2.0), reg_cost=dict(type='BBoxL1Cost', weight=5.0),
                    iou_cost=dict(type='IoUCost', iou_mode='giou', weight=2.0))

    def draw():
        torch.manual_seed(SEED)
        return torch.rand((10, 80)), torch.randn((10, 4))

    def solve(kw, scores, bboxes, gtb, gtl):
        seen = {}
        orig = topk_hungarian_module.linear_sum_assignment

        def lsa(c):
            rows, cols = orig(c)
            seen["cost"], seen["rows"], seen["cols"] = np.array(c), rows.copy(), cols.copy()
            return rows, cols

        def run():
            a = TopkHungarianAssigner(**kw)
            topk_hungarian_module.linear_sum_assignment = lsa
            try:
                r = a.assign(scores.clone(), bboxes.clone(), gtb.clone(), gtl.clone(), img_meta)
            finally:
                topk_hungarian_module.linear_sum_assignment = orig
            res = assign_result_arrays(r, with_overlaps=False)
            if len(gtb):
                # max_overlaps and assign_metrics are [M], one per matched query in linear_sum_assignment's
                # row order: scattered to [N], 0.0 elsewhere.
                n = len(scores)
                mo, am = np.zeros(n, np.float32), np.zeros(n, np.float32)
                mo[seen["rows"]] = np_(r.max_overlaps)
                am[seen["rows"]] = np_(r.assign_metrics)
                res["max_overlaps"], res["assign_metrics_raw"] = mo, am
            return r, res
        ar, res = twice(run)
        topk = kw["topk"]
        checks = {}
        if len(gtb):
            k = min(topk, int(len(scores) / len(gtb)))
            full = seen["cost"]  # [N, G * k] as scipy received it
            checks["min_cost_increase_when_a_matched_pair_is_forbidden"] = min_increase(
                full[:, ::k], seen["rows"], seen["cols"], k=k)
            expect(torch.all(ar.gt_inds > -1) and int((ar.gt_inds > 0).sum()) == len(gtb) * topk
                   and int((ar.labels > -1).sum()) == len(gtb) * topk, "topk queries per GT")
            checks["test_assertions"] = "gt_inds > -1; (gt_inds > 0).sum() == (labels > -1).sum() == 2 * 4: hold"
        else:
            expect(torch.all(ar.gt_inds == 0) and torch.all(ar.labels == -1), "all negative")
            checks["test_assertions"] = "gt_inds == 0; labels == -1: hold"
        return res, checks

    def ent(kw, test, call, res, checks):
        params = {"topk": kw["topk"]}
        for key in ("cls_cost", "reg_cost", "iou_cost"):
            params[key] = canonical(kw.get(key, defaults[key]))
        params.update(alpha=1, beta=6)
        ref = reference(MMDET, TopkHungarianAssigner, path, f, f"TestTopkHungarianAssigner.{test}", call,
                        MMDET_TESTS)
        ref["support_files"] = {p: SOURCE_BLOBS[p] for p in (
            "mmdet/models/task_modules/assigners/task_aligned_assigner.py",
            "mmdet/models/task_modules/assigners/match_cost.py")}
        has_gt = "max_overlaps" in res
        return entry("topk-hungarian", params, ref,
                     init_params={k: (canonical(v) if isinstance(v, dict) else v) for k, v in kw.items()},
                     call_kwargs={"img_meta": {"img_shape": [10, 8]}, "alpha": "1 (default)", "beta": "6 (default)"},
                     inputs={"pred_scores": "torch.rand((10, 80)), passed as the scores themselves (DDQ passes "
                                            "sigmoid scores; FocalLossCost sigmoids them again) -> cls_scores with "
                                            "meta.scores = \"probs\"",
                             "decode_bboxes": "torch.randn((10, 4)) as xyxy pixels (negative and inverted boxes) "
                                              "-> pred_bboxes",
                             "priors": "none: the test gives none and the assigner reads none (dump written without "
                                       "a priors field)",
                             "img_meta": "img_shape (10, 8) -> meta.image_size",
                             "random": f"upstream draws scores then boxes from the unseeded global torch RNG; here "
                                       f"after torch.manual_seed({SEED})"},
                     outputs={"assigned_gt_inds": "AssignResult.gt_inds", "assigned_labels": "AssignResult.labels",
                              **({"max_overlaps": "AssignResult.max_overlaps, [M] over the matched queries in "
                                                  "linear_sum_assignment's row order, scattered to [N], 0.0 elsewhere",
                                  "assign_metrics_raw": "AssignResult.assign_metrics ([M] score * IoU**6), scattered "
                                                        "the same way; DDQAuxLoss's normalised targets are not part "
                                                        "of the test and not stored"}
                                 if has_gt else {"max_overlaps": "not stored: the reference returns None (G = 0)"})},
                     checks=checks, results=res)

    scores, bboxes = draw()
    test = "test_topk_hungarian_match_assigner"
    for suffix, gtb, gtl, odd in (("empty-gt", torch.empty((0, 4)), torch.LongTensor([]), "; no GT"),
                                  ("gt2", gt_b, gt_l, "")):
        kw = dict(topk=4)
        res, checks = solve(kw, scores, bboxes, gtb, gtl)
        call = ("first" if suffix == "empty-gt" else "second") + \
            " assign(pred_class_scores, pred_bboxes, gt_bboxes, gt_labels, img_meta)"
        write_case(f"mmdet-test_topk_hungarian_assigner-{test}-{suffix}", "mmdet", f"{f}::{test} ({call})",
                   "scores handed over as probabilities and sigmoided again by FocalLossCost; randn boxes "
                   "(negative, inverted); k = min(4, 10 // 2)" + odd,
                   dict(cls_scores=np_(scores), pred_bboxes=np_(bboxes), gt_bboxes=np_(gtb), gt_labels=np_(gtl)),
                   {"topk-hungarian": ent(kw, test, call, res, checks)},
                   image_size=(10, 8), scores="probs", by_hand=True)

    for test, variants, odd in (
            ("test_bbox_match_cost",
             [("topk-hungarian+iou-cost-iou", dict(topk=4, iou_cost=ConfigDict(dict(type='IoUCost', iou_mode='iou'))),
               "TopkHungarianAssigner(topk=4, iou_cost=ConfigDict(dict(type='IoUCost', iou_mode='iou')))"),
              ("topk-hungarian+reg-cost-default", dict(topk=4, reg_cost=ConfigDict(dict(type='BBoxL1Cost'))),
               "TopkHungarianAssigner(topk=4, reg_cost=ConfigDict(dict(type='BBoxL1Cost')))")],
             "IoUCost(iou, weight 1) in place of GIoU; BBoxL1Cost with weight 1"),
            ("test_cls_match_cost",
             [("topk-hungarian+focal-cost-weight1", dict(topk=4, cls_cost=dict(type='FocalLossCost')),
               "TopkHungarianAssigner(topk=4, cls_cost=dict(type='FocalLossCost'))"),
              ("topk-hungarian+classification-cost", dict(topk=4, cls_cost=dict(type='ClassificationCost')),
               "TopkHungarianAssigner(topk=4, cls_cost=dict(type='ClassificationCost'))")],
             "class cost FocalLossCost with weight 1; ClassificationCost (softmax over the 80 probabilities)")):
        scores, bboxes = draw()
        expected = {}
        for label, kw, call in variants:
            res, checks = solve(kw, scores, bboxes, gt_b, gt_l)
            expected[label] = ent(kw, test, call + ".assign(pred_class_scores, pred_bboxes, gt_bboxes, gt_labels, "
                                  "img_meta)", res, checks)
        write_case(f"mmdet-test_topk_hungarian_assigner-{test}", "mmdet", f"{f}::{test}", odd,
                   dict(cls_scores=np_(scores), pred_bboxes=np_(bboxes), gt_bboxes=np_(gt_b), gt_labels=np_(gt_l)),
                   expected, image_size=(10, 8), scores="probs", by_hand=True)
    skip("mmdet", f"{f}::test_init", "TopkHungarianAssigner(topk=0) raising AssertionError; no assign() call")


# --- mmyolo: batched assigners ---------------------------------------------------------------------------------------

def yolo_priors_84():
    return torch.FloatTensor([[4., 4., 8., 8.], [12., 4., 8., 8.], [20., 4., 8., 8.], [28., 4., 8., 8.]]).repeat(21, 1)


def yolo_preds_84(batch_size=2):
    return torch.FloatTensor([[-4., -4., 12., 12.], [4., -4., 20., 12.], [12., -4., 28., 12.],
                              [20., -4., 36., 12.]]).unsqueeze(0).repeat(batch_size, 21, 1)


def yolo_gts(batch_size=2, labels=(0, 11)):
    gt_bboxes = torch.FloatTensor([[0, 0, 60, 93], [229, 0, 532, 157]]).unsqueeze(0).repeat(batch_size, 1, 1)
    gt_labels = torch.LongTensor([[labels[0]], [labels[1]]]).unsqueeze(0).repeat(batch_size, 1, 1)
    pad = torch.FloatTensor([[1], [0]]).unsqueeze(0).repeat(batch_size, 1, 1)
    return gt_bboxes, gt_labels, pad


def with_highest_overlaps(module):
    """Wraps the module's select_highest_overlaps (the reference's own function, run unchanged) to record what it
    returns and the overlaps it decided on."""
    seen = {}
    orig = module.select_highest_overlaps

    def wrapped(pos_mask, overlaps, num_gt):
        out = orig(pos_mask, overlaps, num_gt)
        seen["gt_idx"], seen["fg"], seen["overlaps"] = np_(out[0]), np_(out[1]), np_(overlaps)
        return out
    return seen, orig, wrapped


def yolo_results(seen, out, num_classes, background_label):
    """assignscope's arrays from a batched assigner's dict and what select_highest_overlaps returned. Positives are
    fg_mask_pre_prior; BatchATSSAssigner writes num_classes off them (background_label True), BatchTaskAligned-
    Assigner the label of GT 0 (its argmax over an all-zero column), so its labels off positives mean nothing."""
    b, n = out["assigned_labels"].shape
    labels = np_(out["assigned_labels"]).astype(np.int64)
    inds = np.zeros((b, n), np.int64)
    mo = np.zeros((b, n), np.float32)
    if "fg" in seen:
        fg = seen["fg"] > 0
        expect(np.array_equal(fg, np_(out["fg_mask_pre_prior"])), "fg_mask_pre_prior as returned")
        inds[fg] = seen["gt_idx"][fg] + 1
        for i, p in np.argwhere(fg):
            mo[i, p] = seen["overlaps"][i, seen["gt_idx"][i, p], p]
    fg = inds > 0
    expect(np.array_equal(fg, np_(out["fg_mask_pre_prior"]).astype(bool)), "positives are fg_mask_pre_prior")
    if background_label:
        expect(np.array_equal(fg, labels != num_classes), "positives are exactly the priors with a label")
    metrics = np_(out["assigned_scores"]).max(-1).astype(np.float32) if out["assigned_scores"].shape[-1] else \
        np.zeros((b, n), np.float32)
    return {"assigned_gt_inds": inds, "assigned_labels": np.where(fg, labels, -1),
            "max_overlaps": mo, "assign_metrics": np.where(fg, metrics, 0).astype(np.float32)}


def yolo_shape_checks(out, b, n, c,
                      keys=("assigned_labels", "assigned_bboxes", "assigned_scores", "fg_mask_pre_prior")):
    shapes = {"assigned_labels": (b, n), "assigned_bboxes": (b, n, 4), "assigned_scores": (b, n, c),
              "fg_mask_pre_prior": (b, n), "assigned_labels_weights": (b, n), "assign_metrics": (b, n)}
    for k in keys:
        expect(tuple(out[k].shape) == shapes[k], f"{k}.shape == {shapes[k]}")
    return {"test_assertions": "; ".join(f"{k}.shape == {list(shapes[k])}" for k in keys) + ": hold"}


def mmyolo_atss():
    f = "test_batch_atss_assigner.py"
    path = "mmyolo/models/task_modules/assigners/batch_atss_assigner.py"
    nlp = [64, 16, 4]

    def one(test, odd, priors, tie_note):
        def run():
            a = BatchATSSAssigner(topk=3, iou_calculator=dict(type='mmdet.BboxOverlaps2D'), num_classes=2)
            gt_bboxes, gt_labels, pad = yolo_gts()
            seen, orig, wrapped = with_highest_overlaps(yolo_atss_module)
            yolo_atss_module.select_highest_overlaps = wrapped
            try:
                out = a.forward(yolo_preds_84(), priors(), nlp, gt_labels, gt_bboxes, pad)
            finally:
                yolo_atss_module.select_highest_overlaps = orig
            return out, yolo_results(seen, out, 2, True)
        out, res = twice(run)
        checks = yolo_shape_checks(out, 2, 84, 2)
        if tie_note:
            checks["ties"] = tie_note
        gt_bboxes, gt_labels, pad = yolo_gts()
        ref = reference(MMYOLO, BatchATSSAssigner, path, f, f"TestBatchATSSAssigner.{test}",
                        "forward(pred_bboxes, priors, num_level_bboxes, gt_labels, gt_bboxes, pad_bbox_flag)",
                        MMYOLO_TESTS)
        ref["support_files"] = {"mmyolo/models/task_modules/assigners/utils.py":
                                SOURCE_BLOBS["mmyolo/models/task_modules/assigners/utils.py"]}
        e = entry("atss.mmyolo", {"topk": 3, "anchor_scale": 5.0}, ref,
                  init_params={"topk": 3, "iou_calculator": {"type": "mmdet.BboxOverlaps2D"}, "num_classes": 2},
                  call_kwargs={"num_level_priors": nlp},
                  inputs={"priors": "point priors [84, 4] shared by the batch -> priors (the assigner builds "
                                    "squares of 5 * stride from them: anchor_scale 5)",
                          "pred_bboxes": "[2, 84, 4] xyxy -> pred_bboxes (read for the soft label)",
                          "gt_labels": "[2, 2, 1] with 11 in the padding row (num_classes=2): the dump keeps it; "
                                       "meta.num_classes is left out because the loader checks padding labels "
                                       "against [-C, C)",
                          "pad_bbox_flag": "[2, 2, 1] -> pad_gt_mask"},
                  outputs={"assigned_gt_inds": "select_highest_overlaps' gt index + 1 where fg_mask_pre_prior > 0 "
                                               "(recorded by wrapping that function, which runs unchanged), 0 "
                                               "elsewhere",
                           "assigned_labels": "the returned assigned_labels, num_classes (2) as -1",
                           "max_overlaps": "the overlaps select_highest_overlaps decided on (anchor-GT IoU, "
                                           "BboxOverlaps2D) at the assigned GT for positives, 0 elsewhere",
                           "assign_metrics": "max over classes of the returned assigned_scores (the IoU of the "
                                             "predicted box with its GT), 0 for negatives"},
                  checks=checks, results=res)
        write_case(f"mmyolo-test_batch_atss_assigner-{test}", "mmyolo", f"{f}::{test}", odd,
                   dict(priors=np_(priors()), num_level_priors=np.array(nlp, np.int64),
                        pred_bboxes=np_(yolo_preds_84()),
                        gt_bboxes=np_(gt_bboxes), gt_labels=np_(gt_labels), pad_gt_mask=np_(pad)),
                   {"atss.mmyolo": e})

    one("test_batch_atss_assigner", "B = 2; 4 prior points repeated 21 times over levels [64, 16, 4] (16 / 4 / 1 "
        "copies of each point per level): the 3 nearest are picked among equal distances; a padding GT with "
        "label 11 >= num_classes", yolo_priors_84,
        "every level holds 16, 4 or 1 copies of each point, so the 3 candidates per level are chosen among equal "
        "centre distances by torch.topk's CPU order; which copies are chosen does not change the result: their "
        "anchors are the same box, and no candidate's IoU exceeds mean + std (0 positives)")
    one("test_batch_atss_assigner_with_empty_boxs", "all-zero priors (84 zero-size anchors at the origin); a padding "
        "GT with label 11", lambda: torch.zeros(84, 4),
        "all 84 anchors are the same zero-size box, so every candidate choice is a tie; none is inside the GT "
        "(its centre (0, 0) is the GT's corner), so the result does not depend on it")
    skip("mmyolo", f"{f}::test_batch_atss_assigner_with_empty_gt",
         "gt_bboxes (2, 0, 4) with pad_bbox_flag (2, 2, 1): the dump's pad_gt_mask must have the GT rows' Gmax "
         "(assignscope_dump: \"pad_gt_mask: shape (2, 2, 1) but expected [B, Gmax] or [B, Gmax, 1] = (2, 0) from "
         "gt_bboxes\")")
    skip("mmyolo", f"{f}::test_batch_atss_assigner_with_empty_boxes_and_gt",
         "pred_bboxes (2, 0, 4) beside 84 priors: the dump's per-prior fields must agree on N (assignscope_dump: "
         "\"pred_bboxes: shape (2, 0, 4) but expected N = 84 rows (from priors)\")")


def mmyolo_dsl():
    f = "test_batch_dsl_assigner.py"
    path = "mmyolo/models/task_modules/assigners/batch_dsl_assigner.py"
    kw = dict(num_classes=2, soft_center_radius=3.0, topk=1, iou_weight=3.0)

    def one(test, odd, build, shape_n, tie_note=None):
        def run():
            a = BatchDynamicSoftLabelAssigner(**kw)
            seen = {}
            orig = a.dynamic_k_matching

            def wrapped(cost_matrix, pairwise_ious, pad_bbox_flag):
                candidate_topk = min(a.topk, pairwise_ious.size(1))
                topk_ious, _ = torch.topk(pairwise_ious, candidate_topk, dim=1)
                seen["dynamic_ks"] = np_(torch.clamp(topk_ious.sum(1).int(), min=1)).astype(np.int64)
                out = orig(cost_matrix, pairwise_ious, pad_bbox_flag)
                seen["ious"], seen["gt"], seen["fg"] = np_(out[0]), np_(out[1]), np_(out[2])
                return out
            a.dynamic_k_matching = wrapped
            pred_bboxes, pred_scores, priors, gt_bboxes, gt_labels, pad = build()
            out = a.forward(pred_bboxes, pred_scores, priors, gt_labels, gt_bboxes, pad)
            b, n = out["assigned_labels"].shape
            labels = np_(out["assigned_labels"]).astype(np.int64)
            inds = np.zeros((b, n), np.int64)
            if "fg" in seen:
                inds[seen["fg"]] = seen["gt"] + 1
            fg = inds > 0
            expect(np.array_equal(fg, labels != 2), "positives are exactly the priors with a label")
            metrics = np_(out["assign_metrics"]).astype(np.float32)
            res = {"assigned_gt_inds": inds, "assigned_labels": np.where(fg, labels, -1),
                   "max_overlaps": np.where(fg, metrics, 0).astype(np.float32), "assign_metrics": metrics,
                   "dynamic_ks": seen.get("dynamic_ks", np.zeros(tuple(gt_bboxes.shape[:2]), np.int64))}
            return out, res, "dynamic_ks" not in seen
        out, res, early = twice(run)
        checks = yolo_shape_checks(out, 2, shape_n, None, keys=("assigned_labels", "assigned_bboxes",
                                                                "assigned_labels_weights", "assign_metrics"))
        checks["early_return"] = early
        if tie_note:
            checks["ties"] = tie_note
            pos = [[int(p) for p in np.flatnonzero(row > 0)] for row in res["assigned_gt_inds"]]
            checks["ties"] += f"; the reference took priors {pos} (per image)"
            TIE_DEPENDENT.append(f"mmyolo {f}::{test}: torch.sort's order among 10 equal costs (priors {pos} taken)")
        pred_bboxes, pred_scores, priors, gt_bboxes, gt_labels, pad = build()
        ref = reference(MMYOLO, BatchDynamicSoftLabelAssigner, path, f, f"TestBatchDynamicSoftLabelAssigner.{test}",
                        "forward(pred_bboxes, pred_scores, priors, gt_labels, gt_bboxes, pad_bbox_flag)",
                        MMYOLO_TESTS)
        e = entry("dynamic-soft-label.mmyolo", {"soft_center_radius": 3.0, "topk": 1, "iou_weight": 3.0}, ref,
                  init_params=dict(kw), call_kwargs={},
                  inputs={"priors": "point priors shared by the batch -> priors",
                          "pred_scores": "logits (BCE with logits) -> cls_scores",
                          "pred_bboxes": "xyxy -> pred_bboxes", "pad_bbox_flag": "-> pad_gt_mask"},
                  outputs={"assigned_gt_inds": "dynamic_k_matching's matched_gt_inds + 1 on its fg_mask_inboxes "
                                               "(recorded by wrapping the method, which runs unchanged), 0 elsewhere",
                           "assigned_labels": "the returned assigned_labels, num_classes (2) as -1",
                           "max_overlaps": "IoU(pred, matched GT) for positives (= matched_pred_ious), 0 elsewhere",
                           "assign_metrics": "the returned assign_metrics",
                           "dynamic_ks": "[B, G] k of dynamic_k_matching, recorded from its own first lines; zeros "
                                         "when forward returns early (never computed)"},
                  checks=checks, results=res)
        write_case(f"mmyolo-test_batch_dsl_assigner-{test}", "mmyolo", f"{f}::{test}", odd,
                   dict(priors=np_(priors), cls_scores=np_(pred_scores), pred_bboxes=np_(pred_bboxes),
                        gt_bboxes=np_(gt_bboxes), gt_labels=np_(gt_labels), pad_gt_mask=np_(pad)),
                   {"dynamic-soft-label.mmyolo": e})

    def common(batch_size=2):
        pred_bboxes = torch.FloatTensor([[23, 23, 43, 43], [4, 5, 6, 7]]).unsqueeze(0).repeat(batch_size, 10, 1)
        pred_scores = torch.FloatTensor([[0.2], [0.8]]).unsqueeze(0).repeat(batch_size, 10, 1)
        priors = torch.FloatTensor([[30, 30, 8, 8], [4, 5, 6, 7]]).repeat(10, 1)
        return pred_bboxes, pred_scores, priors

    def one_gt(batch_size=2):
        gt_bboxes = torch.FloatTensor([[23, 23, 43, 43]]).unsqueeze(0).repeat(batch_size, 1, 1)
        gt_labels = torch.LongTensor([[0]]).unsqueeze(0).repeat(batch_size, 1, 1)
        pad = torch.FloatTensor([[1]]).unsqueeze(0).repeat(batch_size, 1, 1)
        return gt_bboxes, gt_labels, pad

    one("test_assign", "B = 2; 2 priors repeated 10 times: 10 bit-identical candidates, k = 1 picks one of them "
        "(torch.sort's CPU order); C = 1 with num_classes 2", lambda: (*common(), *one_gt()), 20,
        "the 10 copies of prior (30, 30) have bit-identical costs; torch.sort (dim=1) decides which one k = 1 takes")
    one("test_assign_with_empty_gt", "B = 2, Gmax = 0", lambda: (*common(), torch.zeros(2, 0, 4), torch.zeros(2, 0, 1),
                                                                torch.zeros(2, 0, 1)), 20)
    one("test_assign_with_empty_boxs", "N = 0 (no priors, scores [2, 0, 4]) with a GT in each image",
        lambda: (torch.zeros(2, 0, 4), torch.zeros(2, 0, 4), torch.zeros(0, 4), *one_gt()), 0)
    skip("mmyolo", f"{f}::test_assign_rotate_box",
         "rotated boxes (cx, cy, w, h, angle) with mmrotate's RBboxOverlaps2D: 5-column boxes the dump cannot hold "
         "(and mmrotate is not installed, so upstream skips the test too)")


def mmyolo_tal():
    f = "test_batch_task_aligned_assigner.py"
    path = "mmyolo/models/task_modules/assigners/batch_task_aligned_assigner.py"
    kw = dict(num_classes=4, alpha=1, beta=6, topk=13, eps=1e-9)
    pred_scores = lambda: torch.FloatTensor(  # noqa: E731
        [[0.1, 0.2], [0.2, 0.3], [0.3, 0.4], [0.4, 0.5]]).unsqueeze(0).repeat(2, 21, 1)
    priors = lambda: torch.FloatTensor(  # noqa: E731
        [[0, 0, 4., 4.], [0, 0, 12., 4.], [0, 0, 20., 4.], [0, 0, 28., 4.]]).repeat(21, 1)

    def run():
        a = BatchTaskAlignedAssigner(**kw)
        gt_bboxes, gt_labels, pad = yolo_gts(labels=(0, 1))
        seen, orig, wrapped = with_highest_overlaps(yolo_tal_module)
        yolo_tal_module.select_highest_overlaps = wrapped
        try:
            out = a.forward(yolo_preds_84(), pred_scores(), priors(), gt_labels, gt_bboxes, pad)
        finally:
            yolo_tal_module.select_highest_overlaps = orig
        return out, yolo_results(seen, out, 4, False)
    out, res = twice(run)
    checks = yolo_shape_checks(out, 2, 84, 4)
    gt_bboxes, gt_labels, pad = yolo_gts(labels=(0, 1))
    ref = reference(MMYOLO, BatchTaskAlignedAssigner, path, f, "TestBatchTaskAlignedAssigner."
                    "test_batch_task_aligned_assigner",
                    "forward(pred_bboxes, pred_scores, priors, gt_labels, gt_bboxes, pad_bbox_flag)", MMYOLO_TESTS)
    ref["support_files"] = {"mmyolo/models/task_modules/assigners/utils.py":
                            SOURCE_BLOBS["mmyolo/models/task_modules/assigners/utils.py"]}
    e = entry("task-aligned.mmyolo", {"topk": 13, "alpha": 1, "beta": 6, "eps": 1e-9}, ref,
              init_params=dict(kw), call_kwargs={},
              inputs={"priors": "[84, 4]: every point at (0, 0), strides 4 / 12 / 20 / 28 by 4 -> priors",
                      "pred_scores": "[2, 84, 2] probabilities (YOLOv6 passes sigmoid scores) -> cls_scores with "
                                     "meta.scores = \"probs\" (2 columns, num_classes 4)",
                      "pred_bboxes": "[2, 84, 4] xyxy -> pred_bboxes", "pad_bbox_flag": "-> pad_gt_mask"},
              outputs={"assigned_gt_inds": "select_highest_overlaps' gt index + 1 where fg_mask_pre_prior > 0 "
                                           "(recorded by wrapping it; it runs unchanged), 0 elsewhere",
                       "assigned_labels": "the returned assigned_labels at positives, -1 elsewhere (off positives "
                                          "the reference leaves GT 0's label there, not num_classes)",
                       "max_overlaps": "the pred-GT IoU (yolov6_iou_calculator) at the assigned GT for positives, "
                                       "0 elsewhere",
                       "assign_metrics": "max over classes of the returned assigned_scores (the normalised "
                                         "alignment metric), 0 for negatives"},
              checks=checks, results=res)
    write_case("mmyolo-test_batch_task_aligned_assigner-test_batch_task_aligned_assigner", "mmyolo",
               f"{f}::test_batch_task_aligned_assigner",
               "every prior point at (0, 0), on the real GT's corner (not inside by eps 1e-9): no positive; strides "
               "differ per prior (4, 12, 20, 28); eps 1e-9; 2 score columns with num_classes 4; a padding GT",
               dict(priors=np_(priors()), cls_scores=np_(pred_scores()), pred_bboxes=np_(yolo_preds_84()),
                    gt_bboxes=np_(gt_bboxes), gt_labels=np_(gt_labels), pad_gt_mask=np_(pad)),
               {"task-aligned.mmyolo": e}, scores="probs")


def not_replayed():
    for t, cls in (("test_approx_max_iou_assigner.py", "ApproxMaxIoUAssigner"),
                   ("test_center_region_assigner.py", "CenterRegionAssigner"),
                   ("test_grid_assigner.py", "GridAssigner"), ("test_point_assigner.py", "PointAssigner"),
                   ("test_region_assigner.py", "RegionAssigner"),
                   ("test_task_uniform_assigner.py", "UniformAssigner")):
        skip("mmdet", t, f"{cls}: an assigner assignscope does not replay (not in `assignscope list`)")
    skip("mmyolo", "test_pose_sim_ota_assigner.py",
         "PoseSimOTAAssigner (keypoint OKS cost): an assigner assignscope does not replay (not in `assignscope list`)")


def main():
    global RUNTIME, OUT
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--force", action="store_true", help="replace an existing output directory")
    ap.add_argument("--out", default=str(OUT), help="output directory (default testdata/upstream)")
    args = ap.parse_args()
    OUT = Path(args.out)
    if mmdet.__version__ != "3.3.0" or mmyolo.__version__ != "0.6.0":
        sys.exit(f"make_upstream_cases: needs mmdet 3.3.0 and mmyolo 0.6.0, found {mmdet.__version__} and "
                 f"{mmyolo.__version__}")
    check_sources()
    if OUT.exists():
        if not args.force:
            sys.exit(f"make_upstream_cases: {OUT} exists; pass --force to replace it")
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True)
    torch.set_num_threads(1)
    import numpy
    RUNTIME = (f"torch {torch.__version__} CPU, 1 thread, float32; numpy {numpy.__version__}; scipy "
               f"{scipy.__version__}; mmengine {mmengine.__version__}; mmdet {mmdet.__version__}; "
               f"mmyolo {mmyolo.__version__}")
    mmdet_atss()
    mmdet_dsla_simota()
    mmdet_hungarian()
    mmdet_max_iou()
    mmdet_task_aligned()
    mmdet_topk_hungarian()
    mmyolo_atss()
    mmyolo_dsl()
    mmyolo_tal()
    not_replayed()
    n_results = sum(len(c[3]) for c in CASES)
    print(f"wrote {len(CASES)} cases, {n_results} results, under {OUT}")
    for name, fw, test, labels, odd in CASES:
        print(f"  {name}: {', '.join(labels)} -- {odd}")
    if TIE_DEPENDENT:
        print("results that store one of several equal optima (the reference's tie order decides them):")
        for t in TIE_DEPENDENT:
            print(f"  {t}")
    print(f"skipped {len(SKIPPED)} tests:")
    for fw, test, reason in SKIPPED:
        print(f"  {fw} {test}: {reason}")


if __name__ == "__main__":
    main()
