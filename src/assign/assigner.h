// The assigner interface and the registry: name -> description, parameters
// with their defaults, the fields it needs, a factory, and its traits. The
// registry entry is the one record of what an assigner is: the diff's cost
// attribution, `list`, the invariants and sparse-search tests all read it
// (docs/architecture.md, "Adding an assigner").
//
// Names are `family` for mmdetection's version and `family.flavour` for other
// frameworks' (dynamic-soft-label.mmyolo, simota.yolox); the golden
// expected/ folders use exactly these names.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/assignment.h"
#include "core/params.h"
#include "core/problem.h"
#include "core/status.h"

namespace assignscope::assign {

class Assigner {
 public:
  virtual ~Assigner() = default;
  // Replays the assigner on one image. The problem has been validated and
  // holds every field in AssignerInfo::needs.
  virtual Assignment assign(const Problem& problem) const = 0;
};

// A field an assigner needs: any one of these (e.g. anchors or priors).
using Need = std::vector<Field>;

// A named parameter setting of a real training config: ultralytics 8.4's
// v8DetectionLoss default, YOLO26's one-to-one branch, DETR's match costs.
struct Preset {
  std::string name;                  // "yolo26-o2o"; `-a task-aligned.ultralytics+yolo26-o2o`, `--preset`
  std::string summary;               // where the setting comes from
  std::string params;                // JSON object of the parameters it sets (the rest stay default)
  std::vector<std::string> aliases;  // names people type for it: "yolo26"
};

// Framework versions whose assigner a parameter setting replays: `framework`
// as dumps record it (meta.framework), versions in [min, max) compared
// numerically part by part ("8.4.0" <= v < "9"); empty bounds are open.
struct FrameworkRange {
  std::string framework;
  std::string min;
  std::string max;
  std::string text;  // for people: "ultralytics 8.0 - 8.3"
};

// A reference class name a config's `type` names, and the syntax that means
// this assigner: ultralytics and mmdetection both have a TaskAlignedAssigner;
// mmdet configs write dict(type='TaskAlignedAssigner', ...), ultralytics users
// the constructor call TaskAlignedAssigner(...).
struct ClassName {
  enum class Syntax { kAny, kDict, kCall };
  std::string name;
  Syntax syntax = Syntax::kAny;
  // A head class (FCOSHead): its config holds many arguments besides the
  // assignment's (channels, losses); those are noted and ignored, not refused.
  bool head = false;
};

// Which cost function an assigner minimises. Flavours of one family compute
// the same cost as each framework does (their terms mean the same); `diff`
// attributes a flip to cost terms only between two assigners with the same
// definition. kNone: not cost-based (IoU thresholds, metrics, geometry).
enum class CostDefinition {
  kUnset,  // forgotten: the registry test fails
  kNone,
  kSoftLabel,      // dynamic-soft-label: soft class cost + log-IoU + soft centre prior
  kSimOta,         // simota: BCE class cost + log-IoU + INF outside the geometry
  kAlignOta,       // align-ota: quality-focal class cost + log-IoU + INF outside the geometry
  kOta,            // ota: focal class cost + IoU cost, Sinkhorn transport
  kHungarian,      // hungarian: mmdetection's match_costs list
  kTopkHungarian,  // topk-hungarian: DDQ's class, L1 and GIoU costs
};

// What an assigner does, as the rest of the program needs to know it: the
// diff's attribution, the invariants the tests hold it to, which search
// paths the sparse-search test compares. Each is stated by the assigner's
// *_info() and read from here, never from a list of names elsewhere.
//
// Forgetting one fails twice over. Every field starts unset (std::nullopt,
// CostDefinition::kUnset), not with a default (false would be a guess that
// passes), and `unset_traits` names what an entry left unset: the registry
// test ("registry: every assigner states every trait") fails on any. And an
// entry states them in one aggregate initialisation, every field in order
// (`info.traits = {CostDefinition::kNone, /*multi_match=*/false, ...}`): a
// short one (every entry's, once a trait is added here) is a
// -Wmissing-field-initializers warning (-Wextra; the build keeps zero). A
// field that depends on the flavour may be given as std::nullopt there and
// set by each flavour's *_info(). Read a trait as `traits.geometric == true`.
struct Traits {
  CostDefinition cost = CostDefinition::kUnset;
  // A prior may serve several GTs (Assignment::matches): yolov5.
  std::optional<bool> multi_match;
  // A per-GT k is computed and returned (Assignment::dynamic_ks, dynamic_ks.npy).
  std::optional<bool> dynamic_k;
  // A GT picks exactly its dynamic k priors before conflicts are resolved.
  std::optional<bool> picks_k;
  // A prior several GTs picked goes to the best of every GT, pickers or not
  // (argmin of the cost or argmax of the IoU over all GTs), so it may go to
  // a GT that did not pick it.
  std::optional<bool> conflict_over_all;
  // Positives need the prior inside the GT (or its anchor to overlap it): a
  // GT no prior touches never gets one.
  std::optional<bool> geometric;
  // Assignment::candidates holds the (prior, GT) pairs it considered.
  std::optional<bool> records_pairs;
  // Has a sparse search beside the dense one (the `search` parameter).
  std::optional<bool> sparse_search;
};

struct AssignerInfo {
  std::string name;                       // "dynamic-soft-label"
  std::string summary;                    // one line
  std::string reference;                  // upstream project, file, class
  std::vector<ParamSpec> params;          // with defaults
  std::vector<Need> needs;                // dump fields it reads
  std::vector<std::string> result_files;  // npy files it produces, golden layout
  std::function<std::unique_ptr<Assigner>(const Params&)> make;
  // Optional: why these parameters cannot be replayed on this image (e.g.
  // FCOS's regress ranges against the image's levels), as a usage error.
  std::function<Status(const Params&, const Problem&)> check;
  // Where the reference computes NaN or Inf from finite inputs, for the
  // warning of assign/finite_reports.h; "" when it never does.
  std::string numerics;

