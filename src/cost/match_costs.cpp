// mmdetection's match costs: config dicts checked and completed, and each
// cost of a pair in float32 (match_costs.h).
#include "cost/match_costs.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <optional>

#include <fmt/format.h>

#include "core/pyliteral.h"
#include "core/suggest.h"
#include "core/text.h"
#include "cost/terms.h"
#include "geometry/boxes.h"

namespace assignscope::cost {
namespace {

using Json = nlohmann::json;

constexpr float kOverlapEps = 1e-6f;  // bbox_overlaps' eps

struct TypeInfo {
  MatchCostType type;
  const char* name;
  std::vector<const char*> arguments;  // besides `type`, in the constructor's order
};

const std::vector<TypeInfo>& types() {
  static const std::vector<TypeInfo> kTypes = {
      {MatchCostType::kFocalLoss, "FocalLossCost", {"alpha", "gamma", "eps", "binary_input", "weight"}},
      {MatchCostType::kClassification, "ClassificationCost", {"weight"}},
      {MatchCostType::kBBoxL1, "BBoxL1Cost", {"box_format", "weight"}},
      {MatchCostType::kIoU, "IoUCost", {"iou_mode", "weight"}},
  };
  return kTypes;
}

// mmdet's costs this version does not replay, and why.
const char* unreplayed(const std::string& type) {
  if (type == "DiceCost" || type == "CrossEntropyLossCost") return "a mask cost (Mask2Former, MaskFormer)";
  if (type == "BinaryFocalLossCost") return "a text-token cost (Grounding DINO)";
  return nullptr;
}

std::vector<std::string> type_names() {
  std::vector<std::string> names;
  for (const TypeInfo& t : types()) names.push_back(t.name);
  return names;
}

std::string known_types() { return fmt::format("{}", fmt::join(type_names(), ", ")); }

// "mmdet.IoUCost" -> "IoUCost"; a bare name (new-style configs: type=IoUCost) too.
std::string type_of(const Json& v) {
  std::string t;
  if (v.is_string()) t = v.get<std::string>();
  else if (is_python_name(v)) t = python_source(v);
  if (const size_t dot = t.rfind('.'); dot != std::string::npos) t = t.substr(dot + 1);
  return t;
}

std::string shown(const Json& v) {
  return is_unevaluated(v) ? printable(python_source(v), 60) : printable(json_snippet(v), 60);
}

}  // namespace

const char* match_cost_type_name(MatchCostType type) {
  for (const TypeInfo& t : types())
    if (t.type == type) return t.name;
  return "?";
}

int match_cost_term(MatchCostType type) {
  switch (type) {
    case MatchCostType::kFocalLoss:
    case MatchCostType::kClassification: return 0;
    case MatchCostType::kBBoxL1: return 1;
    case MatchCostType::kIoU: return 2;
  }
  return 0;
}

std::string describe(const MatchCost& c) {
  switch (c.type) {
    case MatchCostType::kFocalLoss:
      return fmt::format("FocalLossCost(weight={}, alpha={}, gamma={}, eps={})", c.weight, c.alpha, c.gamma, c.eps);
    case MatchCostType::kClassification: return fmt::format("ClassificationCost(weight={})", c.weight);
    case MatchCostType::kBBoxL1:
      return fmt::format("BBoxL1Cost(weight={}, box_format='{}')", c.weight, c.xywh ? "xywh" : "xyxy");
    case MatchCostType::kIoU:
      return fmt::format("IoUCost(weight={}, iou_mode='{}')", c.weight, c.giou ? "giou" : "iou");
  }
  return "?";
}

Result<Json> canonical_match_cost(const Json& value, const std::string& where) {
  const std::string example = "dict(type='IoUCost', iou_mode='giou', weight=2.0)";
  if (!value.is_object() || is_unevaluated(value))
    return Status::Usage(fmt::format("{}expected a cost dict like {}, got {}", where, example, shown(value)));
  if (!value.contains("type"))
    return Status::Usage(fmt::format("{}a cost dict needs a type ({}), as in {}", where, known_types(), example));
  const std::string type = type_of(value["type"]);
  const TypeInfo* info = nullptr;
  for (const TypeInfo& t : types())
    if (t.name == type) info = &t;
  if (!info) {
    if (const char* why = unreplayed(type))
      return Status::Usage(
          fmt::format("{}type '{}' is {}, not replayed; the box costs are {}", where, type, why, known_types()));
    return Status::Usage(fmt::format("{}type '{}' is not a match cost assignscope replays{}; known: {}", where,
                                     type.empty() ? shown(value["type"]) : type, did_you_mean(type, type_names()),
                                     known_types()));
  }
  const std::string at = fmt::format("{}{} ", where, info->name);
  // Defaults as mmdet's constructors have them.
  MatchCost c;
  c.type = info->type;
  bool binary_input = false;
  for (auto it = value.begin(); it != value.end(); ++it) {
    const std::string& key = it.key();
    const Json& v = it.value();
    if (key == "type" || key == "$call") continue;
    if (key == "$args")
      return Status::Usage(
          fmt::format("{}{}(...) with positional arguments: write them as name=value", where, info->name));
    const bool known =
        std::any_of(info->arguments.begin(), info->arguments.end(), [&](const char* a) { return key == a; });
    if (!known) {
      std::vector<std::string> names(info->arguments.begin(), info->arguments.end());
      return Status::Usage(fmt::format("{}has no argument '{}'{}; its arguments: {}", at, key, did_you_mean(key, names),
                                       fmt::join(names, ", ")));
    }
    if (is_unevaluated(v))
      return Status::Usage(
          fmt::format("{}{}={}: a Python name or expression, not a value; write the value it stands for", at, key,
                      shown(v)));
    const auto number = [&](double lo, std::optional<double> hi, const char* expected) -> Result<double> {
      if (!v.is_number() || v.is_boolean())
        return Status::Usage(fmt::format("{}{}={}: expected a number {}", at, key, shown(v), expected));
      const double d = v.get<double>();
      if (!std::isfinite(d) || d < lo || (hi && d > *hi))
        return Status::Usage(fmt::format("{}{}={}: expected a number {}", at, key, shown(v), expected));
      return d;
    };
    const auto choice = [&](const char* a, const char* b) -> Result<std::string> {
      const std::string s = v.is_string() ? v.get<std::string>() : "";
      if (s != a && s != b)
        return Status::Usage(fmt::format("{}{}={}: expected '{}' or '{}'{}", at, key, shown(v), a, b,
                                         s == "iof" ? " (iof is not replayed)" : ""));
      return s;
    };
    if (key == "weight") {
      auto d = number(0.0, std::nullopt, ">= 0");
      if (!d.ok()) return d.status();
      c.weight = *d;
    } else if (key == "alpha") {
      auto d = number(0.0, 1.0, "between 0 and 1");
      if (!d.ok()) return d.status();
      c.alpha = *d;
    } else if (key == "gamma") {
      auto d = number(0.0, std::nullopt, ">= 0");
      if (!d.ok()) return d.status();
      c.gamma = *d;
    } else if (key == "eps") {
      ASSIGNSCOPE_ASSIGN_OR_RETURN(auto d, number(0.0, std::nullopt, ">= 0"));
      c.eps = d;
    } else if (key == "binary_input") {
      if (!v.is_boolean() && !(v.is_number_integer() && (v.get<int64_t>() == 0 || v.get<int64_t>() == 1)))
        return Status::Usage(fmt::format("{}binary_input={}: expected True or False", at, shown(v)));
      binary_input = v.is_boolean() ? v.get<bool>() : v.get<int64_t>() == 1;
    } else if (key == "box_format") {
      auto s = choice("xyxy", "xywh");
      if (!s.ok()) return s.status();
      c.xywh = *s == "xywh";
    } else if (key == "iou_mode") {
      ASSIGNSCOPE_ASSIGN_OR_RETURN(auto s, choice("giou", "iou"));
      c.giou = s == "giou";
    }
  }
  if (binary_input)
    return Status::Usage(
        fmt::format("{}binary_input=True is the mask focal cost (MaskFormer): not replayed; the box "
                    "cost is binary_input=False",
                    at));
  return match_cost_json(c);
}

Result<Json> canonical_match_cost_list(const Json& value) {
  if (value.is_object() && !is_unevaluated(value)) {
    ASSIGNSCOPE_ASSIGN_OR_RETURN(auto one, canonical_match_cost(value));
    return Json::array({one});
  }
  if (!value.is_array())
    return Status::Usage(
        fmt::format("expected a list of cost dicts like [dict(type='FocalLossCost', weight=2.0), "
                    "dict(type='BBoxL1Cost', weight=5.0, box_format='xywh')], got {}",
                    shown(value)));
  if (value.empty())
    return Status::Usage("an empty list; HungarianAssigner needs at least one cost (mmdet asserts it)");
  Json out = Json::array();
  for (size_t i = 0; i < value.size(); ++i) {
    ASSIGNSCOPE_ASSIGN_OR_RETURN(auto c, canonical_match_cost(value[i], fmt::format("[{}] ", i)));
    out.push_back(std::move(c));
  }
  return out;
}

MatchCost match_cost_of(const Json& j) {
  MatchCost c;
  const std::string type = j.at("type").get<std::string>();
  for (const TypeInfo& t : types())
    if (type == t.name) c.type = t.type;
  c.weight = j.at("weight").get<double>();
  if (c.type == MatchCostType::kFocalLoss) {
    c.alpha = j.at("alpha").get<double>();
    c.gamma = j.at("gamma").get<double>();
    c.eps = j.at("eps").get<double>();
  }
  if (c.type == MatchCostType::kBBoxL1) c.xywh = j.at("box_format").get<std::string>() == "xywh";
  if (c.type == MatchCostType::kIoU) c.giou = j.at("iou_mode").get<std::string>() == "giou";
  return c;
}

std::vector<MatchCost> match_costs_of(const Json& list) {
  std::vector<MatchCost> out;
  for (const Json& j : list) out.push_back(match_cost_of(j));
  return out;
}

Json match_cost_json(const MatchCost& c) {
  Json j = {{"type", match_cost_type_name(c.type)}, {"weight", c.weight}};
  switch (c.type) {
    case MatchCostType::kFocalLoss:
      j["alpha"] = c.alpha;
      j["gamma"] = c.gamma;
      j["eps"] = c.eps;
      j["binary_input"] = false;
      break;
    case MatchCostType::kClassification: break;
    case MatchCostType::kBBoxL1: j["box_format"] = c.xywh ? "xywh" : "xyxy"; break;
    case MatchCostType::kIoU: j["iou_mode"] = c.giou ? "giou" : "iou"; break;
  }
  return j;
}

float giou(const float* a, const float* b, float area_a, float area_b) {
  const float ov = geometry::overlap(a, b);
  const float uni = std::max(area_a + area_b - ov, kOverlapEps);
  const float iou = ov / uni;
  const float enclose_w = std::max(std::max(a[2], b[2]) - std::min(a[0], b[0]), 0.0f);
  const float enclose_h = std::max(std::max(a[3], b[3]) - std::min(a[1], b[1]), 0.0f);
  const float enclose = std::max(enclose_w * enclose_h, kOverlapEps);
  return iou - (enclose - uni) / enclose;
}

MatchCostEvaluator::MatchCostEvaluator(std::vector<MatchCost> costs, const MatrixRf& scores, const Problem& problem)
    : costs_(std::move(costs)), scores_(scores), problem_(problem) {
  bool softmax = false, xyxy = false, xywh = false, areas = false;
  for (const MatchCost& c : costs_) {
    softmax |= c.type == MatchCostType::kClassification;
    xyxy |= c.type == MatchCostType::kBBoxL1 && !c.xywh;
    xywh |= c.type == MatchCostType::kBBoxL1 && c.xywh;
    areas |= c.type == MatchCostType::kIoU;
  }
  if (softmax) {
    // Per row: the maximum and 1 / sum of exp(s - max), as torch's
    // _vec_softmax_lastdim computes them.
    const Eigen::Index rows = scores_.rows(), cols = scores_.cols();
    row_max_.resize(static_cast<size_t>(rows));
    row_inverse_.resize(static_cast<size_t>(rows));
    std::vector<float> e(static_cast<size_t>(cols));
    for (Eigen::Index q = 0; q < rows; ++q) {
      float m = scores_(q, 0);
      for (Eigen::Index c = 1; c < cols; ++c) {
        const float x = scores_(q, c);
        if (std::isnan(x) || x > m) m = x;  // a NaN stays (torch's maximum propagates it)
      }
      for (Eigen::Index c = 0; c < cols; ++c) e[static_cast<size_t>(c)] = std::exp(scores_(q, c) - m);
      float sum = 0.0f;
      if (cols < 8) {
        for (Eigen::Index c = 0; c < cols; ++c) sum += e[static_cast<size_t>(c)];
      } else {
        std::array<float, 8> lane{};
        for (size_t j = 0; j < 8; ++j) lane[j] = e[j];
        for (size_t c = 8; c < e.size(); ++c) lane[c % 8] += e[c];
        sum = ((lane[0] + lane[4]) + (lane[2] + lane[6])) + ((lane[1] + lane[5]) + (lane[3] + lane[7]));
      }
      row_max_[static_cast<size_t>(q)] = m;
      row_inverse_[static_cast<size_t>(q)] = 1.0f / sum;
    }
  }
  if (xyxy || xywh) {
    assert(problem_.meta.image_size && "BBoxL1Cost needs meta.image_size; callers check it");
    const auto [h, w] = problem_.meta.image_size.value_or(std::array<int64_t, 2>{1, 1});
    const auto img_w = static_cast<float>(w), img_h = static_cast<float>(h);
    const auto normalise = [&](const Rows4f& rows, bool cxcywh) {
      std::vector<std::array<float, 4>> out(static_cast<size_t>(rows.rows()));
      for (Eigen::Index i = 0; i < rows.rows(); ++i) {
        const float* box = &rows(i, 0);
        const std::array<float, 4> b =
            cxcywh ? geometry::to_cxcywh(box) : std::array<float, 4>{box[0], box[1], box[2], box[3]};
        out[static_cast<size_t>(i)] = {b[0] / img_w, b[1] / img_h, b[2] / img_w, b[3] / img_h};
      }
      return out;
    };
    for (const bool cxcywh : {false, true}) {
      if (!(cxcywh ? xywh : xyxy)) continue;
      pred_norm_[cxcywh] = normalise(problem_.pred_bboxes, cxcywh);
      gt_norm_[cxcywh] = normalise(problem_.gt_bboxes, cxcywh);
    }
  }
  if (areas) {
    for (Eigen::Index i = 0; i < problem_.pred_bboxes.rows(); ++i)
      pred_area_.push_back(geometry::area(&problem_.pred_bboxes(i, 0)));
    for (Eigen::Index g = 0; g < problem_.gt_bboxes.rows(); ++g)
      gt_area_.push_back(geometry::area(&problem_.gt_bboxes(g, 0)));
  }
  focal_table_.resize(costs_.size());
  if (std::any_of(costs_.begin(), costs_.end(),
                  [](const MatchCost& c) { return c.type == MatchCostType::kFocalLoss; })) {
    std::vector<int64_t> labels;
    label_slot_.resize(problem_.gt_labels.size());
    for (size_t g = 0; g < problem_.gt_labels.size(); ++g) {
      const auto it = std::find(labels.begin(), labels.end(), problem_.gt_labels[g]);
      label_slot_[g] = static_cast<int32_t>(it - labels.begin());
      if (it == labels.end()) labels.push_back(problem_.gt_labels[g]);
    }
    num_slots_ = static_cast<int64_t>(labels.size());
    const Eigen::Index rows = scores_.rows();
    for (size_t k = 0; k < costs_.size(); ++k) {
      if (costs_[k].type != MatchCostType::kFocalLoss) continue;
      std::vector<float>& table = focal_table_[k];
      table.resize(static_cast<size_t>(rows * num_slots_));
      for (Eigen::Index q = 0; q < rows; ++q)
        for (int64_t l = 0; l < num_slots_; ++l)
          table[static_cast<size_t>(q * num_slots_ + l)] = focal(costs_[k], scores_(q, labels[static_cast<size_t>(l)]));
    }
  }
}

float MatchCostEvaluator::focal(const MatchCost& c, float score) const {
  const float p = sigmoid_f32(score);
  const auto eps = static_cast<float>(c.eps);
  const float neg = -std::log(1.0f - p + eps) * static_cast<float>(1.0 - c.alpha) * torch_pow(p, c.gamma);
  const float pos = -std::log(p + eps) * static_cast<float>(c.alpha) * torch_pow(1.0f - p, c.gamma);
  return (pos - neg) * static_cast<float>(c.weight);
}

float MatchCostEvaluator::classification(const MatchCost& c, int64_t query, int64_t label) const {
  const auto q = static_cast<size_t>(query);
  const float prob = std::exp(scores_(query, label) - row_max_[q]) * row_inverse_[q];
  return -prob * static_cast<float>(c.weight);
}

float MatchCostEvaluator::cost(const MatchCost& c, int64_t query, int64_t gt) const {
  const int64_t label = problem_.gt_labels[static_cast<size_t>(gt)];
  switch (c.type) {
    case MatchCostType::kFocalLoss: return focal(c, scores_(query, label));
    case MatchCostType::kClassification: return classification(c, query, label);
    case MatchCostType::kBBoxL1: {
      const std::array<float, 4>& a = pred_norm_[c.xywh][static_cast<size_t>(query)];
      const std::array<float, 4>& b = gt_norm_[c.xywh][static_cast<size_t>(gt)];
      float distance = 0.0f;
      for (size_t k = 0; k < 4; ++k) distance += std::fabs(a[k] - b[k]);
      return distance * static_cast<float>(c.weight);
    }
    case MatchCostType::kIoU: {
      const float* pred = &problem_.pred_bboxes(query, 0);
      const float* box = &problem_.gt_bboxes(gt, 0);
      const float area_p = pred_area_[static_cast<size_t>(query)], area_g = gt_area_[static_cast<size_t>(gt)];
      const float overlap = c.giou ? giou(pred, box, area_p, area_g) : geometry::iou(pred, box, area_p, area_g);
      return -overlap * static_cast<float>(c.weight);
    }
  }
  return 0.0f;
}

MatchCostEvaluator::PairCost MatchCostEvaluator::pair(int64_t query, int64_t gt) const {
  PairCost out;
  for (size_t k = 0; k < costs_.size(); ++k) {
    const std::vector<float>& table = focal_table_[k];
    const float v = table.empty()
                        ? cost(costs_[k], query, gt)
                        : table[static_cast<size_t>(query * num_slots_ + label_slot_[static_cast<size_t>(gt)])];
    out.total = k == 0 ? v : out.total + v;
    float& term = out.terms[static_cast<size_t>(match_cost_term(costs_[k].type))];
    term = term + v;
  }
  return out;
}

}  // namespace assignscope::cost
