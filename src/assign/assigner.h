// The assigner interface and the registry: name -> description, parameters
// with their defaults, the fields it needs, and a factory.
//
// Names are `family` for mmdetection's version and `family.flavour` for other
// frameworks' (dynamic-soft-label.mmyolo, simota.yolox); the golden
// expected/ folders use exactly these names.
#pragma once

#include <functional>
#include <memory>
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

struct AssignerInfo {
  std::string name;                  // "dynamic-soft-label"
  std::string summary;               // one line
  std::string reference;             // upstream project, file, class
  std::vector<ParamSpec> params;     // with defaults
  std::vector<Need> needs;           // dump fields it reads
  std::vector<std::string> result_files;  // npy files it produces, golden layout
  std::function<std::unique_ptr<Assigner>(const Params&)> make;
  // Optional: why these parameters cannot be replayed on this image (e.g.
  // FCOS's regress ranges against the image's levels), as a usage error.
  std::function<Status(const Params&, const Problem&)> check;
  // Where the reference computes NaN or Inf from finite inputs, for the
  // warning of assign/finite_reports.h; "" when it never does.
  std::string numerics;
};

// Every registered assigner, in a stable order.
const std::vector<AssignerInfo>& registry();

// nullptr when unknown.
const AssignerInfo* find_assigner(const std::string& name);

// Error for an unknown name, with a suggestion and the list of names.
Status unknown_assigner(const std::string& name);

// What an assigner returns when there is nothing to match (no priors, or
// no GT): every prior negative, max_overlaps 0, and a note saying which.
Assignment nothing_to_assign(const Problem& problem, bool with_dynamic_ks);

// The `search` parameter of the assigners with a sparse search: "sparse"
// (default) costs only the (prior, GT) pairs that can matter, "dense" every
// pair as the reference does; both give the same result (a cross-check).
ParamSpec search_param();

// The registry entry's default parameters.
Params default_params(const AssignerInfo& info);

// Why `problem` cannot be fed to the assigner (a needed field is missing), or ok.
// "priors|anchors" style spelling of a need, for messages and `list`.
std::string need_name(const Need& need);
Status check_needs(const AssignerInfo& info, const Problem& problem);

// Largest N x G an image may have: the dense cost tables take 8 bytes a pair.
inline constexpr int64_t kMaxPriorGtPairs = int64_t{1} << 26;

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
// kMaxPriorGtPairs are refused (kUnsupported).
Result<std::vector<Assignment>> assign_batch(const AssignerInfo& info, const Params& params, const Batch& batch,
                                             const BatchOptions& options = {});

}  // namespace assignscope::assign
