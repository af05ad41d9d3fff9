// Validation of a dump's raw fields against the contract (docs/format.md)
// and assembly of the Batch: meta, dtypes, the batch dimension, the shared
// dimensions (N, C, G, L), values (finite, integral, in range), then each
// image built field group by field group.
#include "io/dump_validation.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <optional>

#include <fmt/format.h>

#include "core/guarded.h"
#include "core/text.h"
#include "io/dump_fields.h"
#include "io/memory.h"

namespace assignscope::io {

namespace {

// A feature pyramid has a handful of levels; per-level structures (grids,
// indexes) cost memory each, so a dump may not claim millions of them.
constexpr int64_t kMaxLevels = 1024;

// Multi-index of flat element `flat` in `shape`, numpy style: "[3, 1]".
std::string index_string(int64_t flat, const std::vector<int64_t>& shape) {
  std::vector<int64_t> idx(shape.size());
  for (size_t d = shape.size(); d-- > 0;) {
    const int64_t n = std::max<int64_t>(shape[d], 1);
    idx[d] = flat % n;
    flat /= n;
  }
  std::string s = "[";
  for (size_t d = 0; d < idx.size(); ++d) s += (d ? ", " : "") + std::to_string(idx[d]);
  return s + "]";
}

std::string dims_string(const std::vector<std::string>& dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + dims[i];
  return s + "]";
}

bool is_numeric(const NpyArray& a) {
  return a.dtype.kind == DTypeKind::kFloat || a.dtype.kind == DTypeKind::kInt || a.dtype.kind == DTypeKind::kUInt ||
         a.dtype.kind == DTypeKind::kBool;
}

// The whole field as float32, C order.
std::vector<float> field_floats(const NpyArray& a) {
  const int64_t n = a.size();
  std::vector<float> out(static_cast<size_t>(n));
  if (a.dtype.kind == DTypeKind::kFloat && a.dtype.itemsize == 4) {
    if (n > 0) std::memcpy(out.data(), a.data.data(), static_cast<size_t>(n) * 4);
  } else if (a.dtype.kind == DTypeKind::kFloat && a.dtype.itemsize == 8) {
    const auto* d = reinterpret_cast<const double*>(a.data.data());
    for (int64_t i = 0; i < n; ++i) out[i] = static_cast<float>(d[i]);
  } else {
    for (int64_t i = 0; i < n; ++i) out[i] = static_cast<float>(a.to_double(i));
  }
  return out;
}

class Validator {
 public:
  Validator(RawDump raw, const LoadOptions& options) : raw_(std::move(raw)), options_(options) {}

  Result<LoadedDump> run() {
    ASSIGNSCOPE_RETURN_IF_ERROR(parse_meta());
    ASSIGNSCOPE_RETURN_IF_ERROR(check_dtypes());
    ASSIGNSCOPE_RETURN_IF_ERROR(find_batch());
    ASSIGNSCOPE_RETURN_IF_ERROR(check_image());
    ASSIGNSCOPE_RETURN_IF_ERROR(find_dims());
    LoadedDump out;
    out.batch.source = raw_.origin;
    out.batch.is_batch = is_batch_;
    out.batch.gt_columns = gt_columns_;
    const int64_t images = is_batch_ ? num_images_ : 1;
    ASSIGNSCOPE_RETURN_IF_ERROR(convert_fields());
    for (int64_t b = 0; b < images; ++b) {
      ASSIGNSCOPE_ASSIGN_OR_RETURN(auto p, build_image(b));
      out.batch.images.push_back(std::move(p));
    }
    if (raw_.image) out.batch.images[0].image = std::move(raw_.image);  // one image: check_image
    out.warnings = std::move(raw_.warnings);
    return out;
  }

 private:
  const RawField* get(Field field) const {
    auto it = raw_.fields.find(field_name(field));
    return it == raw_.fields.end() ? nullptr : &it->second;
  }

  // The dump's image (image.png / image.jpg) belongs to its one image, and
  // is as large as meta.image_size says the input was.
  Status check_image() const {
    if (!raw_.image) return Status();
    const EncodedImage& image = *raw_.image;
    if (is_batch_ && num_images_ != 1)
      return Status::InvalidInput(
          fmt::format("{}: the dump holds a batch of {} images; expected an image file only in a one-image dump (a "
                      "directory of one-image dumps gives each its own)",
                      image.origin, num_images_));
    if (meta_.image_size && ((*meta_.image_size)[0] != image.height || (*meta_.image_size)[1] != image.width))
      return Status::InvalidInput(fmt::format(
          "{}: {} x {} pixels (height x width); expected meta.image_size [{}, {}], the input the assigner saw",
          image.origin, image.height, image.width, (*meta_.image_size)[0], (*meta_.image_size)[1]));
    return Status();
  }

  Status meta_error(const std::string& key, const std::string& what) const {
    const std::string origin = raw_.meta_origin.empty() ? raw_.origin + ":meta" : raw_.meta_origin;
    return Status::InvalidInput(fmt::format("{}: meta key '{}' {}", origin, key, what));
  }

