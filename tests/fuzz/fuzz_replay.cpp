// libFuzzer target: whole dumps through every assigner. The input bytes
// choose a small image (levels, strides, grid offsets, GTs, scores, predicted
// boxes, anchors, objectness; sometimes shuffled priors, extreme or repeated
// boxes) and parameters within each assigner's declared ranges; the dump goes
// through the JSON reader and validation as a user's would, then every
// assigner replays it
//   - with search=sparse and search=dense where it has both: the results must
//     be identical, bit for bit (the promise of docs/architecture.md);
//   - on a batch of two images with one thread and with two: identical;
// and any error must be one user-facing line (never kInternal). A broken
// promise aborts; tools/fuzz.sh runs it under the same memory caps as the
// readers, so an allocation of gigabytes is a failure too.
#include <fuzzer/FuzzedDataProvider.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "assign/assigner.h"
#include "fuzz_support.h"

namespace assignscope::fuzz {
using assign::assign_batch;
using assign::AssignerInfo;
using assign::BatchOptions;
using assign::default_params;
using assign::Preset;
namespace {

// A coordinate: mostly small numbers on or near the grid, sometimes the
// values that break arithmetic (zero-size, huge, denormal, negative).
float coordinate(FuzzedDataProvider& in, float extent) {
  switch (in.ConsumeIntegralInRange<int>(0, 9)) {
    case 0: return 0.0f;
    case 1: return extent;
    case 2: return static_cast<float>(in.ConsumeIntegralInRange<int>(-4, 4)) * 8.0f;
    case 3: return in.PickValueInArray({1e18f, -1e18f, 3e38f, -3e38f, 1e-40f, 1e6f, -1.0f});
    default: return in.ConsumeFloatingPointInRange<float>(-0.25f * extent, 1.25f * extent);
  }
}

std::string row(const std::vector<float>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += fmt::format("{}{}", i ? "," : "", v[i]);
  return s + "]";
}

// The priors (shared by the batch's images): per level a square grid,
// centred on the cells or on their corners; rarely two swapped (no grid).
std::vector<std::vector<float>> make_priors(FuzzedDataProvider& in, const std::vector<float>& strides, float extent) {
  std::vector<std::vector<float>> priors;
  const float offset = in.ConsumeBool() ? 0.5f : 0.0f;
  for (float s : strides) {
    const int side = std::max(1, static_cast<int>(extent / s));
    for (int y = 0; y < side; ++y)
      for (int x = 0; x < side; ++x)
        priors.push_back({(static_cast<float>(x) + offset) * s, (static_cast<float>(y) + offset) * s, s, s});
  }
  if (in.ConsumeIntegralInRange<int>(0, 7) == 0 && priors.size() > 1)
    std::swap(priors.front(), priors[in.ConsumeIntegralInRange<size_t>(1, priors.size() - 1)]);
  return priors;
}

// One image's per-prior and per-GT values, as the rows of a [B, ...] field.
struct Image {
  std::string scores, pred, objectness;
  std::vector<std::vector<float>> boxes;
  std::vector<int> labels;
};

Image make_image(FuzzedDataProvider& in, const std::vector<std::vector<float>>& priors, float extent, int classes) {
  Image im;
  for (size_t i = 0; i < priors.size(); ++i) {
    const std::vector<float>& q = priors[i];
    const char* sep = i ? "," : "";
    std::vector<float> c(static_cast<size_t>(classes));
    for (float& x : c) x = in.ConsumeBool() ? in.ConsumeFloatingPointInRange<float>(-12.0f, 12.0f) : 0.0f;
    im.scores += sep + row(c);
    const float r = in.ConsumeFloatingPointInRange<float>(0.0f, 3.0f) * q[2];
    im.pred += sep + (in.ConsumeIntegralInRange<int>(0, 15) == 0 ? row({coordinate(in, extent), coordinate(in, extent),
                                                                        coordinate(in, extent), coordinate(in, extent)})
                                                                 : row({q[0] - r, q[1] - r, q[0] + r, q[1] + r}));
    im.objectness += fmt::format("{}{}", sep, in.ConsumeFloatingPointInRange<float>(-8.0f, 8.0f));
  }
  const int gts = in.ConsumeIntegralInRange<int>(0, 10);
  for (int g = 0; g < gts; ++g) {
    std::vector<float> b;
    if (!im.boxes.empty() && in.ConsumeIntegralInRange<int>(0, 3) == 0) {
      b = im.boxes.back();  // repeated GTs: ties everywhere
    } else {
      b = {coordinate(in, extent), coordinate(in, extent), 0, 0};
      b[2] = in.ConsumeBool() ? b[0] + in.ConsumeFloatingPointInRange<float>(0.0f, extent) : coordinate(in, extent);
      b[3] = in.ConsumeBool() ? b[1] + in.ConsumeFloatingPointInRange<float>(0.0f, extent) : coordinate(in, extent);
    }
    im.boxes.push_back(b);
    im.labels.push_back(in.ConsumeIntegralInRange<int>(0, classes - 1));
  }
  return im;
}

// A batch of images as one JSON dump: per-image fields with a leading B,
// GTs padded to the largest G with pad_gt_mask, priors and anchors shared.
std::string batch_json(const std::vector<std::vector<float>>& priors, const std::vector<Image>& images, int classes,
                       float extent) {
  std::string p, anchors;
  for (size_t i = 0; i < priors.size(); ++i) {
    const std::vector<float>& q = priors[i];
    p += (i ? "," : "") + row(q);
    anchors += (i ? "," : "") + row({q[0] - 2 * q[2], q[1] - 2 * q[2], q[0] + 2 * q[2], q[1] + 2 * q[2]});
  }
  size_t gmax = 1;
  for (const Image& im : images) gmax = std::max(gmax, im.boxes.size());
  std::string scores, pred, objectness, boxes, labels, mask;
  for (size_t b = 0; b < images.size(); ++b) {
    const Image& im = images[b];
    const char* sep = b ? "," : "";
    scores += fmt::format("{}[{}]", sep, im.scores);
    pred += fmt::format("{}[{}]", sep, im.pred);
    objectness += fmt::format("{}[{}]", sep, im.objectness);
    std::string bx, lb, mk;
    for (size_t g = 0; g < gmax; ++g) {
      const bool real = g < im.boxes.size();
      bx += (g ? "," : "") + row(real ? im.boxes[g] : std::vector<float>{0, 0, 0, 0});
      lb += fmt::format("{}{}", g ? "," : "", real ? im.labels[g] : 0);
      mk += fmt::format("{}{}", g ? "," : "", real ? 1 : 0);
    }
    boxes += fmt::format("{}[{}]", sep, bx);
    labels += fmt::format("{}[{}]", sep, lb);
    mask += fmt::format("{}[{}]", sep, mk);
  }
  return fmt::format(
      R"({{"meta": {{"version": 1, "num_classes": {}, "image_size": [{}, {}]}}, "priors": [{}], "anchors": [{}],
          "cls_scores": [{}], "pred_bboxes": [{}], "objectness": [{}], "gt_bboxes": [{}], "gt_labels": [{}],
          "pad_gt_mask": [{}]}})",
      classes, extent, extent, p, anchors, scores, pred, objectness, boxes, labels, mask);
}

