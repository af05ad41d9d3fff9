// Replaying stored results and comparing them element by element.
#include "analysis/check.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <set>
#include <string_view>

#include <fmt/format.h>

#include "assign/assigner.h"
#include "core/suggest.h"
#include "core/text.h"
#include "io/dump.h"
#include "io/files.h"
#include "io/result_layout.h"
#include "loss/loss.h"

namespace assignscope::analysis {
namespace fs = std::filesystem;

const char* verdict_name(Verdict v) {
  switch (v) {
    case Verdict::kMatch: return "ok";
    case Verdict::kDiffer: return "DIFFER";
    case Verdict::kSkipped: return "skip";
    case Verdict::kError: return "ERROR";
    case Verdict::kUpdated: return "UPDATED";
  }
  return "?";
}

namespace {

bool is_sentinel(double v) { return v == 0.0 || v == -1.0 || v == -100000.0 || v == -100000000.0; }

bool floats_agree(double expected, double got, const Tolerance& tol) {
  if (std::isnan(expected) || std::isnan(got)) return std::isnan(expected) && std::isnan(got);
  if (is_sentinel(expected) || is_sentinel(got)) return expected == got;
  return std::fabs(expected - got) <= tol.atol + tol.rtol * std::fabs(expected);
}

// Where element `flat` of a result file sits, in words: "prior 17",
// "image 2 prior 17", "gt 3"; other layouts as a numpy index "[4, 1]".
std::string element_name(const std::string& file, const std::vector<int64_t>& shape, int64_t flat) {
  std::vector<int64_t> idx(shape.size());
  for (size_t d = shape.size(); d-- > 0;) {
    const int64_t n = std::max<int64_t>(shape[d], 1);
    idx[d] = flat % n;
    flat /= n;
  }
  const bool per_prior = file == "assigned_gt_inds.npy" || file == "assigned_labels.npy" ||
                         file == "max_overlaps.npy" || file == "assign_metrics.npy" ||
                         file == "assign_metrics_raw.npy" || file == "soft_labels.npy" || file == "soft_weights.npy" ||
                         // head losses (golden LOSSES.md)
                         file.find("_per_prior.npy") != std::string::npos || file == "target_scores.npy" ||
                         file == "cls_target_ious.npy" || file == "label_weights.npy" || file == "target_labels.npy" ||
                         file == "obj_targets.npy";
  const bool per_gt =
      file == "dynamic_ks.npy" || (file.find("_per_gt.npy") != std::string::npos && file != "loss_per_gt.npy");
  const char* what = per_gt ? "gt" : per_prior ? "prior" : nullptr;
  if (what && idx.size() == 1) return fmt::format("{} {}", what, idx[0]);
  if (what && idx.size() == 2) return fmt::format("image {} {} {}", idx[0], what, idx[1]);
  std::string s = "element [";
  for (size_t d = 0; d < idx.size(); ++d) s += (d ? ", " : "") + std::to_string(idx[d]);
  return s + "]";
}

bool is_numeric(io::DTypeKind k) {
  return k == io::DTypeKind::kFloat || k == io::DTypeKind::kInt || k == io::DTypeKind::kUInt ||
         k == io::DTypeKind::kBool;
}

// Compares a stored file with the replay's. What the replay writes decides
// the rule: an integer file exactly, a float file within the tolerance, both
// as numbers whatever dtype the stored file has (a float result stored as
// int64 is never compared by truncating the replay). A stored file that
// does not hold numbers is refused (`refused`).
FileCheck compare_arrays(const std::string& file, const io::NpyArray& expected, const io::NpyArray& got,
                         const Tolerance& tol, bool* refused) {
  FileCheck fc;
  fc.file = file;
  if (!is_numeric(expected.dtype.kind)) {
    *refused = true;
    fc.detail = fmt::format("stored with dtype {}, which holds no numbers; expected the replay's {}",
                            expected.dtype.descr(), got.dtype.descr());
    return fc;
  }
  fc.compared = true;
  if (expected.shape != got.shape) {
    fc.differing = std::max(expected.size(), got.size());
    fc.detail = fmt::format("shape {} expected, the replay has {}", io::shape_string(expected.shape),
                            io::shape_string(got.shape));
    return fc;
  }
  const bool replay_float = got.dtype.kind == io::DTypeKind::kFloat;
  const bool stored_float = expected.dtype.kind == io::DTypeKind::kFloat;
  std::vector<std::string> firsts;
  for (int64_t i = 0; i < expected.size(); ++i) {
    bool same;
    std::string e, g;
    if (replay_float) {
      same = floats_agree(expected.to_double(i), got.to_double(i), tol);
      if (!same) {
        e = stored_float ? fmt::format("{}", static_cast<float>(expected.to_double(i)))
                         : std::to_string(expected.to_int64(i));
        g = fmt::format("{}", static_cast<float>(got.to_double(i)));
      }
    } else if (!stored_float) {
      same = expected.to_int64(i) == got.to_int64(i);
      if (!same) e = std::to_string(expected.to_int64(i)), g = std::to_string(got.to_int64(i));
    } else {  // an integer file stored as floats: equal as numbers, exactly
      const double v = expected.to_double(i);
      same = v == static_cast<double>(got.to_int64(i));
      if (!same) e = fmt::format("{}", v), g = std::to_string(got.to_int64(i));
    }
    if (same) continue;
    ++fc.differing;
    if (firsts.size() < 3)
      firsts.push_back(fmt::format("{}: expected {}, got {}", element_name(file, expected.shape, i), e, g));
  }
  if (fc.differing) {
    fc.detail = fmt::format("{} of {} differ", fc.differing, expected.size());
    if (stored_float != replay_float)
      fc.detail += fmt::format(" (stored as {}, the replay writes {})", expected.dtype.descr(), got.dtype.descr());
    for (const std::string& f : firsts) fc.detail += "; " + f;
  }
  return fc;
}

// --update: the stored result's files rewritten with the replay's (only the
// files it holds); rc becomes kUpdated, or kError naming what failed.
void update_stored(const io::StoredResult& expected, std::vector<io::NamedBytes> produced, ResultCheck* rc) {
  std::vector<io::NamedBytes> changed;
  for (io::NamedBytes& f : produced)
    if (expected.files.count(f.name)) changed.push_back(std::move(f));  // only what the stored result holds
  const Status st = io::rewrite_result(expected.dir, changed);
  if (!st.ok()) {
    rc->verdict = Verdict::kError;
    rc->detail = "--update: " + st.message();
    return;
  }
  rc->verdict = Verdict::kUpdated;
}

}  // namespace

Tolerance default_tolerance(const std::string& file) {
  if (file == "transport_plan.npy") return {1e-3, 1e-6};
  if (file == "match_ious.npy") return {0.0, 1e-5};  // yolov7: within 1e-5 (golden NEW-ASSIGNERS.md)
  // O2F (golden NEW-ASSIGNERS.md): targets are one float32 subtraction of
  // pixel coordinates, the weights one of two constants.
  if (file == "bbox_targets.npy") return {1e-6, 1e-5};
  if (file == "soft_weights.npy") return {0.0, 0.0};
  return {};
}

Tolerance tolerance_for(const std::string& file, const CheckOptions& options) {
  const auto it = options.file_tolerance.find(file);
  if (it != options.file_tolerance.end()) return it->second;
  return options.tolerance.value_or(default_tolerance(file));
}

int64_t ResultCheck::files_compared() const {
  int64_t n = 0;
  for (const FileCheck& f : files) n += f.compared;
  return n;
}

ResultCheck compare(const io::StoredResult& expected, const Batch& batch, const std::vector<Assignment>& replay,
                    const CheckOptions& options) {
  ResultCheck rc;
  rc.images = static_cast<int64_t>(replay.size());
  for (const Assignment& a : replay) rc.positives += a.num_positives();
  auto produced = io::npy_layout(batch, replay, "");
  if (!produced.ok()) {
    rc.verdict = Verdict::kError;
    rc.detail = produced.status().message();
    return rc;
  }
  std::map<std::string, io::NpyArray> mine;
  for (const io::NamedBytes& f : *produced) {
    if (f.name.size() < 4 || f.name.compare(f.name.size() - 4, 4, ".npy") != 0) continue;
    auto a = io::parse_npy(f.bytes.data(), f.bytes.size(), f.name);
    if (a.ok()) mine[f.name] = std::move(a).value();
  }
  // A result must pin the decisions (which prior goes to which GT), not only floats.
  const auto decides = [&](const char* f) { return expected.files.count(f) && mine.count(f); };
  if (!decides("assigned_gt_inds.npy") && !decides("matches.npy")) {
    rc.verdict = Verdict::kError;
    rc.detail =
        "the stored result lists neither assigned_gt_inds.npy nor matches.npy in params.json \"files\" "
        "(of those this assigner writes); nothing decisive to compare";
    return rc;
  }
  rc.verdict = Verdict::kMatch;
  for (const auto& [name, array] : expected.files) {
    auto it = mine.find(name);
    if (it == mine.end()) {
      FileCheck fc;
      fc.file = name;
      fc.detail = "not produced by this assigner in assignscope yet; not compared";
      rc.files.push_back(fc);
      continue;
    }
    bool refused = false;
    FileCheck fc = compare_arrays(name, array, it->second, tolerance_for(name, options), &refused);
    if (refused) {
      rc.verdict = Verdict::kError;
      rc.detail = fmt::format("{}/{}: {}", expected.dir, name, fc.detail);
      rc.files.push_back(std::move(fc));
      return rc;
    }
    if (fc.differing) {
      rc.verdict = Verdict::kDiffer;
      if (rc.detail.empty()) rc.detail = name + ": " + fc.detail;
    }
    rc.files.push_back(std::move(fc));
  }
  if (rc.files_compared() == 0) {  // cannot happen after `decides`; a result that compares nothing never passes
    rc.verdict = Verdict::kError;
    rc.detail = "no file of the stored result was compared";
    return rc;
  }
  if (rc.verdict == Verdict::kDiffer) {
    // A difference where the replay noted a tie the reference's order decides
    // is worth saying next to it.
    for (size_t b = 0; b < replay.size(); ++b)
      if (!replay[b].notes.empty()) {
        rc.detail += fmt::format(" (the replay noted{}: {})",
                                 replay.size() > 1 ? " for image " + std::to_string(b) : "", replay[b].notes[0]);
        break;
      }
  }
  if (rc.verdict == Verdict::kDiffer && options.update) update_stored(expected, std::move(*produced), &rc);
  return rc;
}

namespace {

std::string lowered(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// " (did you mean 'atss'?)" for a stored assigner name assignscope does not
// have: the registry name an alias or class name stands for ("rtmdet"), or
// the closest registry name, case-insensitively ("ATSS", "simotaa").
std::string stored_name_hint(const std::string& name) {
  if (auto choice = assign::resolve_assigner(name); choice.ok() && choice->info)
    return fmt::format(" (did you mean '{}'? a stored result names the assigner by its registry name)",
                       choice->info->name);
  std::vector<std::string> names, lower;
  for (const assign::AssignerInfo& info : assign::registry()) {
    names.push_back(info.name);
    lower.push_back(lowered(info.name));
  }
  const std::string best = closest_name(lowered(name), lower);
  for (size_t i = 0; i < lower.size() && !best.empty(); ++i)
    if (lower[i] == best) return fmt::format(" (did you mean '{}'?)", names[i]);
  return "";
}

std::vector<std::string> loss_names() {
  std::vector<std::string> names;
  for (const loss::LossInfo& info : loss::registry()) names.push_back(info.name);
  return names;
}

// LOSSES.md "Tolerance": integer files exactly; float files 1e-5 relative
// with an absolute floor of 1e-7 x the file's largest |value| (1e-6 for
// IoU-like values); no sentinels. A --tolerance given for a file wins.
FileCheck compare_loss_file(const io::NpyArray& expected, const loss::LossFile& got, const CheckOptions& options) {
  FileCheck fc;
  fc.file = got.name;
  fc.compared = true;
  if (expected.shape != got.shape) {
    fc.differing = std::max<int64_t>(expected.size(), static_cast<int64_t>(got.values.size()));
    fc.detail = fmt::format("shape {} expected, the replay has {}", io::shape_string(expected.shape),
                            io::shape_string(got.shape));
    return fc;
  }
  double largest = 0.0;
  for (int64_t i = 0; i < expected.size(); ++i) largest = std::max(largest, std::fabs(expected.to_double(i)));
  Tolerance tol{1e-5, got.kind == loss::FileKind::kIouLike ? 1e-6 : 1e-7 * largest};
  if (got.kind == loss::FileKind::kInteger) tol = {0.0, 0.0};
  const bool overridden = options.file_tolerance.count(got.name) || options.tolerance;
  if (overridden && got.kind != loss::FileKind::kInteger) tol = tolerance_for(got.name, options);
  std::vector<std::string> firsts;
  for (int64_t i = 0; i < expected.size(); ++i) {
    const double e = expected.to_double(i), g = got.values[static_cast<size_t>(i)];
    const bool same = std::isnan(e) || std::isnan(g) ? std::isnan(e) && std::isnan(g)
                                                     : std::fabs(e - g) <= tol.atol + tol.rtol * std::fabs(e);
    if (same) continue;
    ++fc.differing;
    if (firsts.size() < 3)
      firsts.push_back(fmt::format("{}: expected {}, got {}", element_name(got.name, expected.shape, i),
                                   static_cast<float>(e), static_cast<float>(g)));
  }
  if (fc.differing) {
    fc.detail = fmt::format("{} of {} differ", fc.differing, expected.size());
    for (const std::string& f : firsts) fc.detail += "; " + f;
  }
  return fc;
}

ResultCheck compare_loss(const io::StoredResult& expected, const loss::LossResult& replay,
                         const CheckOptions& options) {
  ResultCheck rc;
  rc.images = static_cast<int64_t>(replay.assignments.size());
  for (const Assignment& a : replay.assignments) rc.positives += a.num_positives();
  // The loss itself must be compared, never the assignment alone.
  if (!expected.files.count("loss.npy") || !replay.file("loss.npy")) {
    rc.verdict = Verdict::kError;
    rc.detail = "the stored loss result lists no loss.npy in params.json \"files\"; nothing decisive to compare";
    return rc;
  }
  rc.verdict = Verdict::kMatch;
  for (const auto& [name, array] : expected.files) {
    const loss::LossFile* mine = replay.file(name);
    if (!mine) {
      FileCheck fc;
      fc.file = name;
      fc.detail = "not produced by this head in assignscope yet; not compared";
      rc.files.push_back(fc);
      continue;
    }
    if (!is_numeric(array.dtype.kind)) {
      rc.verdict = Verdict::kError;
      rc.detail =
          fmt::format("{}/{}: stored with dtype {}, which holds no numbers", expected.dir, name, array.dtype.descr());
      return rc;
    }
    FileCheck fc = compare_loss_file(array, *mine, options);
    if (fc.differing) {
      rc.verdict = Verdict::kDiffer;
      if (rc.detail.empty()) rc.detail = name + ": " + fc.detail;
    }
    rc.files.push_back(std::move(fc));
  }
  if (rc.verdict == Verdict::kDiffer && options.update) update_stored(expected, loss::npy_files(replay), &rc);
  return rc;
}

ResultCheck replay_one(const std::string& case_name, const std::string& label, const std::string& result_dir,
                       const Result<io::LoadedDump>& dump, const CheckOptions& options) {
  ResultCheck rc;
  rc.case_name = case_name;
  rc.label = label;
  auto fail = [&](const Status& st) {
    rc.verdict = Verdict::kError;
    rc.detail = st.message();
    return rc;
  };
  auto stored = io::read_stored(result_dir);
  if (!stored.ok()) return fail(stored.status());
  // A head's loss under its assignment (golden LOSSES.md): it holds the
  // assignment too, but is never counted as matched on that alone.
  if (stored->params.contains("loss") && stored->params["loss"].is_string()) {
    rc.assigner = stored->params["loss"].get<std::string>();
    const loss::LossInfo* head = loss::find_loss(rc.assigner);
    if (!head || head->name != rc.assigner) {
      rc.verdict = Verdict::kSkipped;
      rc.detail =
          fmt::format("assignscope has no head loss '{}'{}", rc.assigner, did_you_mean(rc.assigner, loss_names()));
      return rc;
    }
    if (!dump.ok()) return fail(dump.status());
    loss::LossSettings settings;
    if (stored->params.contains("params") && stored->params["params"].is_object())
      settings.params = stored->params["params"];
    if (stored->params.contains("assigner_params") && stored->params["assigner_params"].is_object())
      settings.assigner_params = stored->params["assigner_params"];
    if (stored->params["assigner"].is_string()) settings.assigner = stored->params["assigner"].get<std::string>();
    auto replay = loss::compute_loss(*head, dump->batch, settings);
    if (!replay.ok()) return fail(replay.status().WithContext(result_dir));
    ResultCheck compared = compare_loss(*stored, *replay, options);
    compared.case_name = rc.case_name;
    compared.label = rc.label;
    compared.assigner = rc.assigner;
    return compared;
  }
  rc.assigner = stored->params["assigner"].get<std::string>();
  const assign::AssignerInfo* info = assign::find_assigner(rc.assigner);
  if (!info) {
    rc.verdict = Verdict::kSkipped;
    rc.detail = fmt::format("assignscope has no assigner '{}'{}", rc.assigner, stored_name_hint(rc.assigner));
    return rc;
  }
  if (!dump.ok()) return fail(dump.status());
  Params params = assign::default_params(*info);
  if (stored->params.contains("params")) {
    const Status st = params.set_all(stored->params["params"]);
    if (!st.ok()) return fail(st.WithContext(result_dir + "/params.json"));
  }
  if (const Status st = assign::validate_params(*info, params, nullptr); !st.ok())
    return fail(st.WithContext(result_dir + "/params.json"));
  auto replay = assign::assign_batch(*info, params, dump->batch);
  if (!replay.ok()) return fail(replay.status());
  ResultCheck compared = compare(*stored, dump->batch, *replay, options);
  compared.case_name = rc.case_name;
  compared.label = rc.label;
  compared.assigner = rc.assigner;
  return compared;
}

bool is_case(const fs::path& p) {
  std::error_code ec;
  return fs::is_directory(p / "expected", ec);
}

bool is_result_dir(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p / "params.json", ec);
}

}  // namespace

Result<std::vector<ResultCheck>> check_path(const std::string& path, const CheckOptions& options) {
  std::vector<ResultCheck> out;
  io::LoadOptions load;
  load.allow_nonfinite = options.allow_nonfinite;
  const fs::path p(path);
  std::error_code ec;
  if (is_case(p)) {
    const auto dump = io::load_dump(path, load);
    std::vector<fs::path> labels;
    fs::directory_iterator it(p / "expected", ec);
    for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
      std::error_code type_ec;
      if (it->is_directory(type_ec) && it->path().filename().string()[0] != '.') labels.push_back(it->path());
    }
    if (ec) return Status::Io(fmt::format("{}/expected: cannot list it: {}", path, ec.message()));
    std::sort(labels.begin(), labels.end());
    if (labels.empty()) return Status::InvalidInput(fmt::format("{}: expected/ holds no result directories", path));
    for (const fs::path& l : labels) {
      out.push_back(replay_one(path, l.filename().string(), l.string(), dump, options));
      out.back().dumps = {path};
    }
    return out;
  }
  if (is_result_dir(p)) {
    // A result written by `assignscope run --format npy`: its params.json names the dump(s).
    ASSIGNSCOPE_ASSIGN_OR_RETURN(auto text, io::read_file_text((p / "params.json").string()));
    const nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
    auto dumps = j.is_object() ? io::named_dumps(path, j)
                               : Result<io::NamedDumps>(Status::Corrupt(path + "/params.json: not a JSON object"));
    Result<io::LoadedDump> dump = Status::Internal("check: dump not loaded");
    if (!dumps.ok()) {
      dump = dumps.status();
    } else {
      const Status valid = validate_tree(dumps->resolved);
      if (!valid.ok()) dump = valid;
      else if (dumps->resolved.size() == 1) dump = io::load_dump(dumps->resolved[0], load);
      else dump = io::load_dumps(dumps->resolved, load);
    }
    out.push_back(replay_one(path, p.filename().string(), path, dump, options));
    if (dumps.ok()) out.back().dumps = dumps->shown;
    out.back().from_params = true;
    return out;
  }
  return Status::InvalidInput(
      fmt::format("{}: not a case (a dump with an expected/ folder) nor a result directory (with params.json)", path));
}