  Status parse_meta() {
    const nlohmann::json& m = raw_.meta;
    if (m.is_null()) return Status();
    if (!m.is_object())
      return Status::InvalidInput(fmt::format("{}: meta is a JSON {}; expected an object",
                                              raw_.meta_origin.empty() ? raw_.origin : raw_.meta_origin,
                                              m.type_name()));
    if (m.contains("version")) {
      const auto& v = m["version"];
      if (!v.is_number_integer() || v.get<int64_t>() != 1)
        return meta_error("version", fmt::format("is {}; expected 1 (the only dump format version)", json_snippet(v)));
      meta_.version = 1;
    }
    if (m.contains("image_size")) {
      const auto& v = m["image_size"];
      bool ok = v.is_array() && v.size() == 2;
      for (size_t i = 0; ok && i < 2; ++i) {
        const double d = v[i].is_number() ? v[i].get<double>() : 0.0;
        ok = v[i].is_number() && d >= 1 && d < 1e9 && d == std::floor(d);  // pixels: 0.5 would truncate to 0
      }
      if (!ok)
        return meta_error("image_size", fmt::format("is {}; expected [height, width], two positive integers (pixels)",
                                                    json_snippet(v)));
      meta_.image_size =
          std::array<int64_t, 2>{static_cast<int64_t>(v[0].get<double>()), static_cast<int64_t>(v[1].get<double>())};
    }
    if (m.contains("num_classes")) {
      const auto& v = m["num_classes"];
      if (!v.is_number_integer() || v.get<int64_t>() <= 0 || v.get<int64_t>() > (1 << 24))
        return meta_error("num_classes", fmt::format("is {}; expected a positive integer", json_snippet(v)));
      meta_.num_classes = v.get<int64_t>();
    }
    if (m.contains("scores")) {
      const auto& v = m["scores"];
      if (v == "logits") {
        meta_.scores = ScoreKind::kLogits;
      } else if (v == "probs") {
        meta_.scores = ScoreKind::kProbs;
      } else {
        return meta_error("scores", fmt::format("is {}; expected \"logits\" or \"probs\"", json_snippet(v)));
      }
    }
    if (m.contains("source")) {
      const auto& v = m["source"];
      meta_.source = v.is_string() ? v.get<std::string>() : json_snippet(v);
    }
    if (m.contains("reg_max") && !m["reg_max"].is_null()) {
      const auto& v = m["reg_max"];
      if (!v.is_number_integer() || v.get<int64_t>() <= 0 || v.get<int64_t>() > (1 << 20))
        return meta_error("reg_max", fmt::format("is {}; expected a positive integer", json_snippet(v)));
      meta_.reg_max = v.get<int64_t>();
    }
    if (m.contains("box_format")) {
      const auto& v = m["box_format"];
      if (v == "xyxy") meta_.box_format = BoxFormat::kXyxy;
      else if (v == "cxcywh") meta_.box_format = BoxFormat::kCxcywh;
      else return meta_error("box_format", fmt::format("is {}; expected \"xyxy\" or \"cxcywh\"", json_snippet(v)));
    }
    // Provenance written by the hooks (tools/python/assignscope_hooks.py).
    for (auto [key, slot] : {std::pair<const char*, std::string*>{"framework", &meta_.framework},
                             {"framework_version", &meta_.framework_version},
                             {"device", &meta_.device},
                             {"dtype", &meta_.dtype},
                             {"branch", &meta_.branch},
                             {"assigner", &meta_.assigner},
                             {"preset", &meta_.preset}}) {
      if (!m.contains(key) || m[key].is_null()) continue;
      if (!m[key].is_string() || m[key].get<std::string>().size() > 1000)
        return meta_error(key, fmt::format("is {}; expected a string", json_snippet(m[key])));
      *slot = m[key].get<std::string>();
    }
    for (auto [key, slot] : {std::pair<const char*, std::optional<int64_t>*>{"step", &meta_.step},
                             {"epoch", &meta_.epoch},
                             {"rank", &meta_.rank}}) {
      if (!m.contains(key) || m[key].is_null()) continue;
      if (!m[key].is_number_integer())
        return meta_error(key, fmt::format("is {}; expected an integer", json_snippet(m[key])));
      *slot = m[key].get<int64_t>();
    }
    if (m.contains("image_id") && !m["image_id"].is_null()) {
      const auto& v = m["image_id"];
      if (v.is_number_integer()) meta_.image_id = v.dump();
      else if (v.is_string() && !v.get<std::string>().empty() && v.get<std::string>().size() <= 1000)
        meta_.image_id = v.get<std::string>();
      else return meta_error("image_id", fmt::format("is {}; expected a string or an integer", json_snippet(v)));
    }
    if (m.contains("autocast") && !m["autocast"].is_null()) {
      if (!m["autocast"].is_boolean())
        return meta_error("autocast", fmt::format("is {}; expected true or false", json_snippet(m["autocast"])));
      meta_.autocast = m["autocast"].get<bool>();
    }
    if (m.contains("assigner_params") && !m["assigner_params"].is_null()) {
      if (!m["assigner_params"].is_object())
        return meta_error("assigner_params",
                          fmt::format("is {}; expected an object of parameters", json_snippet(m["assigner_params"])));
      meta_.assigner_params = m["assigner_params"].dump();
    }
    return Status();
  }

  Status check_dtypes() const {
    for (const auto& [name, f] : raw_.fields) {
      if (!is_numeric(f.array))
        return Status::InvalidInput(fmt::format("{}: dtype {}; expected a numeric array (float, int, uint or bool)",
                                                f.origin, f.array.dtype.descr()));
    }
    return Status();
  }

  // A field with the batch dimension when the dump is a batch.
  static bool per_image(Field field) {
    return field != Field::kPriors && field != Field::kAnchors && field != Field::kNumLevelPriors;
  }
  // Fields of counts, labels and flags: converted to int64, not float32.
  static bool is_integer_field(Field field) {
    return field == Field::kNumLevelPriors || field == Field::kGtLabels || field == Field::kPadGtMask;
  }
  // Rank of a field for one image. Per-prior and per-GT vectors may carry a
  // trailing dimension of 1 ([G, 1] labels as mmdet/mmyolo keep them).
  int image_rank(Field field, const NpyArray& a) const {
    if (field == Field::kNumLevelPriors) return 1;
    if (field == Field::kObjectness || field == Field::kCenterness || field == Field::kGtLabels ||
        field == Field::kPadGtMask) {
      const bool trailing_one = a.ndim() == (is_batch_ ? 3 : 2) && a.shape.back() == 1;
      return trailing_one ? 2 : 1;
    }
    return 2;
  }

