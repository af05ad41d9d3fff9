#!/usr/bin/env bash
# Writes one small input per class of hostile or odd input (docs/reliability.md,
# "Hostile inputs, class by class") to $H (default /tmp/assignscope-h13) and
# runs BINARY on each under `timeout -s KILL 20` and /usr/bin/time: one row
# per input, `label | exit code | seconds | peak RSS (KiB) | last stderr line`.
#
#   tools/measure_hostile_classes.sh build/assignscope
set -uo pipefail
B=$(realpath "${1:?usage: tools/measure_hostile_classes.sh BINARY}")
H=${H:-/tmp/assignscope-h13}
rm -rf "$H" && mkdir -p "$H" && cd "$H" || exit 2
/usr/bin/python3 - <<'PY'
import json, os, shutil
import numpy as np
def dump(name, fields, meta={"version": 1, "image_size": [64, 64]}):
    os.makedirs(name, exist_ok=True)
    for k, v in fields.items(): np.save(os.path.join(name, k + ".npy"), v)
    if meta is not None: json.dump(meta, open(os.path.join(name, "meta.json"), "w"))
pri = np.array([[4 + 8 * i, 4, 8, 8] for i in range(4)], np.float32)
base = dict(priors=pri, cls_scores=np.array([[0, 1], [2, -1], [0, 0], [1, 1]], np.float32),
            pred_bboxes=np.array([[0, 0, 8, 8], [8, 0, 16, 8], [16, 0, 24, 8], [24, 0, 32, 8]], np.float32),
            gt_bboxes=np.array([[1, 1, 15, 7]], np.float32), gt_labels=np.array([1], np.int64))
def variant(name, field, value, meta={"version": 1, "image_size": [64, 64]}):
    d = dict(base); d[field] = value; dump(name, d, meta)
p = pri.copy(); p[1, 0] = np.nan; variant("nan-prior", "priors", p)
p = pri.copy(); p[:, 2:] = np.inf; variant("inf-stride", "priors", p)
p = pri.copy(); p[:, 2:] = 1e-30; variant("tiny-stride", "priors", p)
dump("toy", base)
variant("gt-float-limit", "gt_bboxes", np.array([[1, 1, 3.3e38, 3.3e38]], np.float32))
dump("half-image-size", base, {"version": 1, "image_size": [0.5, 0.5]})
dump("fifo-meta", base, None); os.mkfifo("fifo-meta/meta.json")
dump("devzero-meta", base, None); os.symlink("/dev/zero", "devzero-meta/meta.json")
dump("loop-field", base); os.remove("loop-field/gt_bboxes.npy"); os.symlink("gt_bboxes.npy", "loop-field/gt_bboxes.npy")
dump("dir-field", base); os.remove("dir-field/gt_labels.npy"); os.mkdir("dir-field/gt_labels.npy")
shutil.copytree(b"toy", b"bad-utf8-\xff")
open("e999.json", "w").write('{"priors": [[4,4,8,8]], "cls_scores": [[1e999]], "pred_bboxes": [[0,0,8,8]], '
                             '"gt_bboxes": [[1,1,7,7]], "gt_labels": [0]}')