namespace {

bool valid_utf8(const std::string& s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    int more;
    uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if (c >= 0xC2 && c <= 0xDF) {
      more = 1, cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      more = 2, cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      more = 3, cp = c & 0x07;
    } else {
      return false;
    }
    if (i + more >= s.size()) return false;  // cut short
    for (int k = 1; k <= more; ++k) {
      const auto d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3F);
    }
    if ((more == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (more == 3 && (cp < 0x10000 || cp > 0x10FFFF)))
      return false;
    i += more + 1;
  }
  return true;
}

const char* file_kind(mode_t m) {
  if (S_ISFIFO(m)) return "a FIFO (named pipe)";
  if (S_ISSOCK(m)) return "a socket";
  if (S_ISCHR(m)) return "a character device";
  if (S_ISBLK(m)) return "a block device";
  return "neither a file nor a directory";
}

// What a directory is to the search.
enum class Role {
  kSearching,  // outside any case: a case or result here is collected; others are counted
  kInCase,     // a case's own sub-directories (a batch's images): cases here are collected too
  kContents,   // inside a case's expected/ or a result directory: checked, never collected
};

struct DirId {
  dev_t dev;
  ino_t ino;
  bool operator<(const DirId& o) const { return dev != o.dev ? dev < o.dev : ino < o.ino; }
  bool operator==(const DirId& o) const { return dev == o.dev && ino == o.ino; }
};