  Status find_batch() {
    // A batch is recognised by its ground truth: gt_bboxes [B, Gmax, 4], or a
    // pad_gt_mask; or by per-image predictions with one more dimension.
    const RawField* source = nullptr;
    if (const RawField* g = get(Field::kGtBboxes); g && g->array.ndim() == 3) source = g;
    if (!source) source = get(Field::kPadGtMask);
    if (!source) {
      for (Field field : {Field::kClsScores, Field::kPredBboxes, Field::kPredDistances})
        if (const RawField* f = get(field); f && f->array.ndim() == 3) {
          source = f;
          break;
        }
    }
    if (!source) {
      if (const RawField* f = get(Field::kObjectness); f && f->array.ndim() == 2 && f->array.shape[1] != 1) source = f;
    }
    if (!source) return Status();
    if (source->array.ndim() < 2)
      return Status::InvalidInput(fmt::format("{}: shape {}; expected [B, Gmax] or [B, Gmax, 1]", source->origin,
                                              shape_string(source->array.shape)));
    is_batch_ = true;
    num_images_ = source->array.shape[0];
    batch_origin_ = source->origin;
    if (num_images_ == 0)
      return Status::InvalidInput(fmt::format("{}: shape {}: a batch of B = 0 images; expected at least one image",
                                              source->origin, shape_string(source->array.shape)));
    // Zero-size fields hold no data to bound B: each image's records
    // (its Problem, its result) are charged against the budget instead.
    const MemoryBudget budget = memory_budget(options_.memory_limit);
    if (static_cast<uint64_t>(num_images_) > budget.bytes / kBytesPerImage)
      return Status::InvalidInput(
          over_budget(fmt::format("{}: shape {}: a batch of B = {} images, at {} of records an image, needs",
                                  source->origin, shape_string(source->array.shape), num_images_,
                                  format_bytes(kBytesPerImage)),
                      static_cast<uint64_t>(num_images_) > UINT64_MAX / kBytesPerImage
                          ? UINT64_MAX
                          : static_cast<uint64_t>(num_images_) * kBytesPerImage,
                      budget));
    if (get(Field::kGtBboxesIgnore))
      return Status::Unsupported(fmt::format(
          "{}: gt_bboxes_ignore in a stacked batch is not supported; give a directory of one-image dumps instead",
          get(Field::kGtBboxesIgnore)->origin));
    for (const auto& [name, f] : raw_.fields) {  // in name order: the first error is the same every time
      const std::optional<Field> field = field_named(name);
      if (!field) continue;
      const int rank = image_rank(*field, f.array);
      const bool with_b = f.array.ndim() == rank + 1;
      if (per_image(*field) && !with_b)
        return Status::InvalidInput(fmt::format(
            "{}: shape {} has no batch dimension, but {} makes this dump a batch of {}; expected a leading B = {}",
            f.origin, shape_string(f.array.shape), batch_origin_, num_images_, num_images_));
      if (with_b && f.array.shape[0] != num_images_)
        return Status::InvalidInput(fmt::format("{}: shape {}: batch dimension {} disagrees with B = {} of {}",
                                                f.origin, shape_string(f.array.shape), f.array.shape[0], num_images_,
                                                batch_origin_));
    }
    return Status();
  }

  // Checks the shape of a field (without batch dim) against dims where
  // -1 means "any, remember it".
  Status expect_shape(Field field, std::vector<int64_t*> dims, std::vector<int64_t> fixed,
                      const std::vector<std::string>& labels) {
    const RawField* f = get(field);
    if (!f) return Status();
    const NpyArray& a = f->array;
    const int rank = static_cast<int>(labels.size());
    const bool with_b = is_batch_ && a.ndim() == rank + 1;
    std::vector<std::string> want = labels;
    if (is_batch_ && per_image(field)) want.insert(want.begin(), "B");
    auto fail = [&](const std::string& why) {
      return Status::InvalidInput(
          fmt::format("{}: shape {} but expected {}{}", f->origin, shape_string(a.shape), dims_string(want), why));
    };
    if (a.ndim() != rank + (with_b ? 1 : 0)) {
      // Tolerate the empty 1-d array numpy makes from [] for an empty box list.
      if (!is_batch_ && a.ndim() == 1 && a.shape[0] == 0 && rank == 2 && fixed[1] == 4 && *dims[0] < 0) {
        *dims[0] = 0;
        return Status();
      }
      return fail("");
    }
    const size_t off = with_b ? 1 : 0;
    for (int d = 0; d < rank; ++d) {
      const int64_t got = a.shape[off + d];
      if (fixed[d] >= 0) {
        if (got != fixed[d]) return fail(fmt::format(" (dimension {} must be {})", d + off, fixed[d]));
      } else if (dims[d]) {
        if (*dims[d] < 0) {
          *dims[d] = got;
          dim_origin_[dims[d]] = f->origin;
        } else if (*dims[d] != got) {
          return fail(fmt::format(" ({} = {} from {})", labels[d], *dims[d], dim_origin_[dims[d]]));
        }
      }
    }
    return Status();
  }