// Parameters within each one's declared range: defaults, the bounds, or between.
Params params_for(FuzzedDataProvider& in, const AssignerInfo& info) {
  Params params = default_params(info);
  if (!info.presets.empty() && in.ConsumeBool()) {
    const Preset& preset = info.presets[in.ConsumeIntegralInRange<size_t>(0, info.presets.size() - 1)];
    (void)params.set_all(preset.params);
  }
  for (const ParamSpec& spec : info.params) {
    if (spec.name == "search" || !in.ConsumeBool()) continue;
    if (spec.type == ParamType::kInt || spec.type == ParamType::kFloat) {
      const double lo = spec.min.value_or(-4.0), hi = std::max(lo, spec.max.value_or(lo + 64.0));
      double v = in.PickValueInArray({lo, hi, (lo + hi) / 2});
      if (in.ConsumeBool()) v = in.ConsumeFloatingPointInRange<double>(lo, std::min(hi, lo + 1e3));
      if (spec.type == ParamType::kInt) v = std::floor(v);
      (void)params.set(spec.name, fmt::format("{}", v));
    } else if (spec.type == ParamType::kString && !spec.choices.empty()) {
      (void)params.set(spec.name, spec.choices[in.ConsumeIntegralInRange<size_t>(0, spec.choices.size() - 1)]);
    }
  }
  return params;
}

bool same_floats(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
}

template <class T>
bool same_optional(const std::optional<std::vector<T>>& a, const std::optional<std::vector<T>>& b) {
  if (a.has_value() != b.has_value()) return false;
  if (!a) return true;
  if constexpr (std::is_same_v<T, float>) return same_floats(*a, *b);
  else return *a == *b;
}