class Walker {
 public:
  Walker(const SearchLimits& limits, SuiteSearch* out) : limits_(limits), out_(out) {}
  int64_t directories() const { return directories_; }
  int64_t revisited() const { return revisited_; }

  // `root` (given by the user, or a dump a result names): searched, or with
  // `collect` false only checked.
  Status walk(const std::string& root, bool collect) {
    struct stat st {};
    if (::stat(root.c_str(), &st) != 0) {
      if (errno == ENOENT && ::lstat(root.c_str(), &st) == 0)
        return Status::Io(root + ": a symlink to nothing (its target does not exist)");
      if (errno == ELOOP) return Status::InvalidInput(root + ": a symlink loop");
      if (errno == ENOENT) return Status::Io(root + ": no such file or directory");
      return Status::Io(root + ": cannot read it: " + std::strerror(errno));
    }
    if (S_ISREG(st.st_mode)) {
      if (!collect) return Status();  // an .npz or .json dump
      return Status::InvalidInput(root +
                                  ": a file; expected a case (a dump directory with an expected/ folder), a result "
                                  "directory (with params.json), or a directory holding them");
    }
    if (!S_ISDIR(st.st_mode))
      return Status::InvalidInput(fmt::format("{}: {}; expected a directory", root, file_kind(st.st_mode)));
    std::vector<DirId> ancestors;
    return visit(root, st, 0, collect ? Role::kSearching : Role::kContents, ancestors);
  }