  Status find_dims() {
    int64_t* none = nullptr;
    // N: every per-prior field agrees.
    ASSIGNSCOPE_RETURN_IF_ERROR(expect_shape(Field::kPriors, {&num_priors_, none}, {-1, 4}, {"N", "4"}));
    ASSIGNSCOPE_RETURN_IF_ERROR(expect_shape(Field::kAnchors, {&num_priors_, none}, {-1, 4}, {"N", "4"}));
    ASSIGNSCOPE_RETURN_IF_ERROR(expect_shape(Field::kClsScores, {&num_priors_, &score_columns_}, {-1, -1}, {"N", "C"}));
    ASSIGNSCOPE_RETURN_IF_ERROR(expect_shape(Field::kPredBboxes, {&num_priors_, none}, {-1, 4}, {"N", "4"}));
    ASSIGNSCOPE_RETURN_IF_ERROR(expect_shape(Field::kPredDistances, {&num_priors_, none}, {-1, 4}, {"N", "4"}));
    if (const RawField* o = get(Field::kObjectness)) {
      if (image_rank(Field::kObjectness, o->array) == 2) {
        ASSIGNSCOPE_RETURN_IF_ERROR(expect_shape(Field::kObjectness, {&num_priors_, none}, {-1, 1}, {"N", "1"}));
      } else {
        ASSIGNSCOPE_RETURN_IF_ERROR(expect_shape(Field::kObjectness, {&num_priors_}, {-1}, {"N"}));
      }
    }
    if (const RawField* o = get(Field::kCenterness)) {
      if (image_rank(Field::kCenterness, o->array) == 2) {
        ASSIGNSCOPE_RETURN_IF_ERROR(expect_shape(Field::kCenterness, {&num_priors_, none}, {-1, 1}, {"N", "1"}));
      } else {
        ASSIGNSCOPE_RETURN_IF_ERROR(expect_shape(Field::kCenterness, {&num_priors_}, {-1}, {"N"}));
      }
    }
    int64_t dist_cols = -1;
    ASSIGNSCOPE_RETURN_IF_ERROR(
        expect_shape(Field::kPredDist, {&num_priors_, &dist_cols}, {-1, -1}, {"N", "4 * reg_max"}));
    if (const RawField* d = get(Field::kPredDist)) {
      if (dist_cols <= 0 || dist_cols % 4 != 0)
        return Status::InvalidInput(fmt::format("{}: shape {}: {} columns; expected 4 * reg_max (sides l, t, r, b)",
                                                d->origin, shape_string(d->array.shape), dist_cols));
      if (meta_.reg_max && *meta_.reg_max * 4 != dist_cols)
        return meta_error("reg_max", fmt::format("is {} but {} has {} columns; expected 4 * reg_max", *meta_.reg_max,
                                                 d->origin, dist_cols));
      dist_cols_ = dist_cols;
    }
    ASSIGNSCOPE_RETURN_IF_ERROR(expect_shape(Field::kNumLevelPriors, {&num_levels_}, {-1}, {"L"}));
    if (num_levels_ > kMaxLevels)
      return Status::InvalidInput(
          fmt::format("{}: {} pyramid levels; expected at most {} (a feature pyramid has a "
                      "handful)",
                      get(Field::kNumLevelPriors)->origin, num_levels_, kMaxLevels));
    if (get(Field::kPredBboxes) && get(Field::kPredDistances))
      return Status::InvalidInput(
          fmt::format("{}: both pred_bboxes and pred_distances are present; expected one of them", raw_.origin));
    if (get(Field::kPredDistances) && !get(Field::kPriors))
      return Status::InvalidInput(fmt::format("{}: pred_distances needs priors to be decoded (x1 = cx - l, ...)",
                                              get(Field::kPredDistances)->origin));
    // G: ground truth and its labels and mask.
    ASSIGNSCOPE_RETURN_IF_ERROR(expect_shape(Field::kGtBboxes, {&gt_rows_, none}, {-1, 4}, {"G", "4"}));
    for (Field field : {Field::kGtLabels, Field::kPadGtMask}) {
      const RawField* f = get(field);
      if (!f) continue;
      if (image_rank(field, f->array) == 2) {
        ASSIGNSCOPE_RETURN_IF_ERROR(expect_shape(field, {&gt_rows_, none}, {-1, 1}, {"G", "1"}));
      } else {
        ASSIGNSCOPE_RETURN_IF_ERROR(expect_shape(field, {&gt_rows_}, {-1}, {"G"}));
      }
    }
    ASSIGNSCOPE_RETURN_IF_ERROR(expect_shape(Field::kGtCenters, {&gt_rows_, none}, {-1, 2}, {"G", "2"}));
    if (get(Field::kGtCenters) && !get(Field::kGtBboxes))
      return Status::InvalidInput(fmt::format("{}: gt_centers is present but gt_bboxes is missing", raw_.origin));
    int64_t k = -1;
    ASSIGNSCOPE_RETURN_IF_ERROR(expect_shape(Field::kGtBboxesIgnore, {&k, none}, {-1, 4}, {"K", "4"}));
    if (get(Field::kGtBboxes) && !get(Field::kGtLabels))
      return Status::InvalidInput(fmt::format("{}: gt_bboxes is present but gt_labels is missing", raw_.origin));
    if (get(Field::kGtLabels) && !get(Field::kGtBboxes))
      return Status::InvalidInput(fmt::format("{}: gt_labels is present but gt_bboxes is missing", raw_.origin));
    if (get(Field::kPadGtMask) && !get(Field::kGtBboxes))
      return Status::InvalidInput(fmt::format("{}: pad_gt_mask is present but gt_bboxes is missing", raw_.origin));
    if (num_priors_ < 0) num_priors_ = 0;
    if (gt_rows_ < 0) gt_rows_ = 0;
    // C + 1 columns with num_classes = C: a softmax head's scores, the last
    // column "no object" (DETR's CrossEntropyLoss head).
    if (score_columns_ >= 0 && meta_.num_classes && *meta_.num_classes + 1 == score_columns_) background_column_ = true;
    else if (score_columns_ >= 0 && meta_.num_classes && *meta_.num_classes != score_columns_)
      return meta_error("num_classes", fmt::format("is {} but {} has C = {} columns; expected C (sigmoid heads) or "
                                                   "C + 1 (softmax heads with a last \"no object\" column)",
                                                   *meta_.num_classes, get(Field::kClsScores)->origin, score_columns_));
    if (score_columns_ == 0 && num_priors_ > 0)
      return Status::InvalidInput(fmt::format("{}: shape {}: zero classes; expected C >= 1",
                                              get(Field::kClsScores)->origin,
                                              shape_string(get(Field::kClsScores)->array.shape)));
    gt_columns_ = gt_rows_;
    return Status();
  }