// What a replay decides: the same under every search and thread count.
std::string differs(const Assignment& a, const Assignment& b) {
  if (a.gt_inds != b.gt_inds) return "gt_inds";
  if (a.labels != b.labels) return "labels";
  if (!same_floats(a.max_overlaps, b.max_overlaps)) return "max_overlaps";
  if (!same_optional(a.dynamic_ks, b.dynamic_ks)) return "dynamic_ks";
  if (!same_optional(a.assign_metrics, b.assign_metrics)) return "assign_metrics";
  if (!same_optional(a.assign_metrics_raw, b.assign_metrics_raw)) return "assign_metrics_raw";
  if (!same_optional(a.bbox_targets, b.bbox_targets)) return "bbox_targets";
  if (a.matches.has_value() != b.matches.has_value() || (a.matches && *a.matches != *b.matches)) return "matches";
  return "";
}

Result<std::vector<Assignment>> replay(const AssignerInfo& info, const Params& params, const Batch& batch,
                                       int threads) {
  BatchOptions options;
  options.threads = threads;
  auto r = assign_batch(info, params, batch, options);
  check_error(r.status());
  return r;
}

}  // namespace
}  // namespace assignscope::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace assignscope;
  FuzzedDataProvider in(data, size);
  std::vector<float> strides;
  const int levels = in.ConsumeIntegralInRange<int>(1, 3);
  float s = in.PickValueInArray({4.0f, 8.0f, 16.0f, 32.0f});
  for (int l = 0; l < levels; ++l, s *= 2) strides.push_back(s);
  const float extent = in.PickValueInArray({32.0f, 64.0f, 96.0f});
  const int classes = in.ConsumeIntegralInRange<int>(1, 4);
  const std::vector<std::vector<float>> priors = fuzz::make_priors(in, strides, extent);
  std::vector<fuzz::Image> images;
  images.push_back(fuzz::make_image(in, priors, extent, classes));
  images.push_back(fuzz::make_image(in, priors, extent, classes));
  const std::string json = fuzz::batch_json(priors, images, classes, extent);
  auto raw = io::parse_json_dump(json, "fuzz.json", fuzz::options());
  fuzz::check_error(raw.status());
  if (!raw.ok()) return 0;
  auto loaded = io::build_batch(std::move(raw).value(), fuzz::options());
  fuzz::check_error(loaded.status());
  if (!loaded.ok()) return 0;
  const Batch& batch = loaded->batch;

  for (const assign::AssignerInfo& info : assign::registry()) {
    Params params = fuzz::params_for(in, info);
    if (params.has("regress_ranges")) {  // FCOS: one range per level of this image
      std::string ranges;
      for (int l = 0; l < levels; ++l)
        ranges += fmt::format("{}[{},{}]", l ? "," : "", l ? 64 << (l - 1) : -1, l + 1 < levels ? 64 << l : 100000000);
      (void)params.set("regress_ranges", "[" + ranges + "]");
    }
    if (!assign::validate_params(info, params, nullptr).ok()) continue;
    const bool has_search = params.has("search");
    if (has_search) (void)params.set("search", "sparse");
    auto one = fuzz::replay(info, params, batch, 1);
    if (std::getenv("FUZZ_REPLAY_VERBOSE"))  // which assigners an input reaches, and why not
      std::fprintf(stderr, "fuzz_replay: %s: %s\n", info.name.c_str(),
                   one.ok() ? "replayed" : one.status().message().c_str());
    if (!one.ok()) continue;
    auto two = fuzz::replay(info, params, batch, 2);
    if (!two.ok()) fuzz::fail("-j 2 refused what -j 1 replayed", info.name + ": " + two.status().message());
    for (size_t i = 0; i < one->size(); ++i)
      if (const std::string what = fuzz::differs((*one)[i], (*two)[i]); !what.empty())
        fuzz::fail("-j 1 and -j 2 differ", fmt::format("{} image {}: {}", info.name, i, what));
    if (!has_search) continue;
    Params dense = params;
    (void)dense.set("search", "dense");
    auto d = fuzz::replay(info, dense, batch, 1);
    if (!d.ok()) fuzz::fail("dense refused what sparse replayed", info.name + ": " + d.status().message());
    for (size_t i = 0; i < one->size(); ++i)
      if (const std::string what = fuzz::differs((*one)[i], (*d)[i]); !what.empty())
        fuzz::fail("sparse and dense differ", fmt::format("{} image {}: {}", info.name, i, what));
  }
  return 0;
}