  // How people name it: aliases ("rtmdet"), the reference's class names (a
  // config's `type`), named settings of real configs.
  std::vector<std::string> aliases;
  std::vector<ClassName> class_names;
  std::vector<Preset> presets;
  // Reads cls_scores with a last "no object" column (C + 1 columns, a softmax
  // head: DETR's ClassificationCost); others refuse such dumps.
  bool accepts_background_column = false;
  // Takes priors with stride 0 in every row (all-zero priors, as mmyolo's
  // BatchATSSAssigner unit test feeds it: zero-size anchors) instead of
  // reading them as DETR-style strideless locations and refusing.
  bool accepts_zero_stride_priors = false;
  // Its `check` bounds the pairs it costs (yolov7: (GT, column) pairs, not
  // (prior, GT)): assign_batch's N x G limit (kMaxPriorGtPairs) does not
  // apply to it.
  bool bounds_own_pairs = false;
  // Constructor arguments of the reference that never change its result
  // (num_classes, iou_calculator=BboxOverlaps2D): accepted from configs and ignored.
  std::vector<std::string> config_ignored;
  // Optional: rules between parameters, checked once all are set: a usage
  // error naming them, or warnings for settings that are legal but odd.
  std::function<Status(const Params&, std::vector<std::string>* warnings)> validate;
  // Which framework versions these parameters replay (for `list` and for
  // the warning when a dump records another version).
  std::function<std::vector<FrameworkRange>(const Params&)> replays;
  // What it does (see Traits); every field set.
  Traits traits;