  // Converts float fields once, checking finiteness; ints checked for range.
  Status convert_fields() {
    for (const auto& [name, f] : raw_.fields) {
      const std::optional<Field> field = field_named(name);
      if (!field || is_integer_field(*field)) continue;
      std::vector<float> v = field_floats(f.array);
      if (options_.allow_nonfinite) {
        const auto bad = std::count_if(v.begin(), v.end(), [](float x) { return !std::isfinite(x); });
        if (bad > 0)
          raw_.warnings.push_back(fmt::format(
              "{}: {} non-finite values let through by --allow-nonfinite; they are replayed with torch's NaN rules "
              "as far as known (docs/format.md), which no golden case checks",
              f.origin, bad));
      } else {
        for (size_t i = 0; i < v.size(); ++i) {
          if (std::isfinite(v[i])) continue;
          const double orig = f.array.to_double(static_cast<int64_t>(i));
          const std::string what =
              std::isfinite(orig) ? fmt::format("{} (outside the float32 range)", orig) : fmt::format("{}", orig);
          return Status::InvalidInput(
              fmt::format("{}: {}{} is {}; expected finite values (pass --allow-nonfinite to replay anyway)", f.origin,
                          name, index_string(static_cast<int64_t>(i), f.array.shape), what));
        }
      }
      floats_[*field] = std::move(v);
    }
    if (meta_.scores == ScoreKind::kProbs) {
      for (Field field : {Field::kClsScores, Field::kObjectness}) {
        auto it = floats_.find(field);
        if (it == floats_.end()) continue;
        probs_[field] = it->second;  // kept as given for assigners that consume probabilities
        for (size_t i = 0; i < it->second.size(); ++i) {
          float& p = it->second[i];
          if (!(p >= 0.0f && p <= 1.0f) && !(options_.allow_nonfinite && std::isnan(p)))
            return Status::InvalidInput(
                fmt::format("{}: {}{} is {}; meta says scores are \"probs\", expected values in [0, 1]",
                            get(field)->origin, field_name(field),
                            index_string(static_cast<int64_t>(i), get(field)->array.shape), p));
          // logit(p), clamped at +-100 as F.binary_cross_entropy clamps its logs.
          const double logit = std::log(static_cast<double>(p)) - std::log1p(-static_cast<double>(p));
          p = static_cast<float>(std::clamp(logit, -100.0, 100.0));
        }
      }
    }
    warn_misread_values();
    for (Field field : {Field::kNumLevelPriors, Field::kGtLabels, Field::kPadGtMask}) {
      const RawField* f = get(field);
      const char* name = field_name(field);
      if (!f) continue;
      std::vector<int64_t> v(static_cast<size_t>(f->array.size()));
      for (int64_t i = 0; i < f->array.size(); ++i) {
        const double d = f->array.to_double(i);
        const bool integral = f->array.dtype.kind != DTypeKind::kFloat || (std::isfinite(d) && d == std::floor(d));
        if (!integral)
          return Status::InvalidInput(
              fmt::format("{}: {}{} is {}; expected an integer", f->origin, name, index_string(i, f->array.shape), d));
        // Beyond 2^53 no count, label or flag of a dump makes sense, and the
        // int64 conversion of larger floats would be undefined.
        if (std::fabs(d) > 9007199254740992.0) {
          const std::string shown = f->array.dtype.kind == DTypeKind::kFloat ? fmt::format("{}", d)
                                    : f->array.dtype.kind == DTypeKind::kUInt
                                        ? fmt::format("{}", static_cast<uint64_t>(d))
                                        : std::to_string(f->array.to_int64(i));
          return Status::InvalidInput(fmt::format("{}: {}{} is {}; expected an integer below 2^53", f->origin, name,
                                                  index_string(i, f->array.shape), shown));
        }
        v[i] = f->array.dtype.kind == DTypeKind::kFloat ? static_cast<int64_t>(d) : f->array.to_int64(i);
      }
      ints_[field] = std::move(v);
    }
    return Status();
  }

  // Dumps that are wrong in a way the values show, though each value is
  // legal: probabilities under meta.scores "logits" (every one in [0, 1]),
  // GT boxes normalised to [0, 1] where the assigners take pixels.
  void warn_misread_values() {
    if (const auto it = floats_.find(Field::kClsScores);
        it != floats_.end() && meta_.scores == ScoreKind::kLogits && it->second.size() >= 16) {
      // Zeros alone (a synthetic or untrained head) are as much logits as probabilities: say nothing.
      const bool unit =
          std::all_of(it->second.begin(), it->second.end(), [](float x) { return x >= 0.0f && x <= 1.0f; }) &&
          std::any_of(it->second.begin(), it->second.end(), [](float x) { return x > 0.0f && x < 1.0f; });
      if (unit)
        raw_.warnings.push_back(fmt::format(
            "{}: every one of its {} values lies in [0, 1], as probabilities do, but meta.scores is \"logits\" "
            "(the default): if these are probabilities (after a sigmoid), set \"scores\": \"probs\" in meta.json",
            get(Field::kClsScores)->origin, it->second.size()));
    }
    if (const auto it = floats_.find(Field::kGtBboxes);
        it != floats_.end() && meta_.image_size && !it->second.empty()) {
      const int64_t side = std::max((*meta_.image_size)[0], (*meta_.image_size)[1]);
      float largest = 0.0f;
      for (float x : it->second) largest = std::max(largest, std::fabs(x));
      if (side >= 32 && largest > 0.0f && largest <= 1.0f)
        raw_.warnings.push_back(fmt::format(
            "{}: every coordinate lies in [0, 1] while meta.image_size is {} x {}: boxes normalised to the image? "
            "The assigners take (x1, y1, x2, y2) in input pixels: multiply by the width and height",
            get(Field::kGtBboxes)->origin, (*meta_.image_size)[0], (*meta_.image_size)[1]));
    }
  }