 private:
  struct Entry {
    std::string name;
    std::string path;
    struct stat st;  // followed through a symlink
  };

  Status visit(const std::string& dir, const struct stat& st, int depth, Role role, std::vector<DirId>& ancestors) {
    const DirId id{st.st_dev, st.st_ino};
    if (std::find(ancestors.begin(), ancestors.end(), id) != ancestors.end())
      return Status::InvalidInput(dir + ": a symlink loop: it leads back to a directory that holds it");
    if (!visited_.insert(id).second) {  // reached before (a symlink, a path given twice): searched once
      ++revisited_;
      return Status();
    }
    if (depth > limits_.max_depth)
      return Status::InvalidInput(
          fmt::format("{}: more than {} directories deep; check a directory nearer the cases", dir, limits_.max_depth));
    if (++directories_ > limits_.max_directories)
      return Status::InvalidInput(fmt::format("{}: more than {} directories searched; check a smaller directory", dir,
                                              limits_.max_directories));
    std::vector<Entry> entries;
    ASSIGNSCOPE_RETURN_IF_ERROR(list(dir, &entries));
    bool has_expected = false, has_params = false;
    for (const Entry& e : entries) {
      if (e.name == "expected" && S_ISDIR(e.st.st_mode)) has_expected = true;
      if (e.name == "params.json" && S_ISREG(e.st.st_mode)) has_params = true;
    }
    const bool checkable = role != Role::kContents && (has_expected || has_params);
    if (checkable) {
      if (out_) out_->checkable.push_back(dir);
    } else if (role == Role::kSearching && out_) {
      ++out_->not_cases;
    }
    ancestors.push_back(id);
    for (const Entry& e : entries) {
      if (!S_ISDIR(e.st.st_mode)) continue;
      Role child = role;
      if (role != Role::kContents) {
        if (has_expected && e.name == "expected") child = Role::kContents;  // the case's results
        else if (has_params && !has_expected) child = Role::kContents;      // inside a result directory
        else if (has_expected) child = Role::kInCase;
      }
      if (e.name[0] == '.') {  // .git, an interrupted write's temporary directory
        if (child == Role::kSearching && out_) ++out_->hidden;
        continue;
      }
      ASSIGNSCOPE_RETURN_IF_ERROR(visit(e.path, e.st, depth + 1, child, ancestors));
    }
    ancestors.pop_back();
    return Status();
  }