gt = dict(gt_bboxes=base["gt_bboxes"], gt_labels=base["gt_labels"])
alternating = np.array([[4 * (i % 100), 4] + [16 if i % 2 else 8] * 2 for i in range(30000)], np.float32)
np.savez_compressed("alternating.npz", priors=alternating, **gt)
counts = np.zeros(10_000_000, np.int64); counts[-1] = 4
np.savez_compressed("levels.npz", priors=pri, num_level_priors=counts, **gt)
grid = np.array([[4 + 8 * (i % 150), 4 + 8 * (i // 150), 8, 8] for i in range(30000)], np.float32)
np.savez_compressed("ignore.npz", priors=grid, gt_bboxes_ignore=np.tile(np.float32([[10, 10, 20, 20]]), (2_000_000, 1)), **gt)
grid = np.array([[4 + 8 * (i % 80), 4 + 8 * (i // 80), 8, 8] for i in range(8400)], np.float32)
np.savez_compressed("ota.npz", priors=grid, cls_scores=np.zeros((8400, 1), np.float32),
                    pred_bboxes=np.tile(np.float32([[100, 100, 300, 300]]), (8400, 1)),
                    gt_bboxes=np.tile(np.float32([[100, 100, 300, 300]]), (3000, 1)), gt_labels=np.zeros(3000, np.int64))
pred = np.concatenate([grid[:, :2] - 20, grid[:, :2] + 20], 1)
for g in (2000, 100):
    np.savez_compressed("repeated-%d.npz" % g, priors=grid, cls_scores=np.full((8400, 1), -2, np.float32),
                        pred_bboxes=pred, gt_bboxes=np.tile(np.float32([[0, 0, 640, 840]]), (g, 1)),
                        gt_labels=np.zeros(g, np.int64))
PY
m() { local label=$1; shift
  /usr/bin/time -f "%e %M" -o "$H/.t" timeout -s KILL 20 "$@" >/dev/null 2>"$H/.err"; local rc=$?
  local s kb; read -r s kb < <(tail -1 "$H/.t")
  printf '%s | %s | %s | %s | %s\n' "$label" "$rc" "$s" "$kb" \
    "$(tail -1 "$H/.err" | sed "s|$H|\$H|g; s|assignscope [a-z]*: error: ||" | cut -c1-150)"
}
for a in dynamic-soft-label simota atss task-aligned max-iou "fcos --set regress_ranges=[[-1,1e8]]" \
         "ota --set candidate_topk=4" hungarian topk-hungarian; do
  # shellcheck disable=SC2086  # $a holds the assigner and its --set
  m "NaN in priors, --allow-nonfinite, -a $a" "$B" run "$H/nan-prior" -a $a --allow-nonfinite -f json -o /dev/null
done
m "stride inf, -a atss" "$B" run "$H/inf-stride" -a atss --allow-nonfinite -o /dev/null
m "stride 1e-30, -a dynamic-soft-label" "$B" run "$H/tiny-stride" -a dynamic-soft-label -o /dev/null
m "soft_center_radius=-5" "$B" run "$H/toy" -a dynamic-soft-label --set soft_center_radius=-5 -o /dev/null
m "meta.json a FIFO" "$B" run "$H/fifo-meta" -a atss -o /dev/null
m "meta.json a link to /dev/zero" "$B" run "$H/devzero-meta" -a atss -o /dev/null
m "a field a link to itself" "$B" run "$H/loop-field" -a atss -o /dev/null
m "a field a directory" "$B" run "$H/dir-field" -a atss -o /dev/null
m "2,000,000 identical ignore boxes" "$B" run "$H/ignore.npz" -a max-iou --set ignore_iof_thr=0.5 -o /dev/null
m "10,000,000 empty levels" "$B" run "$H/levels.npz" -a max-iou -o /dev/null
m "strides alternating 8, 16 (30,000 runs)" "$B" run "$H/alternating.npz" -a max-iou -o /dev/null
m "OTA, 3000 GTs x 8400 priors" "$B" run "$H/ota.npz" -a ota -o /dev/null
m "2000 repeated image-sized GTs, --include candidates" "$B" run "$H/repeated-2000.npz" -a dynamic-soft-label -f json --include candidates -o /dev/null
m "100 repeated image-sized GTs" "$B" run "$H/repeated-100.npz" -a dynamic-soft-label -f json -o /dev/null
m "100 repeated image-sized GTs, --include candidates" "$B" run "$H/repeated-100.npz" -a dynamic-soft-label -f json --include candidates -o /dev/null
m "image_size [0.5, 0.5]" "$B" run "$H/half-image-size" -a atss -o /dev/null
m "a GT at 3.3e38" "$B" run "$H/gt-float-limit" -a dynamic-soft-label -o /dev/null
m "1e999 in a JSON dump" "$B" run "$H/e999.json" -a atss -o /dev/null
m "a path that is not UTF-8, -f json" "$B" run "$H/bad-utf8-"$'\xff' -a atss -f json -o /dev/null
echo "sizes: $(cd "$H" && du -b ./*.npz ./*.json | awk '{printf "%s %d B; ", $2, $1}')"