  // Copies `count` rows of width `width` of image b out of a converted field.
  template <class Array>
  void slice_rows(Field field, int64_t b, int64_t rows, Array* out) const {
    const std::vector<float>& v = floats_.at(field);
    const RawField* f = get(field);
    const int64_t width = out->cols();
    const bool with_b = is_batch_ && f->array.ndim() == image_rank(field, f->array) + 1;
    const int64_t offset = with_b ? b * rows * width : 0;
    out->resize(rows, width);
    if (rows * width > 0)
      std::memcpy(out->data(), v.data() + offset, static_cast<size_t>(rows * width) * sizeof(float));
  }

  // "<origin>: <field>[b, i]": where element i of image b sits, for messages.
  std::string element(Field field, int64_t b, int64_t flat_in_image) const {
    const RawField* f = get(field);
    const bool with_b = is_batch_ && f->array.ndim() == image_rank(field, f->array) + 1;
    int64_t per_image = 1;
    for (size_t d = with_b ? 1 : 0; d < f->array.shape.size(); ++d) per_image *= f->array.shape[d];
    const int64_t flat = (with_b ? b * per_image : 0) + flat_in_image;
    return fmt::format("{}: {}{}", f->origin, field_name(field), index_string(flat, f->array.shape));
  }

  // (cx, cy, w, h) -> (x1, y1, x2, y2) as YOLOX computes corners: c -+ wh / 2, float32.
  static void to_xyxy(Rows4f* boxes) {
    for (Eigen::Index i = 0; i < boxes->rows(); ++i) {
      const float cx = (*boxes)(i, 0), cy = (*boxes)(i, 1), hw = (*boxes)(i, 2) / 2.0f, hh = (*boxes)(i, 3) / 2.0f;
      (*boxes)(i, 0) = cx - hw, (*boxes)(i, 1) = cy - hh, (*boxes)(i, 2) = cx + hw, (*boxes)(i, 3) = cy + hh;
    }
  }

  Status check_boxes(Field field, int64_t b, const Rows4f& boxes, bool is_error,
                     std::vector<std::string>* warnings) const {
    int64_t bad = 0, first = -1;
    for (Eigen::Index i = 0; i < boxes.rows(); ++i) {
      if (boxes(i, 2) < boxes(i, 0) || boxes(i, 3) < boxes(i, 1)) {
        if (first < 0) first = i;
        ++bad;
      }
    }
    if (bad == 0) return Status();
    const std::string where = element(field, b, first * 4);
    const std::string msg = fmt::format(
        "{} = ({}, {}, {}, {}) has x2 < x1 or y2 < y1 ({} such rows); expected (x1, y1, x2, y2) boxes — is this "
        "(cx, cy, w, h) or (x, y, w, h)?",
        where, boxes(first, 0), boxes(first, 1), boxes(first, 2), boxes(first, 3), bad);
    if (is_error) return Status::InvalidInput(msg);
    warnings->push_back(msg);
    return Status();
  }

  // One image of the dump (image b of a batch), built field group by field
  // group in the order the groups depend on each other: priors before the
  // decoded predictions and the inferred levels, scores before the GT label
  // range.
  Result<Problem> build_image(int64_t b) {
    Problem p = new_image(b);
    ASSIGNSCOPE_RETURN_IF_ERROR(build_priors(b, &p));
    build_scores(b, &p);
    ASSIGNSCOPE_RETURN_IF_ERROR(build_predictions(b, &p));
    ASSIGNSCOPE_RETURN_IF_ERROR(build_levels(b, &p));
    ASSIGNSCOPE_RETURN_IF_ERROR(build_ground_truth(b, &p));
    ASSIGNSCOPE_RETURN_IF_ERROR(build_ignore_boxes(b, &p));
    for (std::string& w : image_warnings_) raw_.warnings.push_back(std::move(w));
    image_warnings_.clear();
    return p;
  }

  // The image's meta, name and size, and which fields it has.
  Problem new_image(int64_t b) const {
    Problem p;
    p.meta = meta_;
    p.name = is_batch_ ? std::to_string(b) : "";
    p.set_num_priors(num_priors_);
    for (Field f : {Field::kPriors, Field::kAnchors, Field::kNumLevelPriors, Field::kClsScores, Field::kObjectness,
                    Field::kPredBboxes, Field::kPredDistances, Field::kGtBboxes, Field::kGtLabels,
                    Field::kGtBboxesIgnore, Field::kPadGtMask, Field::kGtCenters, Field::kCenterness, Field::kPredDist})
      if (get(f)) p.mark(f);
    p.background_column = background_column_;
    return p;
  }

  bool cxcywh() const { return meta_.box_format == BoxFormat::kCxcywh; }

  // priors (cx, cy, stride_w, stride_h) and anchors; an anchors-only dump's
  // priors are the anchors' centres without a stride.
  Status build_priors(int64_t b, Problem* image) const {
    Problem& p = *image;
    if (get(Field::kPriors)) {
      slice_rows(Field::kPriors, b, num_priors_, &p.priors);
      // Stride 0 in every row: locations without a stride, as DETR-style
      // queries are dumped (all zeros). Kept like an anchors-only dump's
      // centres, but not as point priors: assigners that need strides refuse
      // (check_needs says why).
      const bool strideless = num_priors_ > 0 && (p.priors.col(2) == 0.0f).all() && (p.priors.col(3) == 0.0f).all();
      if (strideless) {
        p.present &= ~(1u << static_cast<unsigned>(Field::kPriors));
        p.strideless_priors = true;
      }
      for (int64_t i = 0; i < num_priors_ && !strideless; ++i) {
        if (p.priors(i, 2) > 0 && p.priors(i, 3) > 0) continue;
        if (!options_.allow_nonfinite || (std::isfinite(p.priors(i, 2)) && std::isfinite(p.priors(i, 3))))
          return Status::InvalidInput(
              fmt::format("{} = ({}, {}, {}, {}): stride must be > 0; expected priors as "
                          "(cx, cy, stride_w, stride_h)",
                          element(Field::kPriors, b, i * 4), p.priors(i, 0), p.priors(i, 1), p.priors(i, 2),
                          p.priors(i, 3)));
      }
    }
    if (get(Field::kAnchors)) {
      slice_rows(Field::kAnchors, b, num_priors_, &p.anchors);
      ASSIGNSCOPE_RETURN_IF_ERROR(check_boxes(Field::kAnchors, b, p.anchors, true, nullptr));
      if (!get(Field::kPriors)) {
        // Centres from the anchors; no stride is known.
        p.priors.resize(num_priors_, 4);
        for (int64_t i = 0; i < num_priors_; ++i) {
          p.priors(i, 0) = (p.anchors(i, 0) + p.anchors(i, 2)) / 2.0f;
          p.priors(i, 1) = (p.anchors(i, 1) + p.anchors(i, 3)) / 2.0f;
          p.priors(i, 2) = p.priors(i, 3) = 0.0f;
        }
      }
    }
    return Status();
  }