  // The name's parts: "simota.yolox" is family "simota", flavour "yolox";
  // a name without a dot is mmdetection's flavour.
  std::string family() const { return name.substr(0, name.find('.')); }
  std::string flavour() const {
    const size_t dot = name.find('.');
    return dot == std::string::npos ? "mmdetection" : name.substr(dot + 1);
  }
};

// What an entry leaves unset that every assigner must state: trait names
// ("traits.geometric"), "result_files", "replays". Empty when complete.
std::vector<std::string> unset_traits(const AssignerInfo& info);

// Every registered assigner, in a stable order.
const std::vector<AssignerInfo>& registry();

// nullptr when unknown (registry names only; see resolve_assigner).
const AssignerInfo* find_assigner(const std::string& name);

// Error for an unknown name, with a suggestion and the list of names.
Status unknown_assigner(const std::string& name);

// What a name people type stands for: a registry name (`simota.yolox`), with
// a preset (`task-aligned.ultralytics+yolo26-o2o`), an alias (`rtmdet`,
// `yolov8`, `detr`) or a reference class name (`DynamicSoftLabelAssigner`).
struct AssignerChoice {
  const AssignerInfo* info = nullptr;
  const Preset* preset = nullptr;  // nullptr: the registry defaults
  std::string label() const;       // "task-aligned.ultralytics+yolo26-o2o"
};
Result<AssignerChoice> resolve_assigner(const std::string& typed);
// A preset of `info` by name, with "did you mean" when unknown.
Result<const Preset*> find_preset(const AssignerInfo& info, const std::string& name);
// Default parameters, then the preset's.
Params choice_params(const AssignerChoice& choice);
// Runs info.validate, if any; odd-but-legal settings are added to `warnings`.
Status validate_params(const AssignerInfo& info, const Params& params, std::vector<std::string>* warnings);
// The framework versions `params` replay (empty when the registry does not say).
std::vector<FrameworkRange> replayed_versions(const AssignerInfo& info, const Params& params);
// A warning when a dump recorded a framework version these parameters do
// not replay; "" when it does or when nothing is known.
std::string version_warning(const AssignerInfo& info, const Params& params, const Meta& meta);
// -1, 0, 1: "8.4.0" against "8.10"; numeric parts, missing parts are 0, any
// non-numeric tail ignored ("3.3.0rc1" reads 3.3.0).
int compare_versions(const std::string& a, const std::string& b);

// What an assigner returns when there is nothing to match (no priors, or
// no GT): every prior negative, max_overlaps 0, and a note saying which.
Assignment nothing_to_assign(const Problem& problem, bool with_dynamic_ks);

// The `search` parameter of the assigners with a sparse search: "sparse"
// (default) costs only the (prior, GT) pairs that can matter, "dense" every
// pair as the reference does; both give the same result (a cross-check).
ParamSpec search_param();
// Whether `params`, which hold search_param(), choose the sparse search.
bool sparse_search(const Params& params);

// The registry entry's default parameters.
Params default_params(const AssignerInfo& info);

// Why `problem` cannot be fed to the assigner (a needed field is missing), or ok.
// "priors|anchors" style spelling of a need, for messages and `list`.
std::string need_name(const Need& need);
Status check_needs(const AssignerInfo& info, const Problem& problem);

// Largest N x G an image may have: the dense cost tables take 8 bytes a pair.
inline constexpr int64_t kMaxPriorGtPairs = int64_t{1} << 26;
// Largest number of (prior, GT) pairs with the prior's centre inside the GT:
// the assigners cost and report each such pair (a CandidatePair, 32 bytes,
// and the assigner's own working entry), so this bounds a replay's memory
// near 400 MB. 2000 repeated image-sized GTs over a 640-pixel image's 8400
// priors reach 1.7 x 10^7; 100 GTs each covering a quarter of it, 2.1 x 10^5.
inline constexpr int64_t kMaxInsidePairs = int64_t{1} << 22;

struct BatchOptions {
  // Images replayed at once; 0: one per hardware thread. Results are the
  // same for any count: each image is replayed on its own.
  int threads = 1;
  // Called after each image (from any thread, serialised) with the number
  // done and the total: a progress line.
  std::function<void(int64_t done, int64_t total)> progress;
};

// Replays the assigner with `params` on every image of the batch; results in
// image order. Every image is checked before any is replayed. Images over
// kMaxPriorGtPairs or kMaxInsidePairs are refused (kUnsupported).
Result<std::vector<Assignment>> assign_batch(const AssignerInfo& info, const Params& params, const Batch& batch,
                                             const BatchOptions& options = {});

}  // namespace assignscope::assign