  // Every entry of `dir`, sorted by name, each a file or a directory (or a
  // symlink to one) with a UTF-8 name.
  Status list(const std::string& dir, std::vector<Entry>* entries) {
    DIR* d = ::opendir(dir.c_str());
    if (!d) return Status::Io(fmt::format("{}: cannot read the directory: {}", dir, std::strerror(errno)));
    std::vector<std::string> names;
    Status status;
    for (;;) {
      errno = 0;
      const dirent* e = ::readdir(d);
      if (!e) {
        if (errno != 0)
          status = Status::Io(fmt::format("{}: cannot read the directory: {}", dir, std::strerror(errno)));
        break;
      }
      const std::string name = e->d_name;
      if (name == "." || name == "..") continue;
      if (++entries_ > limits_.max_entries) {
        status = Status::InvalidInput(
            fmt::format("{}: more than {} entries searched; check a smaller directory", dir, limits_.max_entries));
        break;
      }
      names.push_back(name);
    }
    ::closedir(d);
    if (!status.ok()) return status;
    std::sort(names.begin(), names.end());
    for (const std::string& name : names) {
      const std::string path = (fs::path(dir) / name).string();
      if (!valid_utf8(name))
        return Status::InvalidInput(fmt::format("{}: a name that is not UTF-8 ('{}'); rename it",
                                                printable(dir, 200, true), printable(name, 200, false)));
      Entry e{name, path, {}};
      struct stat lst {};
      if (::lstat(path.c_str(), &lst) != 0)
        return Status::Io(fmt::format("{}: cannot read it: {}", path, std::strerror(errno)));
      if (S_ISLNK(lst.st_mode)) {
        if (::stat(path.c_str(), &e.st) != 0) {
          if (errno == ELOOP) return Status::InvalidInput(path + ": a symlink loop (it resolves to itself)");
          if (errno == ENOENT) return Status::Io(path + ": a symlink to nothing (its target does not exist)");
          return Status::Io(fmt::format("{}: cannot read it: {}", path, std::strerror(errno)));
        }
      } else {
        e.st = lst;
      }
      if (!S_ISREG(e.st.st_mode) && !S_ISDIR(e.st.st_mode))
        return Status::InvalidInput(fmt::format("{}: {}; check reads only files and directories (and symlinks to them)",
                                                path, file_kind(e.st.st_mode)));
      entries->push_back(std::move(e));
    }
    return Status();
  }

