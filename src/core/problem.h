// Problem (what one assigner call sees for one image) and Batch (several).
//
// Boxes are (x1, y1, x2, y2) in input-image pixels; priors are point priors
// (cx, cy, stride_w, stride_h) as mmdet's MlvlPointGenerator(with_stride=True)
// makes them. Every float is float32 because every reference assigner runs in
// float32; wider inputs are rounded once, at load.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "core/encoded_image.h"

namespace assignscope {

// [rows, 4] row-major: boxes (x1, y1, x2, y2) or priors (cx, cy, sw, sh).
using Rows4f = Eigen::Array<float, Eigen::Dynamic, 4, Eigen::RowMajor>;
// [rows, 2] row-major: points (x, y), e.g. per-GT centres.
using Rows2f = Eigen::Array<float, Eigen::Dynamic, 2, Eigen::RowMajor>;
// [rows, cols] row-major, e.g. class logits [N, C].
using MatrixRf = Eigen::Array<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// The fields of the dump contract (docs/format.md).
enum class Field {
  kPriors,
  kAnchors,
  kNumLevelPriors,
  kClsScores,
  kObjectness,
  kPredBboxes,
  kPredDistances,
  kGtBboxes,
  kGtLabels,
  kGtBboxesIgnore,
  kPadGtMask,
  kGtCenters,
  kCenterness,
  kPredDist,
};
const char* field_name(Field f);  // "priors", "cls_scores", ...

enum class ScoreKind { kLogits, kProbs };
enum class BoxFormat { kXyxy, kCxcywh };

struct Meta {
  int version = 1;
  std::optional<std::array<int64_t, 2>> image_size;  // (height, width)
  std::optional<int64_t> num_classes;
  std::optional<int64_t> reg_max;           // bins per side of pred_dist (default: its columns / 4)
  ScoreKind scores = ScoreKind::kLogits;    // what cls_scores / objectness held in the file
  BoxFormat box_format = BoxFormat::kXyxy;  // how pred_bboxes / gt_bboxes / gt_bboxes_ignore were stored
  std::string source;
  // Where the dump came from, as the hooks record it (docs/format.md): all optional.
  std::string framework;          // "ultralytics", "yolox", "mmdet", "mmyolo"
  std::string framework_version;  // "8.4.52"
  std::string device;             // "cpu", "cuda:0"
  std::string dtype;              // of the scores the assigner received: "float32", "float16"
  std::optional<bool> autocast;
  std::optional<int64_t> step, epoch, rank;
  std::string branch;           // "one2many", "one2one"
  std::string assigner;         // the registry name that replays it
  std::string assigner_params;  // JSON object text: that assigner's parameters, "" when absent
  std::string preset;
  // The image's id in its dataset (a COCO id, a file name), when recorded:
  // `trend` follows its GTs across steps. An integer is kept as its digits.
  std::string image_id;
};

struct Problem {
  std::string name;  // "" for a single image; the image's name within a batch
  Meta meta;

  Rows4f priors;                          // [N, 4] (cx, cy, sw, sh)
  Rows4f anchors;                         // [N, 4] xyxy, when the dump has them
  std::vector<int64_t> num_level_priors;  // [L], sums to N (inferred when absent)
  bool levels_inferred = false;
  std::vector<int32_t> prior_level;  // [N] level of each prior, from num_level_priors

  MatrixRf cls_scores;            // [N, C] logits (probabilities are converted at load)
  std::vector<float> objectness;  // [N] logits
  std::vector<float> centerness;  // [N] logits of an FCOS-style head (O2F)
  MatrixRf pred_dist;             // [N, 4 * reg_max] DFL logits (ultralytics heads)
  // Dumps of probabilities (meta.scores = "probs") keep them as given too,
  // for assigners that consume probabilities (SimOTA, TAL): empty otherwise.
  MatrixRf cls_probs;                   // [N, C]
  std::vector<float> objectness_probs;  // [N]
  Rows4f pred_bboxes;                   // [N, 4] xyxy (decoded from pred_distances if given so)
  Rows4f pred_distances;                // [N, 4] (l, t, r, b) as given, when the dump had them
  bool preds_from_distances = false;

  Rows4f gt_bboxes;                // [G, 4] xyxy
  std::vector<int64_t> gt_labels;  // [G] in [0, C)
  Rows4f gt_bboxes_ignore;         // [K, 4] xyxy
  // [G, 2] (x, y): the centre the dynamic-soft-label flavours measure
  // distances from, when the dump gives one (mmdet: a mask's centre of mass).
  Rows2f gt_centers;
  // Dumps with meta.box_format "cxcywh" (YOLOX): the boxes as given, for
  // assigners that compute on them (simota.yolox); gt_bboxes / pred_bboxes
  // hold them converted to xyxy (c -+ wh / 2 in float32). Empty otherwise.
  Rows4f gt_cxcywh;    // [G, 4]
  Rows4f pred_cxcywh;  // [N, 4]
  // cls_scores has C + 1 columns, the last a softmax head's "no object"
  // logit (DETR's ClassificationCost); num_classes() is C.
  bool background_column = false;

  // A stacked batch's padding after the real GTs, as stored (mmyolo pads to
  // Gmax with zero boxes). The mmyolo batched assigners give padding columns
  // a dynamic k and let them compete in conflicts, so they are kept; every
  // other assigner ignores them. Empty for a single image.
  Rows4f padding_gt_bboxes;                // [Gmax - G, 4]
  std::vector<int64_t> padding_gt_labels;  // [Gmax - G]

  // The input image as the assigner saw it, when the dump carries one
  // (image.png / image.jpg); its size equals meta.image_size when both are given.
  std::optional<EncodedImage> image;

  uint32_t present = 0;  // bit i set: Field(i) was in the dump
  // The dump's priors had stride 0 in every row, as DETR-style dumps store
  // their queries: kept as locations, but not `present` as point priors.
  bool strideless_priors = false;

  bool has(Field f) const { return (present >> static_cast<unsigned>(f)) & 1u; }
  void mark(Field f) { present |= 1u << static_cast<unsigned>(f); }

  int64_t num_priors() const { return num_priors_; }
  int64_t num_gts() const { return gt_bboxes.rows(); }
  // C: columns of cls_scores, else meta.num_classes, else 0 (unknown).
  int64_t num_classes() const;
  int64_t num_levels() const { return static_cast<int64_t>(num_level_priors.size()); }

  void set_num_priors(int64_t n) { num_priors_ = n; }

 private:
  int64_t num_priors_ = 0;
};

struct Batch {
  std::string source;  // the path the user gave
  std::vector<Problem> images;
  // True when the dump carried a leading batch dimension (or was a directory
  // of image dumps): results then carry it too ([B, N], [B, Gmax]).
  bool is_batch = false;
  // Width of per-GT results ([B, gt_columns]): the padded Gmax of a stacked
  // batch, else the largest G of the images.
  int64_t gt_columns = 0;
};

// Levels of each prior from per-level counts: [0,0,...,1,1,...].
std::vector<int32_t> levels_from_counts(const std::vector<int64_t>& num_level_priors);
// Per-level counts from runs of equal stride (priors' column 2), for dumps
// without num_level_priors.
std::vector<int64_t> level_counts_from_strides(const Rows4f& priors);

}  // namespace assignscope