  // cls_scores, objectness and centerness (and the probabilities of a
  // "probs" dump as given).
  void build_scores(int64_t b, Problem* image) const {
    Problem& p = *image;
    if (get(Field::kClsScores)) {
      const int64_t rows = num_priors_;
      const std::vector<float>& v = floats_.at(Field::kClsScores);
      p.cls_scores.resize(rows, score_columns_);
      const int64_t offset = is_batch_ ? b * rows * score_columns_ : 0;
      if (rows * score_columns_ > 0)
        std::memcpy(p.cls_scores.data(), v.data() + offset, static_cast<size_t>(rows * score_columns_) * sizeof(float));
      if (const auto probs = probs_.find(Field::kClsScores); probs != probs_.end()) {
        p.cls_probs.resize(rows, score_columns_);
        if (rows * score_columns_ > 0)
          std::memcpy(p.cls_probs.data(), probs->second.data() + offset,
                      static_cast<size_t>(rows * score_columns_) * sizeof(float));
      }
    }
    if (get(Field::kObjectness)) {
      const std::vector<float>& v = floats_.at(Field::kObjectness);
      const int64_t offset = is_batch_ ? b * num_priors_ : 0;
      p.objectness.assign(v.begin() + offset, v.begin() + offset + num_priors_);
      if (const auto probs = probs_.find(Field::kObjectness); probs != probs_.end())
        p.objectness_probs.assign(probs->second.begin() + offset, probs->second.begin() + offset + num_priors_);
    }
    if (get(Field::kCenterness)) {
      const std::vector<float>& v = floats_.at(Field::kCenterness);
      const int64_t offset = is_batch_ ? b * num_priors_ : 0;
      p.centerness.assign(v.begin() + offset, v.begin() + offset + num_priors_);
    }
  }

  // pred_dist (DFL bins), pred_bboxes (as given, or from (cx, cy, w, h)) and
  // pred_distances decoded from the priors.
  Status build_predictions(int64_t b, Problem* image) {
    Problem& p = *image;
    if (get(Field::kPredDist)) {
      p.pred_dist.resize(num_priors_, dist_cols_);
      slice_rows(Field::kPredDist, b, num_priors_, &p.pred_dist);
    }
    if (get(Field::kPredBboxes)) {
      slice_rows(Field::kPredBboxes, b, num_priors_, &p.pred_bboxes);
      if (cxcywh()) {
        p.pred_cxcywh = p.pred_bboxes;
        to_xyxy(&p.pred_bboxes);
      }
      ASSIGNSCOPE_RETURN_IF_ERROR(check_boxes(Field::kPredBboxes, b, p.pred_bboxes, false, &image_warnings_));
    }
    if (get(Field::kPredDistances)) {
      Rows4f& d = p.pred_distances;
      slice_rows(Field::kPredDistances, b, num_priors_, &d);
      p.pred_bboxes.resize(num_priors_, 4);
      for (int64_t i = 0; i < num_priors_; ++i) {
        const float cx = p.priors(i, 0), cy = p.priors(i, 1);
        p.pred_bboxes.row(i) << cx - d(i, 0), cy - d(i, 1), cx + d(i, 2), cy + d(i, 3);
      }
      p.preds_from_distances = true;
      p.mark(Field::kPredBboxes);
      ASSIGNSCOPE_RETURN_IF_ERROR(check_boxes(Field::kPredDistances, b, p.pred_bboxes, false, &image_warnings_));
    }
    return Status();
  }

  // Priors per level: num_level_priors as given, else runs of equal stride,
  // else one level.
  Status build_levels(int64_t b, Problem* image) const {
    Problem& p = *image;
    if (const auto it = ints_.find(Field::kNumLevelPriors); it != ints_.end()) {
      const RawField* f = get(Field::kNumLevelPriors);
      const bool with_b = is_batch_ && f->array.ndim() == 2;
      const int64_t offset = with_b ? b * num_levels_ : 0;
      p.num_level_priors.assign(it->second.begin() + offset, it->second.begin() + offset + num_levels_);
      int64_t sum = 0;
      for (size_t l = 0; l < p.num_level_priors.size(); ++l) {
        if (p.num_level_priors[l] < 0 || p.num_level_priors[l] > num_priors_)
          return Status::InvalidInput(fmt::format("{} is {}; expected a count in [0, N = {}]",
                                                  element(Field::kNumLevelPriors, b, static_cast<int64_t>(l)),
                                                  p.num_level_priors[l], num_priors_));
        sum += p.num_level_priors[l];
      }
      if (sum != num_priors_)
        return Status::InvalidInput(
            fmt::format("{}: num_level_priors sums to {}; expected N = {} (the number of priors)", f->origin, sum,
                        num_priors_));
    } else if (get(Field::kPriors)) {
      p.num_level_priors = level_counts_from_strides(p.priors);
      if (static_cast<int64_t>(p.num_level_priors.size()) > kMaxLevels)
        return Status::InvalidInput(fmt::format(
            "{}: the stride changes {} times along the priors, so levels read as runs of equal stride number more "
            "than {}; expected priors level by level (or give num_level_priors)",
            get(Field::kPriors)->origin, p.num_level_priors.size() - 1, kMaxLevels));
      p.levels_inferred = true;
    } else {
      p.num_level_priors = {num_priors_};
      p.levels_inferred = true;
    }
    p.prior_level = levels_from_counts(p.num_level_priors);
    return Status();
  }

