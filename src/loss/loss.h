// The training loss a detector head computes under its own label assignment
// (golden LOSSES.md): a head runs its assigner on the dump, builds its
// targets and reduces its loss terms as the reference does, and the result
// keeps every intermediate under the reference's file names.
//
// A head is a registry entry (`loss.rtmdet`, `loss.yolox`,
// `loss.ultralytics`): name, reference, the dump fields it reads, and a
// function from a Batch and its settings (params.json "params" / the
// assigner's parameters, or the defaults) to a LossResult. Sums run in
// float64 where the reference's float32 reduction order cannot be followed;
// the golden tolerances allow for it (LOSSES.md "Tolerance").
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/assignment.h"
#include "core/problem.h"
#include "core/status.h"
#include "io/files.h"

namespace assignscope::loss {

// How a result file is compared with a stored one (LOSSES.md "Tolerance").
enum class FileKind {
  kInteger,  // exact
  kTerm,     // relative 1e-5, absolute floor 1e-7 x the file's largest |value|
  kIouLike,  // relative 1e-5, absolute 1e-6 (values bounded by 1)
};

// One result file: golden name ("loss_cls.npy"), numpy shape, values in C
// order (integers exact in a double), written as float32 or int64.
struct LossFile {
  std::string name;
  std::vector<int64_t> shape;
  std::vector<double> values;
  FileKind kind = FileKind::kTerm;
};

struct LossResult {
  std::string head;                     // "loss.rtmdet"
  std::string assigner;                 // registry name of the assigner the head ran
  std::vector<Assignment> assignments;  // the head's own assignment, per image
  // The components the head returns ("loss_cls", "loss_bbox"), weighted and
  // normalised as returned; `total` is their sum per component over levels.
  std::vector<std::string> components;
  std::vector<double> total;                                // [K]
  std::vector<std::vector<double>> per_level;               // [L][K]
  std::vector<std::vector<std::vector<double>>> per_gt;     // [B][G][K], normalised like the totals
  std::vector<std::vector<std::vector<double>>> per_prior;  // [B][N][K], normalised like the totals
  std::vector<LossFile> files;                              // the golden layout
  std::vector<std::string> notes;

  const LossFile* file(const std::string& name) const;
};

// Settings of a head: what params.json holds ("params", "assigner_params"),
// or empty objects for the defaults; and the assignment to compute the loss
// under (`run -a NAME --loss HEAD`), one per image, or nullptr for the
// head's own assigner (what the golden results hold).
struct LossSettings {
  nlohmann::json params = nlohmann::json::object();
  nlohmann::json assigner_params = nlohmann::json::object();
  const std::vector<Assignment>* assignments = nullptr;
  // The registry name of `assignments`' assigner, or of the assigner to run
  // with `assigner_params` ("" : the head's own).
  std::string assigner;
};

// A named setting of a head: `--loss ultralytics+v8.4`.
struct LossPreset {
  std::string name;  // "v8.4"
  std::string summary;
  nlohmann::json params;  // LossSettings::params
};

struct LossInfo {
  std::string name;        // "loss.rtmdet"
  std::string short_name;  // "rtmdet": what `--loss` takes
  std::string summary;
  std::string reference;
  std::vector<Field> needs;  // every one must be present
  std::vector<LossPreset> presets;
  Result<LossResult> (*compute)(const Batch& batch, const LossSettings& settings) = nullptr;
};

// Every head, in a stable order.
const std::vector<LossInfo>& registry();
// By registry name ("loss.rtmdet") or short name ("rtmdet"); nullptr when unknown.
const LossInfo* find_loss(const std::string& name);
// The error for an unknown head: did-you-mean and the list of heads (usage).
Status unknown_loss(const std::string& name);

// What `--loss` names: HEAD or HEAD+PRESET (short or registry name:
// "ultralytics+v8.4"), with the preset's settings; usage errors with a
// did-you-mean.
struct LossChoice {
  const LossInfo* info = nullptr;
  nlohmann::json params = nlohmann::json::object();  // LossSettings::params
  std::string label;                                 // "loss.ultralytics+v8.4"
};
Result<LossChoice> choose_loss(const std::string& text);

// Checks the head's needs on every image, then computes.
Result<LossResult> compute_loss(const LossInfo& info, const Batch& batch, const LossSettings& settings);

// ---------------------------------------------------------------------------
// Helpers for the heads: files in the golden layout.

// A scalar [] or a vector [K].
LossFile scalar_file(const std::string& name, double v, FileKind kind = FileKind::kTerm);
LossFile vector_file(const std::string& name, const std::vector<double>& v, FileKind kind = FileKind::kTerm);
// Per prior, [N] for one image, [B, N] for a batch (or always [B, N] with
// `batch_dim`); every image must have the same N.
LossFile per_prior_file(const std::string& name, const Batch& batch, const std::vector<std::vector<double>>& v,
                        FileKind kind = FileKind::kTerm, bool batch_dim = false);
// Per GT, [G] or [B, gt_columns] padded with 0.
LossFile per_gt_file(const std::string& name, const Batch& batch, const std::vector<std::vector<double>>& v,
                     FileKind kind = FileKind::kTerm, bool batch_dim = false);
// Positives in order: [P] prior indices (one image), [P, 2] (image, prior).
LossFile pos_inds_file(const Batch& batch, const std::vector<Assignment>& a, bool batch_dim = false);
// Per positive values in pos_inds order, [P].
LossFile per_positive_file(const std::string& name, const std::vector<std::vector<double>>& per_prior,
                           const std::vector<Assignment>& a);

// The files as .npy bytes: float32, or int64 for kInteger files.
std::vector<io::NamedBytes> npy_files(const LossResult& r);

// The assignment the head computes under, into `r`: settings.assignments
// when given; else the assigner settings.assigner names, run with its
// defaults and settings.assigner_params (a stored result); else the head's
// own assigner `name` with its defaults, then `overrides` (the head's
// construction arguments).
Status head_assignment(const std::string& name, const nlohmann::json& overrides, const Batch& batch,
                       const LossSettings& settings, LossResult* r);

// BCEWithLogits(x, y) = max(x, 0) - x y + log1p(exp(-|x|)), as PyTorch.
double bce_with_logits(double x, double y);
double sigmoid(double x);

}  // namespace assignscope::loss