  SearchLimits limits_;
  SuiteSearch* out_;
  std::set<DirId> visited_;
  int64_t directories_ = 0, entries_ = 0, revisited_ = 0;
};

}  // namespace

Result<SuiteSearch> search_suite(const std::vector<std::string>& patterns, const SearchLimits& limits) {
  ASSIGNSCOPE_ASSIGN_OR_RETURN(auto paths, io::expand_paths(patterns));
  SuiteSearch found;
  Walker walker(limits, &found);
  for (const std::string& path : paths) {
    const size_t before = found.checkable.size();
    const int64_t dirs_before = walker.directories(), revisited_before = walker.revisited();
    ASSIGNSCOPE_RETURN_IF_ERROR(walker.walk(path, true));
    const int64_t searched = walker.directories() - dirs_before;
    // A path searched before, as part of an earlier one, adds nothing new.
    if (found.checkable.size() == before && walker.revisited() == revisited_before)
      return Status::InvalidInput(fmt::format(
          "{}: holds no case (a dump with an expected/ folder) or result directory (with params.json) at any "
          "depth; {} searched",
          path, searched == 1 ? "1 directory" : std::to_string(searched) + " directories"));
  }
  return found;
}

Result<std::vector<std::string>> find_checkable(const std::vector<std::string>& patterns) {
  ASSIGNSCOPE_ASSIGN_OR_RETURN(auto found, search_suite(patterns));
  return std::move(found.checkable);
}