  // How many of image b's gt_rows_ GT rows are real boxes: all of them, or
  // those pad_gt_mask marks 1 (real boxes first, padding at the end).
  Result<int64_t> real_gt_count(int64_t b) const {
    const auto it = ints_.find(Field::kPadGtMask);
    if (it == ints_.end()) return gt_rows_;
    const int64_t* mask = it->second.data() + b * gt_rows_;
    int64_t real = 0;
    for (int64_t j = 0; j < gt_rows_; ++j) {
      if (mask[j] != 0 && mask[j] != 1)
        return Status::InvalidInput(
            fmt::format("{} is {}; expected 1 (a real box) or 0 (padding)", element(Field::kPadGtMask, b, j), mask[j]));
      if (mask[j] == 1 && real != j)
        return Status::InvalidInput(fmt::format(
            "{} marks a real box after padding; expected real boxes first and padding at the end, as mmyolo pads",
            element(Field::kPadGtMask, b, j)));
      real += mask[j];
    }
    return real;
  }

  // The real GTs' labels are class indices of the scores (or meta.num_classes).
  Status check_gt_labels(int64_t b, const Problem& p) const {
    const int64_t classes = score_columns_ >= 0 ? score_columns_ : meta_.num_classes.value_or(-1);
    for (int64_t j = 0; j < static_cast<int64_t>(p.gt_labels.size()); ++j) {
      const int64_t label = p.gt_labels[j];
      if (label < 0 || (classes >= 0 && label >= classes)) {
        const std::string range = classes >= 0 ? fmt::format("[0, {})", classes) : std::string("[0, C)");
        return Status::InvalidInput(fmt::format("{} is {}; expected a class index in {}{}",
                                                element(Field::kGtLabels, b, j), label, range,
                                                classes >= 0 && score_columns_ >= 0 ? " (C from cls_scores)" : ""));
      }
    }
    return Status();
  }

  // gt_bboxes, gt_labels and gt_centers with the padding removed (kept apart
  // as padding_gt_*).
  Status build_ground_truth(int64_t b, Problem* image) const {
    Problem& p = *image;
    if (!get(Field::kGtBboxes)) return Status();
    Rows4f boxes;
    slice_rows(Field::kGtBboxes, b, gt_rows_, &boxes);
    Rows4f given;
    if (cxcywh()) {
      given = boxes;
      to_xyxy(&boxes);
    }
    const std::vector<int64_t>& labels = ints_.at(Field::kGtLabels);
    const int64_t label_offset = is_batch_ ? b * gt_rows_ : 0;
    ASSIGNSCOPE_ASSIGN_OR_RETURN(auto counted, real_gt_count(b));
    const int64_t real = counted;
    p.gt_bboxes = boxes.topRows(real);
    if (cxcywh()) p.gt_cxcywh = given.topRows(real);
    if (get(Field::kGtCenters)) {
      Rows2f centers;
      slice_rows(Field::kGtCenters, b, gt_rows_, &centers);
      p.gt_centers = centers.topRows(real);
    }
    p.gt_labels.assign(labels.begin() + label_offset, labels.begin() + label_offset + real);
    p.padding_gt_bboxes = boxes.bottomRows(gt_rows_ - real);
    p.padding_gt_labels.assign(labels.begin() + label_offset + real, labels.begin() + label_offset + gt_rows_);
    // Padding labels are whatever the padding holds (mmyolo's unit test pads
    // with class 11 of 2): only an assigner that indexes the class scores
    // with them (dynamic-soft-label.mmyolo) checks their range.
    ASSIGNSCOPE_RETURN_IF_ERROR(check_boxes(Field::kGtBboxes, b, p.gt_bboxes, true, nullptr));
    return check_gt_labels(b, p);
  }

  // gt_bboxes_ignore (one-image dumps only).
  Status build_ignore_boxes(int64_t b, Problem* image) const {
    Problem& p = *image;
    const RawField* f = get(Field::kGtBboxesIgnore);
    if (!f) return Status();
    const int64_t count = f->array.ndim() == 2 ? f->array.shape[0] : 0;
    slice_rows(Field::kGtBboxesIgnore, b, count, &p.gt_bboxes_ignore);
    if (cxcywh()) to_xyxy(&p.gt_bboxes_ignore);
    return check_boxes(Field::kGtBboxesIgnore, b, p.gt_bboxes_ignore, true, nullptr);
  }

  RawDump raw_;
  LoadOptions options_;
  Meta meta_;
  bool is_batch_ = false;
  int64_t num_images_ = 1;
  std::string batch_origin_;
  // The dump's dimensions, -1 until a field gives them: N priors, C score
  // columns, G GT rows an image (padding included), L levels.
  int64_t num_priors_ = -1, score_columns_ = -1, gt_rows_ = -1, num_levels_ = -1;
  int64_t gt_columns_ = 0;
  bool background_column_ = false;
  int64_t dist_cols_ = 0;
  std::map<const int64_t*, std::string> dim_origin_;
  std::map<Field, std::vector<float>> floats_;
  std::map<Field, std::vector<float>> probs_;  // "probs" dumps: scores as given
  std::map<Field, std::vector<int64_t>> ints_;
  std::vector<std::string> image_warnings_;
};
}  // namespace

Result<LoadedDump> build_batch(RawDump raw, const LoadOptions& options) {
  const std::string origin = raw.origin;
  return guarded(origin, "loading the dump", [&]() { return Validator(std::move(raw), options).run(); });
}

}  // namespace assignscope::io