Status validate_tree(const std::vector<std::string>& paths, const SearchLimits& limits) {
  Walker walker(limits, nullptr);
  for (const std::string& path : paths) ASSIGNSCOPE_RETURN_IF_ERROR(walker.walk(path, false));
  return Status();
}

CheckTotals totals(const std::vector<ResultCheck>& results) {
  CheckTotals t;
  std::set<std::string> skipped, dumps;
  for (const ResultCheck& r : results) {
    ++t.results;
    switch (r.verdict) {
      case Verdict::kMatch: ++t.match; break;
      case Verdict::kDiffer: ++t.differ; break;
      case Verdict::kSkipped: ++t.skipped, skipped.insert(r.assigner); break;
      case Verdict::kError: ++t.errors; break;
      case Verdict::kUpdated: ++t.updated; break;
    }
    if (r.verdict == Verdict::kMatch || r.verdict == Verdict::kDiffer || r.verdict == Verdict::kUpdated) {
      ++t.compared;
      t.files_compared += r.files_compared();
      for (const std::string& d : r.dumps) {
        std::error_code ec;
        const fs::path a = fs::absolute(d, ec).lexically_normal();
        dumps.insert(ec ? d : a.string());
      }
    }
  }
  t.dumps_replayed = static_cast<int64_t>(dumps.size());
  t.skipped_assigners.assign(skipped.begin(), skipped.end());
  return t;
}

RunVerdict run_verdict(const CheckTotals& t, bool allow_skipped) {
  RunVerdict v;
  if (t.errors > 0 || (t.skipped > 0 && !allow_skipped) || t.compared == 0) {
    v.pass = false;
    v.exit_code = 2;
  } else if (t.differ > 0) {
    v.pass = false;
    v.exit_code = 1;
  } else {
    v.pass = true;
    v.exit_code = 0;
  }
  return v;
}

std::string summary_line(const CheckTotals& t, int64_t cases, const SuiteSearch& search, bool allow_skipped) {
  const RunVerdict v = run_verdict(t, allow_skipped);
  const auto plural = [](int64_t n, const char* one, const char* many) {
    return fmt::format("{} {}", n, n == 1 ? one : many);
  };
  std::string line =
      fmt::format("{} compared {} of {} ({}, {} replayed) in {}: {} match, {} differ, {} errors, {} skipped",
                  v.pass ? "PASS" : "FAIL", t.compared, plural(t.results, "result", "results"),
                  plural(t.files_compared, "file", "files"), plural(t.dumps_replayed, "dump", "dumps"),
                  plural(cases, "case", "cases"), t.match, t.differ, t.errors, t.skipped);
  if (t.updated) line += fmt::format(", {} updated", t.updated);
  if (t.skipped) {
    std::string names;
    for (const std::string& a : t.skipped_assigners) names += (names.empty() ? "" : ", ") + a;
    line += fmt::format(" (not replayed: {}; {})", names,
                        allow_skipped ? "allowed by --allow-skipped" : "skipped results fail without --allow-skipped");
  }
  if (search.not_cases)
    line += "; " + plural(search.not_cases, "directory searched was not a case", "directories searched were not cases");
  if (search.hidden)
    line += "; " + plural(search.hidden, "hidden directory not searched", "hidden directories not searched");
  if (t.compared == 0) line += "; nothing was compared";
  return line;
}

}  // namespace assignscope::analysis
